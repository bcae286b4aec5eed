"""The "dilate" method (zero insertion + ordinary convolution) and its two visible steps.

The method's agreement with torch over the whole parameter space is in test_methods.py; here:
the steps themselves, hand-worked cases, and the seed article's example 2."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import tconv
from reference import conv_transpose_numpy
from tconv import ShapeError
from tconv.methods import dilate
from tconv.methods.dilate import flip_weight, zero_insert
from tconv.shapes import Geometry


@given(
    size=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    data=st.data(),
)
def test_zero_insert_puts_input_at_multiples_of_stride_and_zeros_elsewhere(size, data):
    rank = len(size)
    stride = tuple(data.draw(st.integers(1, 4)) for _ in range(rank))
    x = torch.rand(2, 3, *size, dtype=torch.float64) + 1.0  # no zeros in the input
    z = zero_insert(x, stride)
    # expected, element by element, from the definition
    shape = tuple((i - 1) * s + 1 for i, s in zip(size, stride, strict=True))
    expected = np.zeros((2, 3, *shape))
    for pos in itertools.product(*(range(i) for i in size)):
        dst = tuple(p * s for p, s in zip(pos, stride, strict=True))
        expected[(slice(None), slice(None), *dst)] = x[(slice(None), slice(None), *pos)].numpy()
    assert tuple(z.shape) == (2, 3, *shape)
    np.testing.assert_array_equal(z.numpy(), expected)
    assert int((z != 0).sum()) == x.numel()  # zeros, not interpolated values


def test_zero_insert_hand_worked_2d_and_identity_for_stride_1():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert zero_insert(x, (2, 3)).tolist() == [
        [
            [
                [1.0, 0.0, 0.0, 2.0],
                [0.0, 0.0, 0.0, 0.0],
                [3.0, 0.0, 0.0, 4.0],
            ]
        ]
    ]
    assert zero_insert(x, 1) is x


def test_zero_insert_errors():
    with pytest.raises(ShapeError, match=r"stride=\(0,\) is invalid.*>= 1"):
        zero_insert(torch.zeros(1, 1, 3), 0)
    with pytest.raises(ShapeError, match=r"shape \(3,\).*\(N, C, \*spatial\)"):
        zero_insert(torch.zeros(3), 2)
    with pytest.raises(ShapeError, match=r"stride=\(2, 2, 2\) is invalid"):
        zero_insert(torch.zeros(1, 1, 3, 3), (2, 2, 2))


def test_zero_insert_gradient_picks_the_kept_positions():
    x = torch.randn(1, 2, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: zero_insert(t, (2, 3)), (x,))


def test_flip_weight_hand_worked_with_groups():
    # C_in = 4, groups = 2, C_out // groups = 1, k = 2: weight[i, 0] = [10 i, 10 i + 1]
    w = torch.tensor([[[0.0, 1.0]], [[10.0, 11.0]], [[20.0, 21.0]], [[30.0, 31.0]]])
    out = flip_weight(w, groups=2)
    # group 0 takes inputs 0, 1 to output 0; group 1 takes inputs 2, 3 to output 1; kernel flipped
    assert out.tolist() == [
        [[1.0, 0.0], [11.0, 10.0]],
        [[21.0, 20.0], [31.0, 30.0]],
    ]
    w2 = torch.arange(12.0).reshape(1, 3, 2, 2)  # one input, three outputs, 2x2
    assert flip_weight(w2).tolist() == [
        [[[3.0, 2.0], [1.0, 0.0]]],
        [[[7.0, 6.0], [5.0, 4.0]]],
        [[[11.0, 10.0], [9.0, 8.0]]],
    ]


@given(
    groups=st.integers(1, 3),
    cin_g=st.integers(1, 3),
    cout_g=st.integers(1, 3),
    kernel=st.lists(st.integers(1, 4), min_size=1, max_size=3),
)
def test_flip_weight_is_an_involution(groups, cin_g, cout_g, kernel):
    w = torch.randn(groups * cin_g, cout_g, *kernel)
    once = flip_weight(w, groups)
    assert once.shape == (groups * cout_g, cin_g, *kernel)
    assert torch.equal(flip_weight(once, groups), w)


def test_flip_weight_errors():
    with pytest.raises(ShapeError, match=r"weight.shape\[0\]=5 is not divisible by groups=2"):
        flip_weight(torch.zeros(5, 1, 3), 2)
    with pytest.raises(ShapeError, match=r"shape \(5, 1\)"):
        flip_weight(torch.zeros(5, 1), 1)


def test_hand_worked_1d():
    """Stride 2, kernel [1, 2, 3], input [1, 10]: full output [1, 2, 13, 20, 30]."""
    x, w = torch.tensor([[[1.0, 10.0]]]), torch.tensor([[[1.0, 2.0, 3.0]]])
    assert dilate.forward(x, w, None, Geometry.create(3, stride=2)).tolist() == [
        [[1.0, 2.0, 13.0, 20.0, 30.0]]
    ]
    g = Geometry.create(3, stride=2, padding=1, output_padding=1)  # crop (1, 0)
    assert dilate.forward(x, w, torch.tensor([0.5]), g).tolist() == [[[2.5, 13.5, 20.5, 30.5]]]
    g = Geometry.create(3, stride=2, padding=((3, 1),))  # crop larger than the padding 2
    assert dilate.forward(x, w, None, g).tolist() == [[[20.0]]]


def test_seed_example_2_gives_32_not_33():
    """k3 s2 p1 op1 on 16x16: zero insertion 16 -> 31, padding (2-1, 2-1+1) -> 34, 3x3 -> 32."""
    torch.manual_seed(0)
    x = torch.randn(1, 3, 16, 16, dtype=torch.float64)
    w = torch.randn(3, 8, 3, 3, dtype=torch.float64)
    assert zero_insert(x, 2).shape[-2:] == (31, 31)
    g = Geometry.create((3, 3), stride=2, padding=1, output_padding=1)
    y = dilate.forward(x, w, None, g)
    assert y.shape == (1, 8, 32, 32)
    ref = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    # by hand: insert zeros, pad 1 before and 2 after, convolve with the flipped kernel
    z = F.pad(zero_insert(x, 2), (1, 2, 1, 2))
    assert z.shape[-2:] == (34, 34)
    torch.testing.assert_close(F.conv2d(z, flip_weight(w)), ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    "kernel, stride, dilation, crop, groups",
    [
        ((2, 3, 1), (1, 2, 3), (2, 1, 1), ((0, 0), (1, 2), (0, 0)), 1),
        ((3,), (4,), (2,), ((5, 3),), 2),  # crops beyond d*(k-1): the padding turns into a crop
        ((1, 1), (3, 2), (1, 1), ((0, 2), (1, 0)), 3),  # stride > kernel
        ((5, 2), (2, 2), (3, 1), ((-2, 4), (0, -3)), 1),  # negative crops (zero extension)
    ],
)
def test_against_the_numpy_reference(kernel, stride, dilation, crop, groups):
    rank = len(kernel)
    x = torch.randn(2, 2 * groups, *([4, 3, 5][:rank]), dtype=torch.float64)
    w = torch.randn(2 * groups, 2, *kernel, dtype=torch.float64)
    b = torch.randn(2 * groups, dtype=torch.float64)
    y = tconv.conv_transpose(
        x, w, b, stride, crop, groups=groups, dilation=dilation, method="dilate"
    )
    ref = conv_transpose_numpy(x.numpy(), w.numpy(), b.numpy(), stride, crop, dilation, groups)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.numpy(), ref, rtol=0, atol=1e-10)
