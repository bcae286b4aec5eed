"""padding_mode circular/reflect/replicate: the transposed convolution is the exact adjoint of
torch.nn.ConvNd with the same padding and padding_mode (pytorch issue 46027)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tconv
from tconv import ShapeError
from tconv.methods import EXACT_METHODS

CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
MODES = ("zeros", "circular", "reflect", "replicate")


@st.composite
def conv_settings(draw):
    rank = draw(st.sampled_from([1, 2, 3]))
    k = draw(st.integers(1, 4))
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 2]))
    n = tuple(draw(st.integers(2, {1: 9, 2: 6, 3: 4}[rank])) for _ in range(rank))
    p = draw(st.integers(0, max(0, min(n) - 1)))
    mode = draw(st.sampled_from(MODES))
    return rank, k, s, d, groups, n, p, mode


@pytest.mark.parametrize("method", [*EXACT_METHODS, "auto"])
@given(conv_settings())
def test_adjoint_of_torch_convolution_with_the_same_padding_mode(method, settings):
    rank, k, s, d, groups, n, p, mode = settings
    span = d * (k - 1) + 1
    if min(n) + 2 * p < span:
        return  # the ordinary convolution itself is invalid
    conv = CONV[rank](
        2 * groups,
        groups,
        k,
        stride=s,
        padding=p,
        dilation=d,
        groups=groups,
        bias=False,
        padding_mode=mode,
    ).double()
    x = torch.randn(2, 2 * groups, *n, dtype=torch.float64)
    cx = conv(x)
    y = torch.randn_like(cx)
    ty = tconv.conv_transpose(
        y, conv.weight, None, s, p, 0, groups, d, output_size=n, padding_mode=mode, method=method
    )
    assert ty.shape == x.shape
    torch.testing.assert_close((cx * y).sum(), (x * ty).sum(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_gradient_of_convolution_is_the_transposed_convolution(mode):
    """The vector-Jacobian product of conv with respect to its input IS the transposed
    convolution: compare tensors, not just inner products."""
    conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False, padding_mode=mode).double()
    x = torch.randn(1, 3, 7, 8, dtype=torch.float64, requires_grad=True)
    cx = conv(x)
    y = torch.randn_like(cx)
    (vjp,) = torch.autograd.grad(cx, x, y)
    ty = tconv.conv_transpose(
        y, conv.weight, stride=2, padding=1, output_size=(7, 8), padding_mode=mode
    )
    torch.testing.assert_close(ty, vjp, rtol=0, atol=1e-12)


def test_circular_on_a_hand_worked_periodic_case():
    """1-D, k3 s1 p1 circular on length 4: every input scatters to its two neighbours, wrapping
    around, so an impulse at 0 lands at positions 3, 0, 1."""
    y = torch.tensor([[[1.0, 0.0, 0.0, 0.0]]])
    w = torch.tensor([[[1.0, 2.0, 4.0]]])
    out = tconv.conv_transpose(y, w, padding=1, padding_mode="circular")
    assert out.tolist() == [[[2.0, 4.0, 0.0, 1.0]]]


def test_bias_is_added_once_everywhere():
    y = torch.zeros(1, 1, 4)
    w = torch.ones(1, 1, 3)
    out = tconv.conv_transpose(y, w, torch.tensor([0.5]), padding=1, padding_mode="reflect")
    assert out.tolist() == [[[0.5, 0.5, 0.5, 0.5]]]


def test_mode_limits_are_shape_errors():
    with pytest.raises(ShapeError, match="padding_mode='reflect' needs every crop < the output"):
        tconv.conv_transpose(
            torch.randn(1, 1, 1), torch.randn(1, 1, 5), padding=2, padding_mode="reflect"
        )
