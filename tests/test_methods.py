"""Every method equals torch.nn.functional.conv_transpose{1,2,3}d and an independent numpy
reference: outputs and gradients, over the whole parameter space (hypothesis)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import tconv
from reference import _check_reference, conv_transpose_numpy
from strategies import cases
from tconv.methods import EXACT_METHODS
from tconv.shapes import Geometry

CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
ALL_METHODS = (*EXACT_METHODS, "auto")
ALL_PADDINGS = ("torch", "pairs", "named")
# gradcheck is slow (many finite differences) and the float64 gradient test above already
# compares every gradient with torch's: a few examples by default, many in the thorough profile
GRADCHECK_EXAMPLES = 8 if os.environ.get("TCONV_HYPOTHESIS", "default") == "default" else 300


def make(case, dtype=torch.float64, noncontiguous=False):
    n = case.batch or 1
    shape = (n, case.cin, *case.size)
    if noncontiguous:  # a strided view: every other element of a bigger tensor
        x = torch.randn(*shape, 2, dtype=dtype)[..., 0]
        assert x.numel() <= 1 or not x.is_contiguous()
    else:
        x = torch.randn(*shape, dtype=dtype)
    if case.batch is None:
        x = x[0]
    w = torch.randn(case.cin, case.cout // case.groups, *case.kernel, dtype=dtype)
    b = torch.randn(case.cout, dtype=dtype) if case.bias else None
    return x, w, b


def crop_of(case):
    return Geometry.create(
        case.kernel,
        case.stride,
        case.padding,
        case.output_padding,
        case.dilation,
        case.groups,
        rank=case.rank,
    ).crop


def torch_ref(case, x, w, b):
    """torch's own call where its arguments can say the padding; otherwise torch's full output
    (padding 0), cropped or zero-extended with F.pad, plus bias."""
    if case.torch_style:
        return CONV_T[case.rank](
            x, w, b, case.stride, case.padding, case.output_padding, case.groups, case.dilation
        )
    full = CONV_T[case.rank](x, w, None, case.stride, 0, 0, case.groups, case.dilation)
    pads = [-v for lo, hi in reversed(crop_of(case)) for v in (lo, hi)]
    y = F.pad(F.pad(full, [max(v, 0) for v in pads]), [min(v, 0) for v in pads])
    if b is not None:
        y = y + b.reshape((-1,) + (1,) * case.rank)
    return y


def numpy_ref(case, x, w, b):
    xb = x if case.batch is not None else x.unsqueeze(0)
    out = conv_transpose_numpy(
        xb.detach().double().numpy(),
        w.detach().double().numpy(),
        None if b is None else b.detach().double().numpy(),
        case.stride,
        crop_of(case),
        case.dilation,
        case.groups,
    )
    out = torch.from_numpy(out)
    return out if case.batch is not None else out[0]


def test_reference_is_right_on_a_hand_worked_case():
    _check_reference()


@pytest.mark.parametrize("method", ALL_METHODS)
@given(case=cases(paddings=ALL_PADDINGS), noncontig=st.booleans())
def test_float64_output_and_gradients_equal_torch(method, case, noncontig):
    x, w, b = make(case, noncontiguous=noncontig)
    params = [t for t in (x, w, b) if t is not None]
    for t in params:
        t.requires_grad_(True)
    y = tconv.conv_transpose(x, w, b, **case.kwargs, method=method)
    ref = torch_ref(case, x, w, b)
    assert y.shape == ref.shape
    assert y.dtype == torch.float64
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    torch.testing.assert_close(y.detach(), numpy_ref(case, x, w, b), rtol=0, atol=1e-10)
    gy = torch.randn_like(ref)
    got = torch.autograd.grad(y, params, gy)
    want = torch.autograd.grad(ref, params, gy)
    for g1, g2 in zip(got, want):
        torch.testing.assert_close(g1, g2, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ALL_METHODS)
@given(case=cases(paddings=ALL_PADDINGS))
def test_float32_relative_error_within_1e_4(method, case):
    x, w, b = make(case, dtype=torch.float32)
    y = tconv.conv_transpose(x, w, b, **case.kwargs, method=method)
    ref = numpy_ref(case, x, w, b)
    scale = max(1.0, ref.abs().max().item())
    err = (y.double() - ref).abs().max().item() if y.numel() else 0.0
    assert err <= 1e-4 * scale


@pytest.mark.parametrize("method", ALL_METHODS)
@given(case=cases(ranks=(1, 2), paddings=ALL_PADDINGS))
def test_bfloat16_within_documented_bound(method, case):
    """bfloat16 has an 8-bit mantissa: we require |err| <= 2**-6 * (sum of |terms|) bound,
    i.e. relative error 1.6e-2 against the float64 result on the same bf16 inputs."""
    x, w, b = make(case, dtype=torch.bfloat16)
    y = tconv.conv_transpose(x, w, b, **case.kwargs, method=method)
    assert y.dtype == torch.bfloat16
    ref = numpy_ref(case, x, w, b)
    absref = numpy_ref(case, x.abs(), w.abs(), None if b is None else b.abs())
    err = (y.double() - ref).abs()
    assert (err <= 2.0**-6 * (absref + 1e-3)).all()


@pytest.mark.parametrize("method", ALL_METHODS)
@given(case=cases(paddings=ALL_PADDINGS))
def test_adjoint_identity_against_torch_ordinary_convolution(method, case):
    """<conv(z), x> = <z, conv_transpose(x)> for the ordinary convolution with the same
    weight, on the transposed convolution's output size."""
    x, w, _ = make(case)
    y = tconv.conv_transpose(x, w, None, **case.kwargs, method=method)
    xb = x if case.batch is not None else x.unsqueeze(0)
    yb = y if case.batch is not None else y.unsqueeze(0)
    z = torch.randn_like(yb)
    # the ordinary convolution of z (padded by the crops) with the same weight
    pads = [v for lo, hi in reversed(crop_of(case)) for v in (lo, hi)]
    zp = F.pad(F.pad(z, [max(v, 0) for v in pads]), [min(v, 0) for v in pads])  # < 0 crops
    conv = CONV[case.rank](zp, w, None, case.stride, 0, case.dilation, case.groups)
    conv = conv[(slice(None), slice(None), *(slice(0, i) for i in case.size))]
    lhs = (conv * xb).sum()
    rhs = (z * yb).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", ALL_METHODS)
@settings(max_examples=GRADCHECK_EXAMPLES)
@given(
    case=cases(
        ranks=(1, 2), paddings=ALL_PADDINGS, max_kernel=3, max_stride=3, max_dilation=2, max_size=3
    )
)
def test_gradcheck(method, case):
    x, w, b = make(case)
    params = tuple(t.requires_grad_(True) for t in (x, w, b) if t is not None)

    def fn(*args):
        xx, ww = args[0], args[1]
        bb = args[2] if len(args) > 2 else None
        return tconv.conv_transpose(xx, ww, bb, **case.kwargs, method=method)

    assert torch.autograd.gradcheck(fn, params)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_channels_last_input(method):
    x = torch.randn(2, 4, 5, 7, dtype=torch.float64).to(memory_format=torch.channels_last)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    y = tconv.conv_transpose(x, w, stride=2, padding=1, output_padding=1, method=method)
    ref = F.conv_transpose2d(x.contiguous(), w, stride=2, padding=1, output_padding=1)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_channels_last_3d_and_awkward_sizes(method):
    x = torch.randn(1, 2, 3, 4, 5, dtype=torch.float64).to(memory_format=torch.channels_last_3d)
    w = torch.randn(2, 2, 2, 3, 4, dtype=torch.float64)
    y = tconv.conv_transpose(x, w, stride=(1, 2, 3), dilation=(2, 1, 1), method=method)
    ref = F.conv_transpose3d(x.contiguous(), w, stride=(1, 2, 3), dilation=(2, 1, 1))
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_batch_of_zero_samples(method):
    x = torch.randn(0, 2, 5, dtype=torch.float64)
    w = torch.randn(2, 3, 3, dtype=torch.float64)
    y = tconv.conv_transpose(x, w, stride=2, method=method)
    assert y.shape == (0, 3, 11)


def test_every_method_is_tested():
    assert set(ALL_METHODS) == set(tconv.METHODS)


def test_numpy_reference_agrees_with_torch_on_a_fixed_case():
    """The two references are independent; they must agree with each other too."""
    x = torch.randn(2, 4, 5, 6, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 2, dtype=torch.float64)
    b = torch.randn(6, dtype=torch.float64)
    ref = F.conv_transpose2d(
        x, w, b, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2)
    )
    out = conv_transpose_numpy(
        x.numpy(), w.numpy(), b.numpy(), (2, 3), ((1, 0), (0, -2)), (1, 2), 2
    )
    np.testing.assert_allclose(out, ref.numpy(), atol=1e-12)
