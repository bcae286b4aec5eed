"""conv_transpose's validation: ShapeError wherever PyTorch refuses a configuration (never a raw
internal error), PyTorch's exact result wherever it accepts one, plus tconv's stricter rules
(empty output, stride/dilation < 1)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import tconv
from tconv import ShapeError
from tconv.methods import EXACT_METHODS

CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@st.composite
def any_config(draw):
    """Settings that are often invalid: every argument drawn from a range around the valid one."""
    rank = draw(st.sampled_from([1, 2, 3]))
    in_rank = draw(st.sampled_from([rank, rank + 1, rank + 2, rank + 2, rank + 2, rank + 3]))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin_w = draw(st.integers(0, 4))
    cin_x = draw(st.sampled_from([cin_w, cin_w, cin_w + 1]))
    cout_g = draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(0, 3)) for _ in range(rank))
    stride = tuple(draw(st.integers(-1, 3)) for _ in range(rank))
    padding = tuple(draw(st.integers(-1, 4)) for _ in range(rank))
    output_padding = tuple(draw(st.integers(-1, 3)) for _ in range(rank))
    dilation = tuple(draw(st.integers(-1, 3)) for _ in range(rank))
    size = tuple(draw(st.integers(0, 4)) for _ in range(in_rank))
    bias = draw(st.sampled_from([None, "ok", "wrong"]))
    return dict(
        rank=rank,
        groups=groups,
        cin_w=cin_w,
        cin_x=cin_x,
        cout_g=cout_g,
        kernel=kernel,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        size=size,
        bias=bias,
    )


def build(c):
    """x with c["size"] as its shape, the channel entry set to cin_x where the rank allows."""
    shape = list(c["size"])
    if len(shape) == c["rank"] + 2:
        shape[1] = c["cin_x"]
    elif len(shape) == c["rank"] + 1:
        shape[0] = c["cin_x"]
    x = torch.randn(*shape, dtype=torch.float64)
    w = torch.randn(c["cin_w"], c["cout_g"], *c["kernel"], dtype=torch.float64)
    cout = c["cout_g"] * c["groups"]
    b = (
        None
        if c["bias"] is None
        else torch.randn(cout + (c["bias"] == "wrong"), dtype=torch.float64)
    )
    return x, w, b


@pytest.mark.parametrize("method", [*EXACT_METHODS, "auto"])
@given(c=any_config())
def test_shape_error_exactly_where_torch_refuses(method, c):
    x, w, b = build(c)
    kw = dict(
        stride=c["stride"],
        padding=c["padding"],
        output_padding=c["output_padding"],
        groups=c["groups"],
        dilation=c["dilation"],
    )
    try:
        ref = CONV_T[c["rank"]](x, w, b, **kw)
    except Exception:  # torch refuses: so must we, with our own error type
        with pytest.raises(ShapeError):
            tconv.conv_transpose(x, w, b, **kw, method=method)
        return
    stricter = ref.numel() == 0 and x.shape[0] != 0 and x.dim() == c["rank"] + 2
    stricter |= min(c["stride"]) < 1 or min(c["dilation"]) < 1
    stricter |= any(s < 1 for s in ref.shape[-c["rank"] :])
    if stricter:
        with pytest.raises(ShapeError):
            tconv.conv_transpose(x, w, b, **kw, method=method)
        return
    got = tconv.conv_transpose(x, w, b, **kw, method=method)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-10)


def _x(*shape):
    return torch.randn(*shape)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: tconv.conv_transpose(_x(1, 2, 5), _x(2, 2, 3), stride=2, output_padding=2),
            r"output_padding=\(2,\) is invalid .* smaller than max\(stride, dilation\), so valid "
            r"values are 0\.\.1",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 2), _x(2, 2, 3), padding=3),
            r"output size \(-2,\) is invalid: every length must be >= 1, but input \(2,\)",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 3, 5), _x(3, 2, 3), groups=2),
            r"in_channels=3 \(weight.shape\[0\]\) is not divisible by groups=2",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 3, 5), _x(2, 2, 3)),
            r"input has 3 channels but the weight of shape \(2, 2, 3\) expects in_channels=2",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 1, 2, 5), _x(2, 2, 3)),
            r"input of shape \(1, 1, 2, 5\) is invalid: a 1-D transposed convolution expects 3-D",
        ),
        (lambda: tconv.conv_transpose(_x(1, 2, 0), _x(2, 2, 3)), r"spatial size \(0,\) is empty"),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 0)),
            r"kernel_size=\(0,\) is invalid: each kernel_size must be >= 1",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 3), stride=0),
            r"stride=\(0,\) is invalid: each stride must be >= 1",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 3), dilation=0),
            r"dilation=\(0,\) is invalid: each dilation must be >= 1",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 3), padding=-1),
            r"padding=-1 is invalid: an int padding must be >= 0",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 3), padding="half"),
            r"padding='half' is invalid: valid names are \('valid', 'same', 'same_lower'\)",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 3), stride=(1, 2)),
            r"stride=\(1, 2\) is invalid: expected an int or 1 int ",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 3), _x(3)),
            r"bias of shape \(3,\) is invalid: expected \(2,\)",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 3), output_size=(20,)),
            r"requested an output size of \(20,\), but valid sizes range from \(6,\) to \(6,\)",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 3), method="fft"),
            r"method='fft' is invalid: valid methods are \('native', 'matrix'",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2), stride=1),
            r"weight of shape \(2, 2\) is invalid: expected 3, 4 or 5 dimensions",
        ),
        (
            lambda: tconv.conv_transpose(_x(1, 2, 4), _x(2, 2, 3), padding_mode="mirror"),
            r"padding_mode='mirror' is invalid: valid modes are \('zeros', 'circular'",
        ),
    ],
)
def test_error_messages_name_value_rule_and_range(call, match):
    # a bad choice among named options is a plain ValueError, everything else a ShapeError
    named = any(name in match for name in ("method=", "padding_mode="))
    with pytest.raises(ValueError if named else ShapeError, match=match) as info:
        call()
    assert isinstance(info.value, ShapeError) is not named


def test_shape_error_is_a_value_error():
    assert issubclass(ShapeError, ValueError)


def test_unbatched_input_gives_unbatched_output():
    x, w = torch.randn(2, 5, 6), torch.randn(2, 3, 3, 3)
    y = tconv.conv_transpose(x, w, stride=2)
    torch.testing.assert_close(y, F.conv_transpose2d(x[None], w, stride=2)[0])


@pytest.mark.parametrize("method", [*EXACT_METHODS, "auto"])
def test_output_size_chooses_output_padding_like_torch(method):
    x, w = (
        torch.randn(1, 2, 7, 6, dtype=torch.float64),
        torch.randn(2, 3, 3, 3, dtype=torch.float64),
    )
    m = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    m.weight.data.copy_(w)
    ref = m(x, output_size=(14, 12))
    got = tconv.conv_transpose(
        x, w, m.bias, stride=2, padding=1, output_size=(1, 3, 14, 12), method=method
    )
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-10)


def test_output_size_with_output_padding_at_least_stride_when_dilation_permits():
    """PyTorch's forward(output_size=) refuses output_padding >= stride; the functional accepts
    it when dilation is larger, and so does tconv's output_size."""
    x, w = torch.randn(1, 1, 5, dtype=torch.float64), torch.randn(1, 1, 3, dtype=torch.float64)
    ref = F.conv_transpose1d(x, w, stride=1, padding=2, output_padding=2, dilation=3)
    got = tconv.conv_transpose(x, w, stride=1, padding=2, dilation=3, output_size=(ref.shape[-1],))
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)
    with pytest.raises(ValueError):
        torch.nn.ConvTranspose1d(1, 1, 3, padding=2, dilation=3).double()(
            x, output_size=(ref.shape[-1],)
        )


@pytest.mark.parametrize("method", [*EXACT_METHODS, "auto"])
def test_output_size_beyond_range_needs_allow_crop(method):
    x, w = torch.randn(1, 1, 4, dtype=torch.float64), torch.randn(1, 1, 3, dtype=torch.float64)
    b = torch.tensor([0.5], dtype=torch.float64)
    with pytest.raises(ShapeError, match=r"nearest reachable size is \(10,\).*allow_crop=True"):
        tconv.conv_transpose(x, w, b, stride=2, padding=0, output_size=(13,), method=method)
    full = F.conv_transpose1d(x, w, b, stride=2)  # length 9
    longer = tconv.conv_transpose(
        x, w, b, stride=2, output_size=(13,), allow_crop=True, method=method
    )
    torch.testing.assert_close(longer[..., :9], full, rtol=0, atol=1e-12)
    torch.testing.assert_close(longer[..., 9:], torch.full((1, 1, 4), 0.5, dtype=torch.float64))
    shorter = tconv.conv_transpose(
        x, w, b, stride=2, output_size=(5,), allow_crop=True, method=method
    )
    torch.testing.assert_close(shorter, full[..., :5], rtol=0, atol=1e-12)


@pytest.mark.parametrize("weight_shape", [(0, 3, 3), (2, 0, 3)])
def test_empty_weight_is_a_shape_error_as_torch_refuses_it(weight_shape):
    with pytest.raises(RuntimeError):
        F.conv_transpose1d(torch.randn(1, weight_shape[0], 5), torch.randn(*weight_shape))
    with pytest.raises(ShapeError, match=r"must both be >= 1"):
        tconv.conv_transpose(torch.randn(1, weight_shape[0], 5), torch.randn(*weight_shape))
