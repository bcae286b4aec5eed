"""tconv.init: ICNR (sub-pixel and transposed), exact bilinear upsampling, Kaiming fans."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import tconv
from tconv.init import (
    bilinear_,
    bilinear_kernel_size,
    bilinear_padding,
    icnr_,
    kaiming_,
    transposed_fans,
)

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


# ---------------------------------------------------------------------------------------------
# ICNR


@pytest.mark.parametrize(("rank", "scale"), [(1, 3), (2, 2), (2, (1, 3)), (3, 2)])
def test_icnr_subpixel_is_nearest_upsampling_after_a_convolution(rank, scale):
    s = (scale,) * rank if isinstance(scale, int) else scale
    phases = math.prod(s)
    cin, cout, k = 3, 2, 3
    w = icnr_(torch.empty(cout * phases, cin, *(k,) * rank, dtype=torch.float64), scale)
    sub = w[::phases]  # the drawn sub-kernel: one per output channel
    for p in range(phases):
        assert torch.equal(w[p::phases], sub)
    bias = torch.randn(cout, dtype=torch.float64)
    x = torch.randn(2, cin, *(5,) * rank, dtype=torch.float64)
    y = tconv.functional.pixel_shuffle(CONV[rank](x, w, padding=1), scale)
    y = y + bias.reshape((-1,) + (1,) * rank)
    nearest = F.interpolate(
        CONV[rank](x, sub, bias, padding=1), scale_factor=tuple(float(v) for v in s)
    )
    torch.testing.assert_close(y, nearest, atol=1e-12, rtol=0)


def test_icnr_default_initializer_is_he_normal_of_the_sub_kernel():
    w = icnr_(torch.empty(4 * 64, 128, 3, 3), 2)
    expected = math.sqrt(2.0 / (128 * 9))  # He: gain sqrt(2), fan_in = C_in * k * k
    assert w[::4].std().item() == pytest.approx(expected, rel=0.03)


def test_icnr_takes_any_initializer():
    w = icnr_(torch.empty(8, 2, 3), 2, torch.nn.init.ones_)
    assert torch.equal(w, torch.ones(8, 2, 3))


@pytest.mark.parametrize(
    ("rank", "kernel", "stride", "padding"),
    [
        (1, 4, 2, 1),
        (1, 5, 3, 0),
        (2, 4, 2, 1),
        (2, (3, 4), (2, 3), 0),
        (3, 2, 2, 0),
    ],
)
def test_icnr_transposed_is_nearest_upsampling_then_a_convolution(rank, kernel, stride, padding):
    k = (kernel,) * rank if isinstance(kernel, int) else kernel
    s = (stride,) * rank if isinstance(stride, int) else stride
    m = tuple(kk - ss + 1 for kk, ss in zip(k, s, strict=True))
    h = torch.randn(3, 2, *m, dtype=torch.float64)
    w = icnr_(torch.empty(3, 2, *k, dtype=torch.float64), s, lambda t: t.copy_(h), transposed=True)
    x = torch.randn(2, 3, *(4,) * rank, dtype=torch.float64)
    y = CONV_T[rank](x, w, stride=s, padding=padding)
    up = F.interpolate(x, scale_factor=tuple(float(v) for v in s), mode="nearest")
    torch.testing.assert_close(y, CONV_T[rank](up, h, padding=padding), atol=1e-12, rtol=0)


def test_icnr_transposed_default_uses_the_transposed_fan():
    h_shape_fan_in = 256 * 3 * 3  # C_in * (k - s + 1)^2 for k4 s2
    w = icnr_(torch.empty(256, 32, 4, 4), 2, transposed=True)
    # the corner taps of box(2) * h are single copies of h's corner taps
    corner = w[:, :, 0, 0]
    assert corner.std().item() == pytest.approx(math.sqrt(2 / h_shape_fan_in), rel=0.05)


def test_icnr_errors_name_the_rule():
    with pytest.raises(
        tconv.ShapeError, match=r"must be out_channels \* prod\(scale\) = a multiple of 4"
    ):
        icnr_(torch.empty(6, 2, 3, 3), 2)
    with pytest.raises(tconv.ShapeError, match=r"kernel_size=\(2, 3\) is invalid for ICNR"):
        icnr_(torch.empty(2, 2, 2, 3), 3, transposed=True)
    with pytest.raises(tconv.ShapeError, match=r"scale=\(0, 0\) is invalid"):
        icnr_(torch.empty(2, 2, 2, 3), 0)


# ---------------------------------------------------------------------------------------------
# bilinear


@pytest.mark.parametrize(
    ("rank", "scale"), [(r, s) for r in (1, 2, 3) for s in (1, 2, 3, 4) if r + s <= 6]
)
@pytest.mark.parametrize("depthwise", [False, True])
def test_bilinear_equals_interpolate_away_from_the_border(rank, scale, depthwise):
    c = 3
    k = bilinear_kernel_size(scale)
    w = torch.empty(c, 1 if depthwise else c, *(k,) * rank, dtype=torch.float64)
    bilinear_(w, scale)
    n = {1: 12, 2: 8, 3: 5}[rank]
    x = torch.randn(2, c, *(n,) * rank, dtype=torch.float64)
    y = CONV_T[rank](
        x, w, stride=scale, padding=bilinear_padding(scale), groups=c if depthwise else 1
    )
    ref = F.interpolate(x, scale_factor=float(scale), mode=LINEAR[rank], align_corners=False)
    assert y.shape == ref.shape == (2, c, *(n * scale,) * rank)
    inner = (slice(None), slice(None), *(slice(scale, -scale),) * rank)
    torch.testing.assert_close(y[inner], ref[inner], atol=1e-10, rtol=0)


def test_bilinear_per_dimension_scale():
    w = bilinear_(torch.empty(2, 2, *bilinear_kernel_size((2, 3)), dtype=torch.float64), (2, 3))
    x = torch.randn(1, 2, 7, 6, dtype=torch.float64)
    y = F.conv_transpose2d(x, w, stride=(2, 3), padding=bilinear_padding((2, 3)))
    ref = F.interpolate(x, scale_factor=(2.0, 3.0), mode="bilinear", align_corners=False)
    torch.testing.assert_close(y[..., 2:-2, 3:-3], ref[..., 2:-2, 3:-3], atol=1e-10, rtol=0)


def test_bilinear_infers_the_scale_fcn_style():
    # K = 4 -> scale 2: linear interpolation weights (1/4, 3/4, 3/4, 1/4)
    assert bilinear_(torch.empty(1, 1, 4))[0, 0].tolist() == [0.25, 0.75, 0.75, 0.25]
    # K = 3 -> scale (3 + 1) // 2 = 2, FCN's centred triangle 1 - |t - 1| / 2
    assert bilinear_(torch.empty(1, 1, 3))[0, 0].tolist() == [0.5, 1.0, 0.5]
    # K = 5 -> scale 3: 1 - |t - 2| / 3
    w = bilinear_(torch.empty(1, 1, 5, dtype=torch.float64))[0, 0]
    torch.testing.assert_close(
        w, torch.tensor([1 / 3, 2 / 3, 1, 2 / 3, 1 / 3], dtype=torch.float64)
    )


def test_bilinear_maps_each_channel_to_itself_only():
    w = bilinear_(torch.randn(4, 4, 4, 4))
    off_diagonal = w.clone()
    off_diagonal[range(4), range(4)] = 0
    assert not off_diagonal.any()
    grouped = bilinear_(torch.randn(4, 2, 4))  # groups = 2: channel i -> local output i % 2
    assert grouped[1, 1].tolist() == grouped[2, 0].tolist() == [0.25, 0.75, 0.75, 0.25]
    assert not grouped[1, 0].any() and not grouped[2, 1].any()


def test_bilinear_padding_and_kernel_size_by_hand():
    # kernel 2s - s % 2; padding s // 2 (the "same" crop of that kernel at stride s)
    assert [bilinear_kernel_size(s) for s in (1, 2, 3, 4, 5)] == [1, 4, 5, 8, 9]
    assert [bilinear_padding(s) for s in (1, 2, 3, 4, 5)] == [0, 1, 1, 2, 2]
    assert bilinear_padding((2, 5)) == (1, 2)
    for s in (1, 2, 3, 4, 5):  # output = input * scale
        assert tconv.output_size(10, bilinear_kernel_size(s), s, bilinear_padding(s)) == (10 * s,)


def test_bilinear_refuses_channel_changes():
    with pytest.raises(tconv.ShapeError, match="in_channels must equal out_channels"):
        bilinear_(torch.empty(3, 2, 4))


# ---------------------------------------------------------------------------------------------
# Kaiming


def test_transposed_fans_by_hand():
    w = torch.empty(64, 8, 3, 5)  # C_in 64, C_out 8 * groups
    assert transposed_fans(w) == (64 * 15, 8 * 15)
    assert transposed_fans(w, groups=4) == (16 * 15, 8 * 15)
    assert transposed_fans(w, stride=(1, 3)) == (64 * 15 / 3, 8 * 15)
    with pytest.raises(tconv.ShapeError, match="divisible by groups"):
        transposed_fans(w, groups=3)


@pytest.mark.parametrize(("cin", "cout", "groups"), [(256, 32, 1), (32, 256, 1), (128, 64, 4)])
def test_kaiming_std_uses_the_input_channels(cin, cout, groups):
    w = torch.empty(cin, cout // groups, 4, 4)
    kaiming_(w, nonlinearity="relu", groups=groups)
    expected = math.sqrt(2.0) / math.sqrt(cin / groups * 16)
    assert w.std().item() == pytest.approx(expected, rel=0.03)
    # torch's kaiming_normal_ reads fan_in from weight.shape[1] (pytorch issue 7865)
    wrong = torch.nn.init.kaiming_normal_(torch.empty_like(w), nonlinearity="relu")
    assert wrong.std().item() == pytest.approx(math.sqrt(2.0 / (cout // groups * 16)), rel=0.03)
    if cin != cout // groups:
        assert abs(wrong.std().item() / expected - 1) > 0.3


def test_kaiming_fan_out_and_uniform():
    w = kaiming_(
        torch.empty(64, 128, 3, 3), mode="fan_out", nonlinearity="linear", distribution="uniform"
    )
    std = 1 / math.sqrt(128 * 9)
    assert w.abs().max().item() <= math.sqrt(3) * std
    assert w.std().item() == pytest.approx(std, rel=0.03)
    with pytest.raises(ValueError, match="mode='fan_sideways' is invalid"):
        kaiming_(w, mode="fan_sideways")


def test_kaiming_with_stride_preserves_the_variance_of_a_linear_layer():
    # k4 s2: every output element gets exactly C_in * 2 * 2 taps, fan_in = C_in * 16 / 4
    cin, cout = 64, 48
    w = kaiming_(
        torch.empty(cin, cout, 4, 4, dtype=torch.float64),
        nonlinearity="linear",
        stride=2,
        generator=torch.Generator().manual_seed(1),
    )
    x = torch.randn(4, cin, 16, 16, dtype=torch.float64)
    y = F.conv_transpose2d(x, w, stride=2, padding=1)[..., 2:-2, 2:-2]
    assert y.var().item() == pytest.approx(1.0, rel=0.05)
