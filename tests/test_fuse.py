"""Resize then convolution as one transposed convolution: ResizeConv1d/2d/3d, resize_conv,
shapes.resize_conv_geometry, convert.fuse_resize and convert.to_tconv.

The reference is the unfused pair computed by torch itself: ``F.interpolate`` then
``F.conv{1,2,3}d`` (outputs and gradients with respect to the input, weight and bias).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import tconv
from tconv.convert import FusedUpsample, fuse_resize, resize_pairs, to_tconv
from tconv.methods.subpixel import subpixel_weight
from tconv.modules import (
    ResizeConv1d,
    ResizeConv2d,
    ResizeConv3d,
    _ResizeConvNd,
    resize_conv,
    resize_conv_phase_weight,
    resize_conv_weight,
)
from tconv.shapes import ShapeError, ShapeRuntimeError, resize_conv_geometry

ROOT = Path(__file__).resolve().parents[1]
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@pytest.fixture(autouse=True)
def _auto_by_rule():
    """``method="auto"`` (fuse_resize's default) decides by its rule here: measuring every
    candidate on every new signature would take minutes and prove nothing about exactness."""
    tconv.set_autotune(False)
    yield
    tconv.set_autotune(True)


def reference(x, w, b, scale, padding, dilation, groups, mode):
    rank = w.dim() - 2
    sf = tuple(float(s) for s in scale)
    extra = {} if mode.startswith("nearest") else {"align_corners": False}
    up = F.interpolate(x, scale_factor=sf, mode=mode, **extra)
    if isinstance(padding, tuple) and isinstance(padding[0], tuple):  # (begin, end) pairs
        up = F.pad(up, [p for pair in reversed(padding) for p in pair])
        padding = 0
    return CONV[rank](up, w, b, 1, padding, dilation, groups)


def check_against_reference(x, w, b, scale, padding, dilation, groups, mode, method="native"):
    x = x.requires_grad_()
    w = w.requires_grad_()
    b = b.requires_grad_() if b is not None else None
    ref = reference(x, w, b, scale, padding, dilation, groups, mode)
    got = resize_conv(x, w, b, scale, padding, dilation, groups, mode, method)
    assert got.shape == ref.shape
    tol = 1e-10 if x.dtype == torch.float64 else 1e-4
    assert torch.allclose(got, ref, atol=tol * max(1.0, float(ref.detach().abs().max())), rtol=0)
    g = torch.randn_like(ref)
    inputs = [t for t in (x, w, b) if t is not None]
    expected = torch.autograd.grad(ref, inputs, g)
    actual = torch.autograd.grad(got, inputs, g)
    for e, a in zip(expected, actual, strict=True):
        assert torch.allclose(a, e, atol=tol * max(1.0, float(e.abs().max())), rtol=0)


@st.composite
def nearest_cases(draw):
    rank = draw(st.integers(1, 3))
    small = rank == 3
    scale = tuple(draw(st.integers(1, 2 if small else 4)) for _ in range(rank))
    kernel = tuple(draw(st.integers(1, 3 if small else 5)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(rank))
    groups = draw(st.sampled_from([1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    size = tuple(draw(st.integers(1, 3 if small else 6)) for _ in range(rank))
    spans = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
    kind = draw(st.sampled_from(["int", "pairs", "same", "valid"]))
    if kind == "int":
        padding = tuple(draw(st.integers(0, s + 2)) for s in spans)
    elif kind == "pairs":
        padding = tuple((draw(st.integers(0, s + 2)), draw(st.integers(0, s + 2))) for s in spans)
    else:
        padding = kind
    pads = tconv.shapes.conv_padding(padding, kernel, dilation, rank)
    for n, r, s, (pb, pe) in zip(size, scale, spans, pads, strict=True):
        if n * r + pb + pe - s < 1:  # the convolution needs one output
            return draw(nearest_cases())
    mode = draw(st.sampled_from(["nearest", "nearest-exact"]))
    bias = draw(st.booleans())
    return rank, scale, kernel, dilation, groups, c_in, c_out, size, padding, mode, bias


@given(nearest_cases())
def test_nearest_then_conv_equals_one_transposed_conv(case):
    _, scale, kernel, dilation, groups, c_in, c_out, size, padding, mode, bias = case
    x = torch.randn(2, c_in, *size, dtype=torch.float64)
    w = torch.randn(c_out, c_in // groups, *kernel, dtype=torch.float64)
    b = torch.randn(c_out, dtype=torch.float64) if bias else None
    check_against_reference(x, w, b, scale, padding, dilation, groups, mode)
    check_against_reference(x, w, b, scale, padding, dilation, groups, mode, "subpixel")


@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 2),
    st.integers(1, 2),
    st.integers(3, 6),
)
def test_linear_x2_then_unpadded_conv_equals_one_transposed_conv(rank, k, d, groups, n):
    k = min(k, 3) if rank == 3 else k
    n = max(min(n, 4) if rank == 3 else n, (d * (k - 1) + 2) // 2)  # one output at least
    x = torch.randn(1, 2 * groups, *(n,) * rank, dtype=torch.float64)
    w = torch.randn(groups * 2, 2, *(k,) * rank, dtype=torch.float64)
    b = torch.randn(groups * 2, dtype=torch.float64)
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[rank]
    check_against_reference(x, w, b, (2,) * rank, 0, d, groups, mode)
    check_against_reference(x, w, b, (2,) * rank, 0, d, groups, mode, "subpixel")


@pytest.mark.parametrize("method", tconv.METHODS)
def test_every_method_computes_it(method):
    x = torch.randn(2, 4, 5, 6, dtype=torch.float64)
    w = torch.randn(6, 2, 3, 3, dtype=torch.float64)
    b = torch.randn(6, dtype=torch.float64)
    check_against_reference(x, w, b, (2, 3), (1, 2), (1, 2), 2, "nearest", method)


@pytest.mark.parametrize("method", ["native", "subpixel"])
def test_float32_gradients_within_1e5(method):
    """The issue's tolerance: training through the fusion gives the pair's gradients, by the
    transposed convolution and by the phase path."""
    torch.manual_seed(1)
    conv = nn.Conv2d(64, 64, 3, padding=1)
    pair = nn.Sequential(nn.Upsample(scale_factor=2), conv)
    fused = ResizeConv2d.from_conv(conv, 2, method=method)
    x = torch.randn(2, 64, 12, 12, requires_grad=True)
    g = torch.randn(2, 64, 24, 24)
    expected = torch.autograd.grad((pair(x) * g).sum(), (x, conv.weight, conv.bias))
    got = torch.autograd.grad((fused(x) * g).sum(), (x, conv.weight, conv.bias))
    for e, a in zip(expected, got, strict=True):
        assert float((e - a).abs().max()) <= 1e-5 * float(e.abs().max())


def test_issue_example_taps():
    """nearest x2 + 3-tap conv with padding 1: kernel 4, stride 2, padding 1, taps
    [w2, w1 + w2, w0 + w1, w0] (the issue's statement, written out by hand)."""
    w0, w1, w2 = 0.5, -2.0, 3.0
    weight = torch.tensor([[[w0, w1, w2]]])
    assert resize_conv_weight(weight, 2).flatten().tolist() == [w2, w1 + w2, w0 + w1, w0]
    geom = resize_conv_geometry(3, 2, padding=1)
    assert (geom.kernel_size, geom.stride, geom.crop) == ((4,), (2,), ((1, 1),))


def test_constant_input_gives_no_checkerboard():
    """Every output phase of the tied kernel sums to the same total (sum of the conv's taps),
    so a constant input gives a constant interior: no checkerboard."""
    w = torch.randn(3, 3, 3, 3)
    kernel = resize_conv_weight(w, 2)
    phases = [kernel[..., i::2, j::2].sum(dim=(-1, -2)) for i in range(2) for j in range(2)]
    for p in phases[1:]:
        assert torch.allclose(p, phases[0], atol=1e-5)
    m = ResizeConv2d(3, 3, 3, padding=1, method="native")
    y = m(torch.ones(1, 3, 8, 8))[..., 1:-1, 1:-1]
    assert torch.allclose(y, y[..., :1, :1].expand_as(y), atol=1e-5)


# ---------------------------------------------------------------------------------------------
# the modules


@pytest.mark.parametrize(
    ("cls", "conv", "shape"),
    [
        (ResizeConv1d, nn.Conv1d, (3, 7)),
        (ResizeConv2d, nn.Conv2d, (3, 5, 6)),
        (ResizeConv3d, nn.Conv3d, (3, 3, 4, 2)),
    ],
)
def test_module_keeps_the_conv_parameters_and_state_dict(cls, conv, shape):
    torch.manual_seed(0)
    ref_conv = conv(3, 4, 3, padding=1)
    torch.manual_seed(0)
    m = cls(3, 4, 3, scale_factor=2, padding=1, method="native")
    assert m.state_dict().keys() == ref_conv.state_dict().keys() == {"weight", "bias"}
    assert torch.equal(m.weight, ref_conv.weight)  # initialised as torch's conv
    x = torch.randn(*shape)  # unbatched
    expected = ref_conv(F.interpolate(x[None], scale_factor=2.0, mode="nearest"))[0]
    assert torch.allclose(m(x), expected, atol=1e-5)
    assert torch.allclose(m.unfused(x), expected, atol=1e-6)
    shared = cls.from_conv(ref_conv, 2)
    assert shared.weight is ref_conv.weight and shared.bias is ref_conv.bias
    assert shared.to_conv().weight is ref_conv.weight


@pytest.mark.parametrize("method", ["native", "subpixel"])
def test_kept_kernel_follows_the_weight(method):
    m = ResizeConv2d(2, 2, 3, padding=1, method=method).eval()
    x = torch.randn(1, 2, 4, 4)
    with torch.no_grad():
        first = m(x)
        m.weight.mul_(2)  # an optimizer step changes the weight in place
        second = m(x)
        m.weight.data = m.weight.data / 2  # a new storage
        third = m(x)
    assert torch.allclose(second - m.bias[:, None, None], 2 * (first - m.bias[:, None, None]))
    assert torch.allclose(third, first, atol=1e-6)
    assert torch.allclose(m(x), m.unfused(x), atol=1e-5)  # with autograd: derived afresh


@pytest.mark.parametrize("method", ["native", "subpixel", "auto"])
def test_kept_kernel_sees_writes_that_no_counter_records(method):
    """Writes through ``.data`` keep storage, pointer and version counter (issue 29): the
    kernel kept in inference must still follow them, and dtype changes too."""
    m = ResizeConv2d(3, 2, 3, padding=1, method=method).eval()
    x = torch.randn(1, 3, 5, 5)
    with torch.no_grad():
        m(x)
        m.weight.data.mul_(0.5)  # an EMA update, weight clipping: no version bump
        assert torch.allclose(m(x), m.unfused(x), atol=1e-5)
        torch.nn.utils.vector_to_parameters(
            torch.randn(sum(p.numel() for p in m.parameters())), m.parameters()
        )
        assert torch.allclose(m(x), m.unfused(x), atol=1e-5)
        m.double()
        assert torch.allclose(m(x.double()), m.unfused(x.double()), atol=1e-10)


@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 2),
    st.sampled_from([0, 1, "same", ((2, 0),)]),
    st.booleans(),
)
def test_phase_weight_is_the_subpixel_rewrite_of_the_transposed_kernel(
    k, r, d, groups, padding, linear
):
    """The phase kernel, derived straight from the convolution's weight, is exactly tconv's
    sub-pixel rewrite of the transposed kernel (an independent route: two functions and a
    gather instead of one matrix product), padding and crop included."""
    mode = "linear" if linear else "nearest"
    if linear and (r != 2 or padding != 0):
        return
    w = torch.randn(2 * groups, 3, k, dtype=torch.float64)
    geom = resize_conv_geometry(k, r, padding, d, groups, mode, 1)
    want = subpixel_weight(resize_conv_weight(w, r, d, groups, mode), geom)
    got = resize_conv_phase_weight(w, r, padding, d, mode)
    assert got[1:] == want[1:]
    assert torch.equal(got[0], want[0])


def test_phase_path_against_the_pair_in_float32_module_and_unbatched():
    torch.manual_seed(2)
    for cls, rank in ((ResizeConv1d, 1), (ResizeConv2d, 2), (ResizeConv3d, 3)):
        m = cls(4, 6, 3, 2, padding=1, groups=2, method="subpixel")
        x = torch.randn(4, *(5,) * rank, requires_grad=True)  # unbatched
        assert m.execution(x) == "phase"
        y, ref = m(x), m.unfused(x)
        assert y.shape == ref.shape
        assert torch.allclose(y, ref, atol=1e-5)
        g = torch.randn_like(ref)
        got = torch.autograd.grad(y, (x, m.weight, m.bias), g)
        expected = torch.autograd.grad(ref, (x, m.weight, m.bias), g)
        for e, a in zip(expected, got, strict=True):
            assert float((e - a).abs().max()) <= 1e-5 * float(e.abs().max())


def test_auto_measures_once_per_signature_and_grad_mode(monkeypatch):
    """With autotuning on, ``auto`` times the executions once per signature (not per call),
    separately for inference and training, and whatever it picks equals the pair."""
    tconv.set_autotune(True)
    monkeypatch.setattr(tconv.modules, "_RESIZE_CHOICES", {})
    calls = []
    measure = ResizeConv2d._measure

    def counted(self, input, geom, grad):
        calls.append(grad)
        return measure(self, input, geom, grad)

    monkeypatch.setattr(ResizeConv2d, "_measure", counted)
    m = ResizeConv2d(8, 8, 3, padding=1)
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        for _ in range(3):
            y = m(x)
    assert torch.allclose(y, m.unfused(x), atol=1e-5)
    for _ in range(2):
        m(x).sum().backward()
    assert calls == [False, True]
    assert m.execution(x) in tconv.modules.RESIZE_EXECUTIONS
    assert len(tconv.modules._RESIZE_CHOICES) == 2


def test_auto_without_measuring_runs_the_phase_path_and_empty_outputs_the_pair():
    m = ResizeConv2d(2, 2, 3)  # autotuning off (fixture): the rule
    assert m.execution(torch.randn(1, 2, 4, 4)) == "phase"
    # a 1x1 input resized x2 then a valid 3x3: no output; the pair says what torch says
    assert m.execution(torch.randn(1, 2, 1, 1)) == "unfused"


def test_training_updates_the_original_conv():
    conv = nn.Conv2d(2, 2, 3, padding=1)
    fused = ResizeConv2d.from_conv(conv, 2, method="native")
    opt = torch.optim.SGD(conv.parameters(), lr=0.1)
    before = conv.weight.detach().clone()
    fused(torch.randn(1, 2, 4, 4)).sum().backward()
    opt.step()
    assert not torch.equal(conv.weight, before)


def test_errors():
    with pytest.raises(
        ShapeError, match=r"padding=1 is invalid for mode='bilinear'.*only padding=0"
    ):
        resize_conv_geometry(3, 2, padding=1, mode="bilinear", rank=2)
    with pytest.raises(ShapeError, match=r"scale=3 is invalid for mode='linear'.*only at scale 2"):
        resize_conv_geometry(3, 3, mode="linear")
    with pytest.raises(
        ShapeRuntimeError, match=r"scale=\(0,\) is invalid: each scale must be >= 1"
    ):
        resize_conv_geometry(3, 0)
    with pytest.raises(ValueError, match=r"mode='bicubic' is invalid: valid resize modes"):
        resize_conv_geometry(3, 2, mode="bicubic")
    with pytest.raises(TypeError, match=r"scale=1.5 is invalid"):
        resize_conv_geometry(3, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match=r"stride=\(2, 2\) is invalid for a resize-convolution"):
        ResizeConv2d.from_conv(nn.Conv2d(2, 2, 3, stride=2))
    with pytest.raises(ShapeError, match=r"padding_mode='reflect' is invalid"):
        ResizeConv2d.from_conv(nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(ShapeError, match=r"expected a 2-D convolution, got a 1-D one"):
        ResizeConv2d.from_conv(nn.Conv1d(2, 2, 3))
    with pytest.raises(TypeError, match=r"expected a torch.nn.Conv1d/2d/3d, got Linear"):
        ResizeConv2d.from_conv(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="method"):
        ResizeConv2d(2, 2, 3, method="fastest")  # type: ignore[arg-type]
    m = ResizeConv2d(4, 2, 3, method="native")
    with pytest.raises(ShapeRuntimeError, match=r"expected 4 input channels, got 3") as err:
        m(torch.randn(1, 3, 5, 5))
    assert isinstance(err.value, RuntimeError)  # torch's conv raises RuntimeError here
    with pytest.raises(ValueError, match="method"):
        to_tconv(nn.ConvTranspose2d(2, 2, 3), method="fastest")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# fuse_resize


def _grads(model, x, g):
    for p in model.parameters():
        p.grad = None
    (model(x) * g).sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_fuse_resize_sequential_loads_the_checkpoint_and_trains_alike():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.Upsample(scale_factor=2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.Sequential(nn.Upsample(scale_factor=(2, 3), mode="nearest-exact"), nn.Conv2d(8, 2, 5)),
    )
    x = torch.randn(2, 3, 6, 5)
    fused, report = fuse_resize(net, example=x, report=True, method="native")
    assert [type(m).__name__ for m in fused] == [
        "Conv2d",
        "Identity",
        "ResizeConv2d",
        "ReLU",
        "Sequential",
    ]
    assert type(fused[4][1]).__name__ == "ResizeConv2d"
    assert len(report.fused) == 2 and not report.skipped
    assert fused.state_dict().keys() == net.state_dict().keys()
    fresh = fuse_resize(net, method="native")
    assert str(fresh.load_state_dict(net.state_dict())) == "<All keys matched successfully>"
    net.load_state_dict(fused.state_dict())  # and back
    assert torch.allclose(fused(x), net(x), atol=1e-5)
    g = torch.randn_like(net(x))
    expected, got = _grads(net, x, g), _grads(fused, x, g)
    assert expected.keys() == got.keys()
    for k in expected:
        assert float((expected[k] - got[k]).abs().max()) <= 1e-5 * float(expected[k].abs().max())
    assert fused is not net and isinstance(net[1], nn.Upsample)  # the input is left alone
    same = fuse_resize(net, inplace=True)
    assert same is net and isinstance(net[1], nn.Identity)


def test_fuse_resize_keeps_what_it_cannot_prove_and_says_why():
    net = nn.Sequential(
        nn.Upsample(size=(8, 8)),
        nn.Conv2d(2, 2, 3, padding=1),
        nn.Upsample(scale_factor=1.5),
        nn.Conv2d(2, 2, 3, padding=1),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
        nn.Conv2d(2, 2, 3, padding=1),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Conv2d(2, 2, 3, padding=1),
        nn.Upsample(scale_factor=2),
        nn.Conv2d(2, 2, 3, stride=2),
        nn.Upsample(scale_factor=2),
        nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"),
        nn.Upsample(scale_factor=2, mode="bicubic"),
        nn.Conv2d(2, 2, 3, padding=1),
        nn.Upsample(scale_factor=2, mode="bilinear"),
        nn.Conv2d(2, 2, 3),  # padding 0: fuses
    )
    report = resize_pairs(net)
    reasons = [p.detail for p in report.skipped]
    assert len(report.fused) == 1 and report.fused[0].where == "14, 15"
    expected = [
        "size=(8, 8): a fixed output size",
        "scale_factor=1.5 is not an integer",
        "align_corners=True mixes pixels",
        "a linear resize clamps at the edge while the convolution pads with zeros",
        "stride=(2, 2)",
        "padding_mode='circular'",
        "mode='bicubic' does not fuse",
    ]
    for reason, text in zip(reasons, expected, strict=True):
        assert text in reason
    assert "1 resize-convolution pair(s) fused, 7 kept" in report.format()
    x = torch.randn(1, 2, 4, 4)
    fused = fuse_resize(net, example=x)
    assert torch.allclose(fused(x), net(x), atol=1e-5)


class InterpolateInForward(nn.Module):
    """Resize inside forward: what torch.fx tracing finds."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(3, 4, 3, padding=1)
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.head = nn.Conv1d(4, 4, 3, padding=1)
        self.unused = nn.Linear(2, 2)  # not called: tracing must not drop it

    def forward(self, x):
        x = self.conv_in(x)
        x = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        y = x.mean(-1)
        y = self.head(F.interpolate(y, scale_factor=3))
        return x.sum() + y.sum() * 0 + F.interpolate(x, scale_factor=2).mean()


class Wrapper(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = InterpolateInForward()

    def forward(self, x):
        return self.body(x)


def test_fuse_resize_traces_interpolate_in_forward():
    class Small(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.head = nn.Conv1d(4, 4, 3, padding=1)

        def forward(self, x):
            x = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
            return self.head(F.interpolate(x.mean(-1), scale_factor=3)), x

    net = nn.Sequential(nn.Conv2d(3, 4, 1), Small())
    x = torch.randn(2, 3, 5, 4)
    fused, report = fuse_resize(net, example=x, report=True)
    assert len(report.fused) == 2, report.format()
    assert isinstance(fused[1], torch.fx.GraphModule)
    assert type(fused[1].conv).__name__ == "ResizeConv2d"
    assert type(fused[1].head).__name__ == "ResizeConv1d"
    assert fused.state_dict().keys() == net.state_dict().keys()
    for a, b in zip(fused(x), net(x), strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_traced_module_that_fx_would_shrink_is_kept():
    x = torch.randn(1, 3, 4, 4)
    report = resize_pairs(Wrapper())
    kept = [p for p in report.pairs if "body: interpolate -> conv" in p.where]
    assert kept and not kept[0].fused and "state_dict would change" in kept[0].detail
    fused = fuse_resize(Wrapper(), example=x)
    assert not isinstance(fused.body, torch.fx.GraphModule)


def test_untraceable_and_training_dependent_forwards_are_kept():
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            if x.shape[0] > 1:  # torch.fx cannot trace this
                x = x * 2
            return self.conv(F.interpolate(x, scale_factor=2))

    class Trainy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            x = F.dropout(x, 0.5, self.training)
            return self.conv(F.interpolate(x, scale_factor=2))

    for module, reason in ((Branchy(), "torch.fx cannot trace it"), (Trainy(), "self.training")):
        report = resize_pairs(module)
        assert not report.fused and reason in report.skipped[0].detail
        assert fuse_resize(module) is not module


def test_example_mismatch_names_the_layer(monkeypatch):
    net = nn.Sequential(
        nn.Conv2d(2, 2, 1), nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3, padding=1)
    )
    original = _ResizeConvNd.forward
    monkeypatch.setattr(_ResizeConvNd, "forward", lambda self, x: original(self, x) + 1e-2)
    with pytest.raises(
        ValueError, match=r"fuse_resize: 2 differs from the original on the example"
    ):
        fuse_resize(net, example=torch.randn(1, 2, 4, 4))
    assert isinstance(net[1], nn.Upsample)  # nothing changed


# ---------------------------------------------------------------------------------------------
# to_tconv


def test_to_tconv_keeps_settings_parameters_and_flags():
    net = nn.Sequential(
        nn.ConvTranspose1d(2, 4, 4, stride=2, padding=1),
        nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2),
        nn.ConvTranspose3d(2, 2, 3, stride=(1, 2, 2), bias=False),
    ).double()
    net[1].eval()
    net[2].weight.requires_grad_(False)
    out = to_tconv(net, method="subpixel")
    for a, b in zip(net, out, strict=True):
        assert isinstance(
            b, tconv.nn.ConvTranspose1d | tconv.nn.ConvTranspose2d | tconv.nn.ConvTranspose3d
        )
        assert isinstance(
            b, type(a).__mro__[1] if isinstance(a, tconv.nn.ConvTranspose1d) else type(a)
        )
        for key in ("kernel_size", "stride", "padding", "output_padding", "groups", "dilation"):
            assert getattr(a, key) == getattr(b, key)
        assert b.method == "subpixel" and b.training == a.training
        assert b.weight.dtype == torch.float64
        assert b.weight.requires_grad == a.weight.requires_grad
    assert out.state_dict().keys() == net.state_dict().keys()
    for p, q in zip(net.state_dict().values(), out.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    x1, x2, x3 = (
        torch.randn(1, 2, 5).double(),
        torch.randn(1, 4, 4, 5).double(),
        torch.randn(1, 2, 2, 3, 3).double(),
    )
    for layer, new, x in zip(net, out, (x1, x2, x3), strict=True):
        assert torch.allclose(new(x), layer(x), atol=1e-10)
        assert torch.allclose(new(x, output_size=layer(x).shape[2:]), layer(x), atol=1e-10)
    layer = nn.ConvTranspose2d(2, 2, 3)
    inplace = to_tconv(layer, inplace=True)
    assert isinstance(inplace, tconv.nn.ConvTranspose2d) and inplace.weight is layer.weight
    again = to_tconv(inplace, method="native")
    assert again.method == "native"


# ---------------------------------------------------------------------------------------------
# real models (diffusers; small configurations of the published architectures)


def test_diffusers_vae_decoder_and_unet():
    import diffusers  # the 'architectures' extra

    torch.manual_seed(0)
    vae = diffusers.AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(32, 32, 32, 32),
        layers_per_block=1,
        latent_channels=4,
    ).eval()
    z = torch.randn(1, 4, 4, 4)
    dec, report = fuse_resize(vae.decoder, example=z, report=True)
    assert len(report.fused) == 3 and not report.skipped
    assert all(p.how == "adapter: Upsample2D" for p in report.fused)
    assert str(dec.load_state_dict(vae.decoder.state_dict())) == "<All keys matched successfully>"
    with torch.no_grad():
        a, b = vae.decoder(z), dec(z)
    assert float((a - b).abs().max()) <= 1e-4 * float(a.abs().max())
    up = dec.up_blocks[0].upsamplers[0]
    assert isinstance(up, FusedUpsample)
    x = torch.randn(1, 32, 4, 5)
    original = vae.decoder.up_blocks[0].upsamplers[0]
    with torch.no_grad():
        for size in (None, (8, 10), (9, 11)):  # the output_size argument, twice or not
            assert torch.allclose(up(x, size), original(x, size), atol=1e-5)
    unet = diffusers.UNet2DModel(
        sample_size=8,
        block_out_channels=(16, 32),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        layers_per_block=1,
        norm_num_groups=8,
    )
    args = (torch.randn(2, 3, 8, 8), torch.tensor([3, 7]))
    fused = fuse_resize(unet, example=args)
    assert isinstance(fused.up_blocks[0].upsamplers[0], FusedUpsample)
    g = torch.randn(2, 3, 8, 8)
    (unet(*args).sample * g).sum().backward()
    (fused(*args).sample * g).sum().backward()
    got = dict(fused.named_parameters())
    for name, p in unet.named_parameters():
        q = got[name]
        scale = max(float(p.grad.abs().max()), 1e-3)
        assert float((p.grad - q.grad).abs().max()) <= 1e-4 * scale, name


def test_diffusers_upsample1d_and_kept_variants():
    from diffusers.models import upsampling

    up1 = upsampling.Upsample1D(4, use_conv=True)
    fused = fuse_resize(nn.Sequential(up1), example=torch.randn(1, 4, 7))
    assert type(fused[0].conv).__name__ == "ResizeConv1d"
    kept = {
        "use_conv_transpose=True": upsampling.Upsample2D(4, use_conv_transpose=True),
        "use_conv=False": upsampling.Upsample2D(4),
        "a norm between": upsampling.Upsample2D(
            4, use_conv=True, norm_type="ln_norm", eps=1e-5, elementwise_affine=True
        ),
    }
    for reason, module in kept.items():
        report = resize_pairs(nn.Sequential(module))
        assert not report.fused and reason in report.skipped[0].detail


def _load_benchmark():
    spec = importlib.util.spec_from_file_location(
        "real_models", ROOT / "benchmarks" / "real_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_models"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_hifigan_and_pix2pix_through_both_rewrites():
    bench = _load_benchmark()
    for build in (bench.hifigan_v1, bench.pix2pix_unet):
        case = build(True, 0)
        model = case.model.eval()
        new, report = fuse_resize(to_tconv(model, "subpixel"), example=case.inputs, report=True)
        assert not report.pairs  # neither resizes: to_tconv is the rewrite that applies
        n = sum(
            isinstance(m, tconv.nn.ConvTranspose1d | tconv.nn.ConvTranspose2d)
            for m in new.modules()
        )
        assert (
            n == sum(isinstance(m, nn.modules.conv._ConvTransposeNd) for m in model.modules()) > 0
        )
        with torch.no_grad():
            assert torch.allclose(new(*case.inputs), model(*case.inputs), atol=1e-5)
        assert str(new.load_state_dict(model.state_dict())) == "<All keys matched successfully>"


def test_real_models_benchmark_quick_runs():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "real_models.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for name in ("sd-vae-decoder", "ddpm-unet", "hifigan-v1", "pix2pix-unet"):
        assert name in result.stdout
    diffs = []
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip("| ").split(" | ")]
        if len(cells) == 8 and cells[0] != "model" and not cells[0].startswith("-"):
            diffs += [float(c) for c in (cells[4], cells[6]) if c != "-"]
        elif len(cells) == 6 and " ch, " in cells[0]:
            diffs += [float(cells[1]), float(cells[3])]
            assert cells[5] == "phase / phase"  # auto's rule (no measuring in --quick)
    assert len(diffs) == 4 + 3 + 4 * 2, result.stdout
    assert max(diffs) < 1e-4


def test_inspect_lists_fusable_pairs():
    from tconv.inspection import inspect_model

    net = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(2, 2, 3, padding=1))
    report = inspect_model(net, (1, 2, 4, 4))
    text = report.format()
    assert "fusable: 0, 1" in text and "tconv.convert.fuse_resize" in text
    assert report.to_dict()["fusable"] == [p.where for p in resize_pairs(net).fused]


def test_to_tconv_leaves_reparametrised_layers():
    old = torch.nn.utils.weight_norm(nn.ConvTranspose1d(2, 2, 4, stride=2))
    new = torch.nn.utils.parametrizations.weight_norm(nn.ConvTranspose1d(2, 2, 4, stride=2))
    net = nn.Sequential(old, new, nn.ConvTranspose1d(2, 2, 4, stride=2))
    kinds = [type(m) for m in net]
    x = torch.randn(1, 2, 5)
    expected = net(x)
    out = to_tconv(net, method="native", inplace=True)  # torch cannot deepcopy weight_norm's
    assert [type(m) for m in out][:2] == kinds[:2]
    assert isinstance(out[2], tconv.nn.ConvTranspose1d)
    assert torch.allclose(out(x), expected, atol=1e-6)
