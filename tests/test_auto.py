"""method="auto": every execution it may pick is exact (outputs and gradients, both layouts),
and its choice is measured once per signature, cached, and replaced by a fixed rule when
measuring is off or the call is traced."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import tconv
from strategies import cases
from tconv.methods import auto
from tconv.shapes import Geometry

CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache and measuring on, and leaves it so."""
    auto.clear_cache()
    auto.set_autotune(True)
    yield
    auto.clear_cache()
    auto.set_autotune(True)


def torch_full_cropped(x, w, geom):
    full = CONV_T[geom.rank](x, w, None, geom.stride, 0, 0, geom.groups, geom.dilation)
    cut = tuple(slice(lo, full.shape[2 + j] - hi) for j, (lo, hi) in enumerate(geom.crop))
    return full[(slice(None), slice(None), *cut)]


@pytest.mark.parametrize("execution", auto.EXECUTIONS)
@settings(max_examples=15, deadline=None)
@given(case=cases(ranks=(1, 2, 3)), channels_last=st.booleans(), bias=st.booleans())
def test_every_execution_equals_torch_with_gradients(execution, case, channels_last, bias):
    geom = Geometry.create(
        case.kernel, case.stride, case.padding, case.output_padding, case.dilation,
        case.groups, rank=case.rank,
    )  # fmt: skip
    geom = geom.with_crop(tuple((max(lo, 0), max(hi, 0)) for lo, hi in geom.crop))
    x = torch.randn(2, case.cin, *case.size, dtype=torch.float64)
    if channels_last and case.rank > 1:
        fmt = torch.channels_last if case.rank == 2 else torch.channels_last_3d
        x = x.contiguous(memory_format=fmt)
    w = torch.randn(case.cin, case.cout // case.groups, *case.kernel, dtype=torch.float64)
    b = torch.randn(case.cout, dtype=torch.float64) if bias else None
    if 0 in geom.cropped_size(case.size):
        return  # functional.apply never hands a method an empty output
    leaves = [t.requires_grad_() for t in (x, w, b) if t is not None]
    y = auto.run(execution, x, w, b, geom)
    ref = torch_full_cropped(x, w, geom)
    if b is not None:
        ref = ref + b.reshape((-1,) + (1,) * case.rank)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-10)
    if "/" in execution and case.rank > 1:  # a layout conversion hands back the layout
        fmt = torch.contiguous_format
        if auto._layout(x) == "channels_last":  # (a tensor can be both: then contiguous)
            fmt = torch.channels_last if case.rank == 2 else torch.channels_last_3d
        assert y.is_contiguous(memory_format=fmt)
    gy = torch.randn_like(ref)
    for got, want in zip(
        torch.autograd.grad(y, leaves, gy), torch.autograd.grad(ref, leaves, gy), strict=True
    ):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-10)


def test_auto_measures_once_per_signature_and_caches(monkeypatch):
    calls = []
    real = auto._measure

    def counting(*args):
        calls.append(args[3])
        return real(*args)

    monkeypatch.setattr(auto, "_measure", counting)
    x, w = torch.randn(2, 4, 5, 6), torch.randn(4, 3, 4, 4)
    y1 = tconv.conv_transpose(x, w, stride=2, padding=1, method="auto")
    y2 = tconv.conv_transpose(x, w, stride=2, padding=1, method="auto")
    assert len(calls) == 1
    (_key, choice), *rest = auto.cache().items()
    assert not rest and choice.measured and choice.execution in auto.EXECUTIONS
    assert set(choice.ratios) == set(auto.candidates(x, w, calls[0]))
    assert choice.ratios["native"] == 1.0
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)
    # a new signature measures again: other size, dtype, layout, and gradients recorded
    tconv.conv_transpose(x[:, :, :4], w, stride=2, padding=1, method="auto")
    tconv.conv_transpose(x.double(), w.double(), stride=2, padding=1, method="auto")
    cl = x.contiguous(memory_format=torch.channels_last)
    tconv.conv_transpose(cl, w, stride=2, padding=1, method="auto")
    tconv.conv_transpose(x, w.requires_grad_(), stride=2, padding=1, method="auto")
    assert len(calls) == 5 and len(auto.cache()) == 5
    grads = [k[7] for k in auto.cache()]
    assert grads.count(True) == 1
    auto.clear_cache()
    assert auto.cache() == {}


def _slowed(method, seconds):
    """The registry entry ``method`` with its forward made ``seconds`` slower."""

    def slow(*args):
        time.sleep(seconds)
        return method.forward(*args)

    return dataclasses.replace(method, forward=slow)


@pytest.fixture
def one_thread():
    """On a shared machine a 2-thread region can stall for a whole time slice: use one."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_auto_picks_the_measured_winner(monkeypatch, one_thread):
    x, w = torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3)
    geom = Geometry.create((3, 3), stride=2, padding=1)
    monkeypatch.setitem(auto._CANDIDATES, "native", _slowed(auto._CANDIDATES["native"], 0.03))
    assert auto.choose(x, w, None, geom).startswith("subpixel")
    auto.clear_cache()
    monkeypatch.undo()
    monkeypatch.setitem(auto._CANDIDATES, "subpixel", _slowed(auto._CANDIDATES["subpixel"], 0.03))
    assert auto.choose(x, w, None, geom).startswith("native")
    (choice,) = auto.cache().values()
    assert choice.ratios["subpixel"] > 1 and choice.ratios["native"] == 1.0


def test_measuring_off_uses_the_deterministic_rule(monkeypatch):
    monkeypatch.setattr(auto, "_measure", lambda *a: pytest.fail("measured while off"))
    tconv.set_autotune(False)
    assert not auto.autotune_enabled()
    x, w, b = torch.randn(1, 6, 5, 5), torch.randn(6, 1, 4, 4), torch.randn(6)
    geom = Geometry.create((4, 4), stride=2, padding=1, groups=6)
    assert auto.choose(x, w, None, geom) == "native"  # grouped, no bias
    assert auto.choose(x, w, b, geom) == "native+bias"  # grouped with a bias
    assert auto.choose(x.bfloat16(), w.bfloat16(), b.bfloat16(), geom) == "subpixel"
    dense = Geometry.create((4, 4), stride=2, padding=1)
    wd = torch.randn(6, 2, 4, 4)
    assert auto.choose(x, wd, torch.randn(2), dense) == "native"  # torch says the crop
    same = Geometry.create((3, 3), stride=2, padding="same")  # a slice after torch's call
    assert auto.choose(x, wd[..., :3, :3], torch.randn(2), same) == "native+bias"
    w.requires_grad_()  # the rule does not depend on gradients
    assert auto.choose(x, w, b, geom) == "native+bias"
    y = tconv.conv_transpose(x, w, b, stride=2, padding=1, groups=6, method="auto")
    torch.testing.assert_close(y, F.conv_transpose2d(x, w, b, 2, 1, 0, 6))
    assert auto.cache() == {}
    with pytest.raises(TypeError, match="enabled must be a bool"):
        tconv.set_autotune(0)  # type: ignore[arg-type]


def test_tracing_never_measures(monkeypatch):
    monkeypatch.setattr(auto, "_measure", lambda *a: pytest.fail("measured while tracing"))
    w = torch.randn(3, 2, 2, 2)

    def f(x):
        return tconv.conv_transpose(x, w, stride=2, method="auto")

    x = torch.randn(1, 3, 4, 4)
    traced = torch.jit.trace(f, x, check_trace=False)
    torch.testing.assert_close(traced(x), F.conv_transpose2d(x, w, None, 2))
    # a grouped layer with a bias (native+bias when measuring is off) traces as torch's kernel
    # with the bias fused: one node to export, no separate add
    wg, b = torch.randn(3, 1, 4, 4), torch.randn(3)

    def g(x):
        return tconv.conv_transpose(x, wg, b, stride=2, padding=1, groups=3, method="auto")

    graph = str(torch.jit.trace(g, x, check_trace=False).graph)
    assert "aten::_convolution" in graph and "aten::add" not in graph, graph


def test_environment_variable_turns_measuring_off():
    code = "import tconv.methods.auto as a; print(a.autotune_enabled())"
    env = dict(os.environ, TCONV_AUTOTUNE="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_run_rejects_an_unknown_execution():
    x, w = torch.randn(1, 2, 3), torch.randn(2, 2, 3)
    with pytest.raises(ValueError, match=r"execution='fast' is invalid: valid executions"):
        auto.run("fast", x, w, None, Geometry.create(3))
