"""The scatter method: GEMM into columns, then col2im. col2im is checked on its own (overlap
counts by brute force, torch's fold, the im2col adjoint), then the method on gaps and
dilation larger than the stride."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

import tconv
from tconv.methods import scatter
from tconv.methods.scatter import col2im, col2im_index
from tconv.shapes import Geometry

CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@st.composite
def geometries(draw):
    """(geometry with non-negative crops, input size) with a non-empty output."""
    rank = draw(st.integers(1, 3))
    max_size = {1: 8, 2: 5, 3: 3}[rank]
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    stride = tuple(draw(st.integers(1, 5)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    size = tuple(draw(st.integers(1, max_size)) for _ in range(rank))
    crop = tuple((draw(st.integers(0, 4)), draw(st.integers(0, 4))) for _ in range(rank))
    for i, k, s, d, (lo, hi) in zip(size, kernel, stride, dilation, crop, strict=True):
        assume((i - 1) * s + d * (k - 1) + 1 - lo - hi >= 1)
    geom = Geometry.create(kernel, stride, 0, 0, dilation).with_crop(crop)
    return geom, size


def overlap_by_brute_force(geom, size):
    """How many (tap, input position) pairs land on each output position."""
    out = [
        (i - 1) * s + d * (k - 1) + 1 - lo - hi
        for i, k, s, d, (lo, hi) in zip(
            size, geom.kernel_size, geom.stride, geom.dilation, geom.crop, strict=True
        )
    ]
    count = torch.zeros(out, dtype=torch.float64)
    for t in itertools.product(*(range(k) for k in geom.kernel_size)):
        for j in itertools.product(*(range(i) for i in size)):
            pos = tuple(
                jj * s + tt * d - lo
                for jj, tt, s, d, (lo, _) in zip(
                    j, t, geom.stride, geom.dilation, geom.crop, strict=True
                )
            )
            if all(0 <= p < o for p, o in zip(pos, out, strict=True)):
                count[pos] += 1
    return count


@given(case=geometries())
def test_col2im_of_ones_is_the_overlap_count(case):
    geom, size = case
    ones = torch.ones(1, 1, math.prod(geom.kernel_size), math.prod(size), dtype=torch.float64)
    got = col2im(ones, size, geom)[0, 0]
    assert torch.equal(got, overlap_by_brute_force(geom, size))


@given(case=geometries())
def test_col2im_index_keeps_exactly_the_entries_that_land_in_the_output(case):
    geom, size = case
    target, keep = col2im_index(size, geom)
    total = math.prod(geom.kernel_size) * math.prod(size)
    landed = int(overlap_by_brute_force(geom, size).sum())
    assert len(target) == landed
    assert (keep is None) == (landed == total)
    assert ((target >= 0) & (target < math.prod(geom.output_size(size)))).all()


@given(case=geometries())
def test_scatter_equals_torch_for_any_crop(case):
    geom, size = case
    x = torch.randn(2, 3, *size, dtype=torch.float64)
    w = torch.randn(3, 2, *geom.kernel_size, dtype=torch.float64)
    full = CONV_T[geom.rank](x, w, None, geom.stride, 0, 0, 1, geom.dilation)
    want = full[
        (..., *(slice(lo, L - hi) for (lo, hi), L in zip(geom.crop, full.shape[2:], strict=True)))
    ]
    torch.testing.assert_close(scatter.forward(x, w, None, geom), want, rtol=0, atol=1e-10)


def test_col2im_2d_equals_torch_fold():
    """torch's fold is col2im for the ordinary convolution: same placement, symmetric crop."""
    geom = Geometry.create((3, 2), stride=(2, 3), padding=(1, 1), dilation=(2, 1))
    size = (4, 3)  # blocks = the transposed convolution's input positions
    out = geom.output_size(size)
    cols = torch.randn(2, 5, 6, 12, dtype=torch.float64)
    want = F.fold(
        cols.reshape(2, 5 * 6, 12), out, (3, 2), dilation=(2, 1), padding=(1, 1), stride=(2, 3)
    )
    torch.testing.assert_close(col2im(cols, size, geom), want, rtol=0, atol=1e-12)


def test_col2im_gradient_is_im2col():
    """The adjoint of col2im is im2col (torch's unfold): <col2im(c), y> = <c, unfold(y)>."""
    geom = Geometry.create(3, stride=2, padding=1, dilation=1, rank=2)
    size = (5, 4)
    out = geom.output_size(size)
    cols = torch.randn(1, 2, 9, 20, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 2, *out, dtype=torch.float64)
    (grad,) = torch.autograd.grad((col2im(cols, size, geom) * y).sum(), cols)
    want = F.unfold(y, 3, padding=1, stride=2).reshape(1, 2, 9, 20)
    torch.testing.assert_close(grad, want, rtol=0, atol=1e-12)


def test_stride_larger_than_kernel_leaves_zero_gaps():
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    w = torch.randn(3, 2, 2, 1, dtype=torch.float64)
    y = tconv.conv_transpose(x, w, stride=(5, 3), method="scatter")
    ref = F.conv_transpose2d(x, w, stride=(5, 3))
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    assert not y[:, :, 2::5].any() and not y[:, :, 3::5].any()  # rows no tap reaches
    assert not y[:, :, :, 1::3].any() and not y[:, :, :, 2::3].any()


def test_dilation_larger_than_stride_interleaves_taps():
    x = torch.randn(1, 2, 7, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    y = tconv.conv_transpose(
        x, w, stride=2, padding=2, output_padding=2, dilation=3, groups=2, method="scatter"
    )
    ref = F.conv_transpose1d(x, w, stride=2, padding=2, output_padding=2, dilation=3, groups=2)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    gy = torch.randn_like(ref)
    for g1, g2 in zip(
        torch.autograd.grad(y, (x, w), gy), torch.autograd.grad(ref, (x, w), gy), strict=True
    ):
        torch.testing.assert_close(g1, g2, rtol=0, atol=1e-10)


def test_forward_on_an_inner_geometry_that_crops_everything():
    """functional.apply may crop the whole full output and zero-extend afterwards."""
    x = torch.randn(2, 1, 1, dtype=torch.float64, requires_grad=True)
    w = torch.randn(1, 3, 1, dtype=torch.float64, requires_grad=True)
    y = scatter.forward(x, w, None, Geometry.create(1).with_crop(((1, 0),)))
    assert y.shape == (2, 3, 0)
    gx, gw = torch.autograd.grad(y.sum(), (x, w))
    assert not gx.any() and not gw.any()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_keeps_its_dtype(dtype):
    x = torch.randn(2, 4, 3, 3).to(dtype)
    w = torch.randn(4, 1, 3, 3).to(dtype)
    y = tconv.conv_transpose(x, w, stride=2, groups=4, method="scatter")
    assert y.dtype == dtype
    ref = F.conv_transpose2d(x.float(), w.float(), stride=2, groups=4)
    torch.testing.assert_close(y.float(), ref, rtol=1e-2, atol=1e-2)
