"""The "subpixel" method (phase decomposition) and subpixel_weight (one convolution + pixel
shuffle + crop), each checked against torch independently of the other.

The method's agreement with torch over the whole parameter space is in test_methods.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import tconv
from reference import conv_transpose_numpy
from strategies import cases
from tconv import ShapeError
from tconv.functional import pixel_shuffle
from tconv.methods import subpixel
from tconv.methods.subpixel import subpixel_weight
from tconv.shapes import Geometry

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def torch_transposed(x, w, geom):
    """torch's full output (padding 0), then cropped or zero-extended by geom.crop."""
    full = CONV_T[geom.rank](x, w, None, geom.stride, 0, 0, geom.groups, geom.dilation)
    # extend first, then crop (F.pad cannot crop more than a dimension holds)
    full = F.pad(full, [max(-v, 0) for lo, hi in reversed(geom.crop) for v in (lo, hi)])
    cut = tuple(
        slice(max(lo, 0), full.shape[2 + j] - max(hi, 0)) for j, (lo, hi) in enumerate(geom.crop)
    )
    return full[(slice(None), slice(None), *cut)]


def by_subpixel_weight(x, w, geom):
    """The composition documented in subpixel_weight's docstring, written out here."""
    cw, padding, crop = subpixel_weight(w, geom)
    pads = [v for b, e in reversed(padding) for v in (b, e)]
    y = pixel_shuffle(CONV[geom.rank](F.pad(x, pads), cw, groups=geom.groups), geom.stride)
    cut = tuple(slice(lo, y.shape[2 + j] - hi) for j, (lo, hi) in enumerate(crop))
    return y[(slice(None), slice(None), *cut)]


def geometry_of(case):
    return Geometry.create(
        case.kernel,
        case.stride,
        case.padding,
        case.output_padding,
        case.dilation,
        case.groups,
        rank=case.rank,
    )


@given(case=cases(paddings=("torch", "pairs", "named")), size2=st.integers(1, 4))
def test_subpixel_weight_composed_with_pixel_shuffle_equals_torch(case, size2):
    geom = geometry_of(case)
    w = torch.randn(case.cin, case.cout // case.groups, *case.kernel, dtype=torch.float64)
    cw, padding, crop = subpixel_weight(w, geom)
    prod_s = math.prod(case.stride)
    assert cw.shape[:2] == (case.cout * prod_s, case.cin // case.groups)
    assert all(b >= 0 and e >= 0 for b, e in padding)
    assert all(lo >= 0 and hi >= 0 for lo, hi in crop)
    # the same rewrite holds for every input size that gives a valid output
    sizes = [case.size, tuple(min(i, size2) for i in case.size)]
    for size in sizes:
        try:
            geom.output_size(size)
        except ShapeError:
            continue
        x = torch.randn(2, case.cin, *size, dtype=torch.float64)
        ref = torch_transposed(x, w, geom)
        y = by_subpixel_weight(x, w, geom)
        assert y.shape == ref.shape
        torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)


def test_subpixel_weight_hand_worked_1d_layout():
    """k3 s2, no crop: full phase 0 gets taps 0 and 2, phase 1 gets tap 1."""
    w = torch.tensor([[[1.0, 2.0, 3.0]]])
    cw, padding, crop = subpixel_weight(w, Geometry.create(3, stride=2))
    # channel 0 = phase 0: out[q] = x[q] w0 + x[q-1] w2 -> kernel [w2, w0] with 1 zero in front
    # channel 1 = phase 1: out[q] = x[q] w1             -> kernel [0, w1]
    assert cw.tolist() == [[[3.0, 1.0]], [[0.0, 2.0]]]
    assert padding == ((1, 1),)
    assert crop == ((0, 1),)
    x = torch.tensor([[[1.0, 10.0]]])
    y = pixel_shuffle(F.conv1d(F.pad(x, (1, 1)), cw), 2)[..., :-1]
    assert y.tolist() == [[[1.0, 2.0, 13.0, 20.0, 30.0]]]


def test_subpixel_weight_k4_s2_p1_uses_2x2_phase_kernels_not_3x3():
    """Aligning the phases with the full output (crop applied after the shuffle) gives each
    phase its 2x2 taps: 16 multiply-adds per input pixel and channel pair, not the 36 of the
    classic 3x3 convolution + pixel shuffle."""
    w = torch.randn(2, 3, 4, 4)
    cw, padding, crop = subpixel_weight(w, Geometry.create((4, 4), stride=2, padding=1))
    assert cw.shape == (12, 2, 2, 2)
    assert padding == ((1, 1), (1, 1))
    assert crop == ((1, 1), (1, 1))
    # channel c_out * 4 + 2 * i + j is full phase (i, j). Full row 2q (phase 0) gets tap 0
    # from input row q and tap 2 from row q - 1; with padding 1, kernel row 1 reads input row
    # q and kernel row 0 reads row q - 1. Full row 2q + 1 (phase 1): taps 1 and 3 likewise.
    for c in range(3):
        assert torch.equal(cw[c * 4 + 0, :, 1, 1], w[:, c, 0, 0])
        assert torch.equal(cw[c * 4 + 0, :, 0, 0], w[:, c, 2, 2])
        assert torch.equal(cw[c * 4 + 3, :, 0, 1], w[:, c, 3, 1])
        assert torch.equal(cw[c * 4 + 1, :, 1, 0], w[:, c, 0, 3])


def test_subpixel_weight_k2_s2_is_a_1x1_convolution():
    w = torch.randn(5, 3, 2, 2)
    cw, padding, crop = subpixel_weight(w, Geometry.create((2, 2), stride=2))
    assert cw.shape == (12, 5, 1, 1)
    assert padding == ((0, 0), (0, 0)) and crop == ((0, 0), (0, 0))
    for c, i, j in np.ndindex(3, 2, 2):
        assert torch.equal(cw[c * 4 + 2 * i + j, :, 0, 0], w[:, c, i, j])


def test_subpixel_weight_keeps_group_blocks():
    """groups=2: output channels of group 1 only see input channels of group 1."""
    w = torch.randn(4, 3, 3)  # C_in 4, groups 2 -> C_out 6
    geom = Geometry.create(3, stride=3, groups=2)
    cw, _, _ = subpixel_weight(w, geom)
    assert cw.shape == (6 * 3, 2, 1)
    # channel c_out * 3 + phase: group 1 holds c_out 3..5, built from w[2:4, c_out - 3]
    for c_out, phase in np.ndindex(6, 3):
        g, o = divmod(c_out, 3)
        assert torch.equal(cw[c_out * 3 + phase, :, 0], w[2 * g : 2 * g + 2, o, phase])


def test_subpixel_weight_errors():
    geom = Geometry.create((3, 3), stride=2, groups=2)
    with pytest.raises(ShapeError, match=r"shape \(4, 1, 3, 2\) does not match"):
        subpixel_weight(torch.zeros(4, 1, 3, 2), geom)
    with pytest.raises(ShapeError, match=r"in_channels=3.*not divisible by groups=2"):
        subpixel_weight(torch.zeros(3, 1, 3, 3), geom)


def test_forward_hand_worked_1d():
    x, w = torch.tensor([[[1.0, 10.0]]]), torch.tensor([[[1.0, 2.0, 3.0]]])
    assert subpixel.forward(x, w, None, Geometry.create(3, stride=2)).tolist() == [
        [[1.0, 2.0, 13.0, 20.0, 30.0]]
    ]
    g = Geometry.create(3, stride=4)  # stride > kernel: a zero phase between the blocks
    assert subpixel.forward(x, w, torch.tensor([1.0]), g).tolist() == [
        [[2.0, 3.0, 4.0, 1.0, 11.0, 21.0, 31.0]]
    ]


def test_forward_never_multiplies_inserted_zeros(monkeypatch):
    """One convolution per phase with taps, on the un-upsampled input, with only real taps."""
    calls = []
    real = subpixel._CONV[2]

    def recording(inp, weight, *args):
        calls.append((tuple(inp.shape), weight.detach().clone(), args))
        return real(inp, weight, *args)

    monkeypatch.setitem(subpixel._CONV, 2, recording)
    x = torch.randn(1, 4, 8, 9, dtype=torch.float64)
    w = torch.rand(4, 2, 5, 3, dtype=torch.float64) + 0.5  # no zero weights
    geom = Geometry.create((5, 3), stride=(3, 4), padding=1, dilation=(2, 1))
    y = subpixel.forward_phases(x, w, None, geom)
    torch.testing.assert_close(y, torch_transposed(x, w, geom), rtol=0, atol=1e-10)
    # dim 0 (k5 s3 d2): every phase has taps; dim 1 (k3 s4): one of 4 phases has none
    assert len(calls) == 3 * 3
    for shape, weight, args in calls:
        dil = args[3]
        assert shape[2] <= 8 + 4 and shape[3] <= 9 + 3  # un-upsampled input plus a border
        assert bool((weight != 0).all())  # only real taps: no zeros in any kernel
        assert dil == (2, 1)  # dilation 2 / gcd(3, 2) and 1 / gcd(4, 1)
    assert sum(c[1][0, 0].numel() for c in calls) == 5 * 3  # every tap used exactly once


def test_forward_on_seed_example_2():
    x = torch.randn(1, 3, 16, 16, dtype=torch.float64)
    w = torch.randn(3, 8, 3, 3, dtype=torch.float64)
    g = Geometry.create((3, 3), stride=2, padding=1, output_padding=1)
    y = subpixel.forward(x, w, None, g)
    assert y.shape == (1, 8, 32, 32)
    ref = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "kernel, stride, dilation, crop, groups",
    [
        ((2, 4, 3), (4, 2, 3), (2, 2, 3), ((0, 0), (1, 2), (2, 7)), 1),  # gcd(s, d) > 1
        ((3,), (4,), (6,), ((9, 3),), 2),  # crop far beyond a stride
        ((1, 1), (3, 2), (1, 1), ((0, 2), (1, 0)), 3),  # stride > kernel: mostly zero phases
        ((5, 2), (2, 2), (3, 1), ((-2, 4), (0, -3)), 1),  # negative crops (zero extension)
    ],
)
def test_against_the_numpy_reference(kernel, stride, dilation, crop, groups):
    rank = len(kernel)
    x = torch.randn(2, 2 * groups, *([4, 3, 5][:rank]), dtype=torch.float64)
    w = torch.randn(2 * groups, 2, *kernel, dtype=torch.float64)
    b = torch.randn(2 * groups, dtype=torch.float64)
    y = tconv.conv_transpose(
        x, w, b, stride, crop, groups=groups, dilation=dilation, method="subpixel"
    )
    ref = conv_transpose_numpy(x.numpy(), w.numpy(), b.numpy(), stride, crop, dilation, groups)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.numpy(), ref, rtol=0, atol=1e-10)
