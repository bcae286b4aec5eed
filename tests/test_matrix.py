"""The matrix method: conv_matrix is the matrix of torch's ordinary convolution, stored sparse
with exactly one entry per valid tap, and its transpose is the transposed convolution."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

import tconv
from tconv.methods import matrix
from tconv.methods.matrix import conv_matrix
from tconv.shapes import Geometry, ShapeError

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@st.composite
def conv_settings(draw):
    """A valid ordinary convolution on one small sample, asymmetric non-negative padding."""
    rank = draw(st.integers(1, 3))
    max_size = {1: 9, 2: 5, 3: 4}[rank]
    per_dim = [
        (
            draw(st.integers(1, 4)),  # kernel
            draw(st.integers(1, 3)),  # stride
            draw(st.integers(1, 3)),  # dilation
            draw(st.integers(0, 3)),  # padding begin
            draw(st.integers(0, 3)),  # padding end
            draw(st.integers(1, max_size)),  # input size
        )
        for _ in range(rank)
    ]
    for k, _, d, a, b, n in per_dim:
        assume(n + a + b >= d * (k - 1) + 1)
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    out_channels = groups * draw(st.integers(1, 2))
    in_per_group = draw(st.integers(1, 2))
    kernel, stride, dilation, begin, end, size = (tuple(v) for v in zip(*per_dim, strict=True))
    padding = tuple(zip(begin, end, strict=True))
    weight = torch.randn(out_channels, in_per_group, *kernel, dtype=torch.float64)
    return weight, size, stride, padding, dilation, groups


def dense_by_basis_vectors(weight, size, stride, padding, dilation, groups):
    """The dense matrix of torch's convolution: column c = conv(c-th basis vector)."""
    rank = weight.dim() - 2
    in_channels = weight.shape[1] * groups
    cols = in_channels * math.prod(size)
    basis = torch.eye(cols, dtype=weight.dtype).reshape(cols, in_channels, *size)
    pads = [v for a, b in reversed(padding) for v in (a, b)]  # F.pad: last dimension first
    out = CONV[rank](F.pad(basis, pads), weight, None, stride, 0, dilation, groups)
    return out.reshape(cols, -1).t()


def valid_taps(kernel, stride, padding, dilation, size):
    """Brute force: (output position, tap) pairs whose input position is inside the input."""
    out = [
        (n + a + b - d * (k - 1) - 1) // s + 1
        for k, s, d, (a, b), n in zip(kernel, stride, dilation, padding, size, strict=True)
    ]
    count = 0
    for o in itertools.product(*(range(v) for v in out)):
        for t in itertools.product(*(range(k) for k in kernel)):
            pos = [
                oo * s + tt * d - a
                for oo, tt, s, d, (a, _) in zip(o, t, stride, dilation, padding, strict=True)
            ]
            count += all(0 <= p < n for p, n in zip(pos, size, strict=True))
    return count


@given(settings=conv_settings())
def test_conv_matrix_equals_torch_convolution_applied_to_basis_vectors(settings):
    weight, size, stride, padding, dilation, groups = settings
    C = conv_matrix(weight, size, stride, padding, dilation, groups)
    dense = dense_by_basis_vectors(weight, size, stride, padding, dilation, groups)
    assert C.is_sparse and C.is_coalesced()
    assert C.shape == dense.shape
    assert torch.equal(C.to_dense(), dense)  # entries are copies of weights: exact


@given(settings=conv_settings())
def test_conv_matrix_times_a_sample_is_the_convolution(settings):
    weight, size, stride, padding, dilation, groups = settings
    rank = weight.dim() - 2
    z = torch.randn(weight.shape[1] * groups, *size, dtype=torch.float64)
    C = conv_matrix(weight, size, stride, padding, dilation, groups)
    pads = [v for a, b in reversed(padding) for v in (a, b)]
    want = CONV[rank](F.pad(z[None], pads), weight, None, stride, 0, dilation, groups)
    torch.testing.assert_close(C @ z.flatten(), want.flatten(), rtol=0, atol=1e-12)


@given(settings=conv_settings())
def test_conv_matrix_stores_one_entry_per_valid_tap(settings):
    weight, size, stride, padding, dilation, groups = settings
    kernel = tuple(weight.shape[2:])
    C = conv_matrix(weight, size, stride, padding, dilation, groups)
    per_channel_pair = valid_taps(kernel, stride, padding, dilation, size)
    assert C._nnz() == weight.shape[0] * weight.shape[1] * per_channel_pair
    rows, cols = C.indices()
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == C._nnz()  # no duplicates


def test_conv_matrix_int_padding_and_int_size_broadcast():
    w = torch.randn(2, 3, 3, 3, dtype=torch.float64)
    a = conv_matrix(w, 5, 2, 1)
    b = conv_matrix(w, (5, 5), (2, 2), ((1, 1), (1, 1)))
    assert torch.equal(a.to_dense(), b.to_dense())
    assert a.shape == (2 * 3 * 3, 3 * 25)


def test_conv_matrix_values_carry_gradients_to_the_weight():
    w = torch.randn(4, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    z = torch.randn(4, 6, 5, dtype=torch.float64)
    C = conv_matrix(w, (6, 5), (2, 1), ((1, 0), (0, 2)), (1, 2), groups=2)
    got = torch.autograd.grad((C @ z.flatten()).square().sum(), w)[0]
    ref = F.conv2d(F.pad(z[None], (0, 2, 1, 0)), w, None, (2, 1), 0, (1, 2), 2)
    want = torch.autograd.grad(ref.square().sum(), w)[0]
    torch.testing.assert_close(got, want, rtol=0, atol=1e-10)


def test_docstring_example_matrix_by_hand():
    """1-D k3 s2: the rows are the kernel shifted by the stride (written out by hand)."""
    w = torch.tensor([[[1.0, 2.0, 3.0]]])
    expected = torch.tensor([[1.0, 2.0, 3.0, 0.0, 0.0], [0.0, 0.0, 1.0, 2.0, 3.0]])
    assert torch.equal(conv_matrix(w, 5, stride=2).to_dense(), expected)
    # with padding 1 the matrix gains a row and loses the taps on the padding
    expected = torch.tensor(
        [[2.0, 3.0, 0.0, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0, 0.0], [0.0, 0.0, 0.0, 1.0, 2.0]]
    )
    assert torch.equal(conv_matrix(w, 5, stride=2, padding=1).to_dense(), expected)


def test_large_case_runs_with_memory_proportional_to_nonzeros_and_matches_native():
    """1x8x64x64 transposed input, 8 output channels, 3x3 kernel, stride 2."""
    x = torch.randn(1, 8, 64, 64)
    w = torch.randn(8, 8, 3, 3)
    y = tconv.conv_transpose(x, w, stride=2, padding=1, output_padding=1, method="matrix")
    ref = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    assert y.shape == (1, 8, 128, 128)
    torch.testing.assert_close(y, ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())
    C = conv_matrix(w, (128, 128), 2, ((1, 0), (1, 0)))
    assert C.shape == (8 * 64 * 64, 8 * 128 * 128)
    assert C._nnz() <= 8 * 64 * 64 * 8 * 9  # rows x (in channels x taps), not rows x columns
    assert C._nnz() == 8 * 8 * valid_taps((3,), (2,), ((1, 0),), (1,), (128,)) ** 2


def test_large_case_weight_gradient_stays_sparse():
    """The weight gradient of the 1x8x64x64 case: a dense rows x cols intermediate (what
    torch.sparse.mm's backward forms) would be 32768 x 131072 floats = 17 GB."""
    x = torch.randn(2, 8, 64, 64, requires_grad=True)
    w = torch.randn(8, 8, 3, 3, requires_grad=True)
    y = tconv.conv_transpose(x, w, stride=2, padding=1, output_padding=1, method="matrix")
    ref = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    gy = torch.randn_like(ref)
    got, want = torch.autograd.grad(y, (x, w), gy), torch.autograd.grad(ref, (x, w), gy)
    for g1, g2 in zip(got, want, strict=True):
        torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-4 * g2.abs().max().item())


def test_both_product_paths_agree_in_float64():
    """Without a weight gradient: torch.sparse.mm(C.t(), X); with one: C's entries by hand."""
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64)
    w = torch.randn(4, 2, 3, 2, dtype=torch.float64)
    geom = Geometry.create((3, 2), (2, 3), ((1, 2), (0, 1)), 0, (1, 2), groups=2)
    plain = matrix.forward(x, w, None, geom)
    tracked = matrix.forward(x, w.clone().requires_grad_(True), None, geom)
    assert plain.grad_fn is None and tracked.grad_fn is not None
    torch.testing.assert_close(plain, tracked.detach(), rtol=0, atol=1e-12)
    full = F.conv_transpose2d(x, w, None, (2, 3), 0, 0, 2, (1, 2))
    torch.testing.assert_close(plain, full[:, :, 1:-2, 0:-1], rtol=0, atol=1e-12)


def test_forward_with_groups_dilation_and_asymmetric_crop_float64():
    x = torch.randn(3, 4, 5, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    geom = Geometry.create((2, 3), (3, 2), ((2, 0), (1, 3)), 0, (2, 1), groups=2)
    y = matrix.forward(x, w, b, geom)
    full = F.conv_transpose2d(x, w, b, (3, 2), 0, 0, 2, (2, 1))
    ref = full[:, :, 2:, 1:-3]
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    gy = torch.randn_like(ref)
    for g1, g2 in zip(
        torch.autograd.grad(y, (x, w, b), gy), torch.autograd.grad(ref, (x, w, b), gy), strict=True
    ):
        torch.testing.assert_close(g1, g2, rtol=0, atol=1e-10)


def test_forward_keeps_bfloat16_and_float16_dtypes():
    for dtype in (torch.bfloat16, torch.float16):
        x = torch.randn(2, 3, 5).to(dtype)
        w = torch.randn(3, 2, 3).to(dtype)
        y = tconv.conv_transpose(x, w, stride=2, method="matrix")
        assert y.dtype == dtype
        ref = F.conv_transpose1d(x.float(), w.float(), stride=2)
        torch.testing.assert_close(y.float(), ref, rtol=1e-2, atol=1e-2)


def test_forward_on_an_inner_geometry_that_crops_everything():
    """functional.apply may crop the whole full output and zero-extend afterwards."""
    x = torch.randn(2, 1, 1, dtype=torch.float64, requires_grad=True)
    w = torch.randn(1, 3, 1, dtype=torch.float64, requires_grad=True)
    y = matrix.forward(x, w, None, Geometry.create(1).with_crop(((1, 0),)))
    assert y.shape == (2, 3, 0)
    gx, gw = torch.autograd.grad(y.sum(), (x, w))
    assert not gx.any() and not gw.any()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(weight=torch.zeros(2, 2)), r"expected 3, 4 or 5 dimensions"),
        (
            dict(input_size=(5, 5, 5)),
            r"input_size=\(5, 5, 5\) is invalid: .* 2-D, so input_size needs 2",
        ),
        (
            dict(input_size=(5, 0)),
            r"input_size=\(5, 0\) is invalid: every spatial length must be >= 1",
        ),
        (dict(stride=0), r"stride=\(0, 0\) is invalid: each stride must be >= 1"),
        (dict(dilation=(1, 0)), r"dilation=\(1, 0\) is invalid: each dilation must be >= 1"),
        (dict(groups=3), r"out_channels=4 \(weight.shape\[0\]\) is not divisible by groups=3"),
        (dict(groups=0), r"groups=0 is invalid: groups must be an int >= 1"),
        (dict(padding=((0, -1), (0, 0))), r"padding=\(\(0, -1\), \(0, 0\)\) is invalid: .*>= 0"),
        (dict(padding="same"), r"padding='same' is invalid for conv_matrix"),
        (dict(padding=(1, 2, 3)), r"padding=\(1, 2, 3\) is invalid"),
        (
            dict(input_size=(2, 2)),
            r"input_size=\(2, 2\) with padding .* too small for kernel_size=\(3, 3\)",
        ),
    ],
)
def test_conv_matrix_errors_name_the_value_and_the_rule(kwargs, match):
    args = dict(weight=torch.zeros(4, 1, 3, 3), input_size=(5, 5))
    args.update(kwargs)
    with pytest.raises(ShapeError, match=match):
        conv_matrix(**args)
