"""tconv.artifacts: overlap counts, checkerboard score and spectrum on layers with known answers."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import tconv
from tconv.artifacts import checkerboard_score, checkerboard_spectrum, overlap, smooth_input
from tconv.init import bilinear_, bilinear_kernel_size, bilinear_padding, icnr_

CONV_T = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}
CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}


def ones_layer(rank, kernel, stride, padding=0, channels=1, bias=False):
    layer = CONV_T[rank](channels, channels, kernel, stride=stride, padding=padding, bias=bias)
    torch.nn.init.ones_(layer.weight)
    return layer.double()


# ---------------------------------------------------------------------------------------------
# overlap


def test_overlap_known_values():
    assert overlap(3, 2).tolist() == [2, 1]
    assert overlap(4, 2).tolist() == [2, 2]
    assert overlap(5, 3).tolist() == [2, 2, 1]
    assert overlap(1, 2).tolist() == [1, 0]  # kernel shorter than the stride: a gap
    assert overlap(3, 2, dilation=2).tolist() == [3, 0]  # every tap on phase 0
    assert overlap(3, 2, dilation=3).tolist() == [2, 1]
    assert overlap((3, 3), 2).tolist() == [[4, 2], [2, 1]]
    assert overlap(2, (2, 2, 2, 2)).shape == (2, 2, 2, 2)  # any rank
    assert overlap(3, 2).dtype == torch.int64


@given(
    k=st.integers(1, 7),
    s=st.integers(1, 5),
    d=st.integers(1, 4),
    n=st.integers(4, 8),
)
def test_overlap_counts_taps_of_an_all_ones_layer(k, s, d, n):
    # an independent count: the full output of ones * ones, read in the middle, one per phase
    y = F.conv_transpose1d(torch.ones(1, 1, d * k + 4), torch.ones(1, 1, k), stride=s, dilation=d)
    full = y[0, 0]
    start = d * (k - 1)  # from here on every tap has an input behind it
    counts = [0] * s
    for idx in range(start, start + s):  # one full period, labelled by the phase idx mod s
        counts[idx % s] = int(full[idx].item())
    assert overlap(k, s, d).tolist() == counts
    assert bool((overlap(k, s, d) == overlap(k, s, d)[0]).all()) == (len(set(counts)) == 1)


def test_overlap_is_uniform_exactly_when_the_kernel_is_a_multiple_of_the_stride():
    for k, s in itertools.product(range(1, 9), range(1, 5)):
        counts = overlap(k, s)
        assert bool((counts == counts[0]).all()) == (k % s == 0)


def test_overlap_errors():
    with pytest.raises(tconv.ShapeError, match=r"stride=\(0,\) is invalid"):
        overlap(3, 0)
    with pytest.raises(tconv.ShapeError, match="disagree"):
        overlap((3, 3), (2, 2, 2))


# ---------------------------------------------------------------------------------------------
# checkerboard_score


def test_score_k3_s2_constant_1d_by_hand():
    # constant input: phase 0 gets taps 0 and 2 (value 2), phase 1 gets tap 1 (value 1);
    # spread 2 - 1 = 1, level mean(|2|, |1|) = 1.5 -> 2/3
    assert checkerboard_score(ones_layer(1, 3, 2), (1, 1, 32)) == pytest.approx(2 / 3, abs=1e-12)


def test_score_k3_s2_constant_2d_by_hand_and_bias_does_not_count():
    # phases [[4, 2], [2, 1]]: spread 4 - 1 = 3, level (4 + 2 + 2 + 1) / 4 = 9/4 -> 4/3
    layer = ones_layer(2, 3, 2, bias=True)
    torch.nn.init.constant_(layer.bias, 5.0)
    assert checkerboard_score(layer, (2, 1, 16, 16)) == pytest.approx(4 / 3, abs=1e-12)


def test_score_with_padding_only_relabels_phases():
    assert checkerboard_score(ones_layer(1, 3, 2, padding=1), (1, 1, 32)) == pytest.approx(
        2 / 3, abs=1e-12
    )


def test_score_sums_over_channels_by_hand():
    # channel 0: k3 s2 ones (phases 2, 1); channel 1: k4 s2 ones (phases 2, 2)
    w3 = torch.ones(1, 1, 3, dtype=torch.float64)
    w4 = torch.ones(1, 1, 4, dtype=torch.float64)

    def fn(x):
        a = F.conv_transpose1d(x[:, :1], w3, stride=2, padding=1, output_padding=1)
        b = F.conv_transpose1d(x[:, 1:], w4, stride=2, padding=1)
        return torch.cat([a, b], 1)

    # (spread 1 + spread 0) / (level 1.5 + level 2)
    assert checkerboard_score(fn, (1, 2, 32), dtype=torch.float64) == pytest.approx(
        1 / 3.5, abs=1e-12
    )


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_score_is_zero_for_k4_s2_constant(rank):
    n = {1: 32, 2: 16, 3: 8}[rank]
    assert checkerboard_score(ones_layer(rank, 4, 2, 1), (1, 1, *(n,) * rank)) == 0.0


@pytest.mark.parametrize(("rank", "scale"), [(1, 2), (1, 3), (2, 2), (2, 3), (3, 2)])
def test_score_is_zero_for_bilinear(rank, scale):
    layer = CONV_T[rank](
        2,
        2,
        bilinear_kernel_size(scale),
        stride=scale,
        padding=bilinear_padding(scale),
        dtype=torch.float64,
    )
    bilinear_(layer.weight, scale)
    n = {1: 32, 2: 12, 3: 6}[rank]
    assert checkerboard_score(layer, (1, 2, *(n,) * rank)) == pytest.approx(0.0, abs=1e-12)


def test_score_is_zero_for_fcn_bilinear_k3_s2_despite_uneven_overlap():
    layer = ones_layer(2, 3, 2, padding=1)
    bilinear_(layer.weight)  # [0.5, 1, 0.5]: phases 0.5 + 0.5 and 1
    assert checkerboard_score(layer, (1, 1, 16, 16)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("rank", "scale"), [(1, 3), (2, 2), (2, (2, 3)), (3, 2)])
def test_score_is_zero_for_icnr_subpixel(rank, scale):
    s = (scale,) * rank if isinstance(scale, int) else scale
    phases = int(torch.tensor(s).prod())
    conv = CONV[rank](3, 2 * phases, 3, padding=1, bias=False, dtype=torch.float64)
    icnr_(conv.weight, scale)
    block = torch.nn.Sequential(conv, tconv.nn.PixelShuffle(scale))
    n = {1: 24, 2: 12, 3: 6}[rank]
    assert checkerboard_score(block, (1, 3, *(n,) * rank)) == pytest.approx(0.0, abs=1e-12)
    # the same conv with independent phases has a checkerboard
    torch.nn.init.normal_(conv.weight)
    assert checkerboard_score(block, (1, 3, *(n,) * rank)) > 0.01


def test_score_is_zero_for_icnr_transposed_and_positive_for_random_weights():
    layer = CONV_T[2](4, 3, 4, stride=2, padding=1, dtype=torch.float64)
    icnr_(layer.weight, 2, transposed=True)
    assert checkerboard_score(layer, (1, 4, 16, 16)) == pytest.approx(0.0, abs=1e-12)
    torch.nn.init.normal_(layer.weight)
    assert checkerboard_score(layer, (1, 4, 16, 16)) > 0.01


def test_score_restores_training_mode_and_uses_eval():
    net = torch.nn.Sequential(ones_layer(1, 4, 2, 1), torch.nn.BatchNorm1d(1).double())
    net.train()
    # in train mode BatchNorm would normalise the constant response away; eval uses running stats
    assert checkerboard_score(net, (1, 1, 32)) == 0.0
    assert net.training and net[1].training


def test_score_options_and_errors():
    layer = ones_layer(1, 3, 2)
    # an explicit period of 1 sees no phases
    assert checkerboard_score(layer, (1, 1, 32), stride=1) == 0.0
    assert checkerboard_score(layer, (1, 1, 32), margin=4) == pytest.approx(2 / 3, abs=1e-12)
    with pytest.raises(tconv.ShapeError, match="shorter than one period"):
        checkerboard_score(layer, (1, 1, 8), margin=8)
    with pytest.raises(tconv.ShapeError, match=r"input_shape=\(1, 32\) is invalid"):
        checkerboard_score(layer, (1, 32))
    assert checkerboard_score(lambda x: torch.zeros(1, 1, 64), (1, 1, 32)) == 0.0


# ---------------------------------------------------------------------------------------------
# checkerboard_spectrum


def test_spectrum_known_answer_1d():
    # y = mean(x) * (1.5 + 0.5 (-1)^n): energy 1.5^2 at DC, 0.5^2 at the stride frequency 1/2
    # (each with the same Hann lobe), so the share is 0.25 / (2.25 + 0.25) = 0.1
    pattern = torch.tensor([2.0, 1.0], dtype=torch.float64).repeat(32)

    def fn(x):
        return x.mean() * pattern.reshape(1, 1, -1)

    assert checkerboard_spectrum(fn, (1, 1, 32)) == pytest.approx(0.1, abs=1e-12)


def test_spectrum_known_answer_2d():
    # pattern [[4, 2], [2, 1]] = a (x) a with a = 1.5 + 0.5 (-1)^n: energies 2.25^2 (DC),
    # 2 * 2.25 * 0.25 (one axis at 1/2), 0.25^2 (both) -> (1.125 + 0.0625) / 6.25 = 0.19
    pattern = torch.tensor([[4.0, 2.0], [2.0, 1.0]], dtype=torch.float64).repeat(16, 16)

    def fn(x):
        return x.mean() * pattern.reshape(1, 1, 32, 32)

    assert checkerboard_spectrum(fn, (1, 1, 16, 16)) == pytest.approx(0.19, abs=1e-12)


def test_spectrum_ranks_layers():
    uneven = checkerboard_spectrum(ones_layer(1, 3, 2), (1, 1, 64))
    nearest = checkerboard_spectrum(ones_layer(1, 2, 2), (1, 1, 64))
    linear = CONV_T[1](1, 1, 4, stride=2, padding=1, bias=False, dtype=torch.float64)
    bilinear_(linear.weight)
    smooth = checkerboard_spectrum(linear, (1, 1, 64))
    assert uneven > 0.05
    assert nearest < 1e-3 and smooth < 1e-6
    # 2-D, k3 s2 ones: close to the constant-input value 0.19, below it (the noise adds energy)
    assert 0.1 < checkerboard_spectrum(ones_layer(2, 3, 2), (1, 1, 32, 32)) < 0.19


def test_spectrum_is_seeded():
    layer = ones_layer(1, 3, 2)
    a = checkerboard_spectrum(layer, (2, 1, 64), seed=3)
    assert a == checkerboard_spectrum(layer, (2, 1, 64), seed=3)
    assert a != checkerboard_spectrum(layer, (2, 1, 64), seed=4)


def test_smooth_input_is_smooth():
    x = smooth_input((4, 2, 256), seed=0)
    assert x.mean().item() == pytest.approx(1.0, abs=1e-12)
    assert x.std().item() == pytest.approx(0.5, abs=1e-12)
    energy = torch.fft.rfft(x - 1, dim=-1).abs().square().sum(dim=(0, 1))
    f = torch.fft.rfftfreq(256)
    # a Gaussian low-pass of sigma 2 samples: power gain exp(-4 pi^2 sigma^2 f^2) < 5e-9 above
    # f = 0.35 cycles per sample (white noise in, so the share there is about that small)
    assert energy[f > 0.35].sum() / energy.sum() < 1e-7
    assert energy[f < 0.1].sum() / energy.sum() > 0.9


def test_spectrum_needs_three_periods():
    with pytest.raises(tconv.ShapeError, match="at least 3 per dimension"):
        checkerboard_spectrum(ones_layer(1, 3, 2), (1, 1, 4))
