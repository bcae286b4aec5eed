"""The per-call fast paths (a layer's and conv_transpose's) skip only what cannot change
between calls: every check of what can (input rank, channels, dtypes, shapes, settings
reassigned) still raises torch's errors, and every answer stays torch's."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
import torch.nn.functional as F

import tconv
import tconv.nn as tnn
from tconv import functional as tfunc
from tconv.functional import DtypeError
from tconv.methods import auto
from tconv.shapes import Geometry, ShapeError, ShapeRuntimeError


@pytest.fixture
def counted(monkeypatch):
    """How often the full checks ran (the geometry's call check)."""
    calls = []
    real = Geometry.check_call

    def counting(self, *args, **kwargs):
        calls.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Geometry, "check_call", counting)
    tfunc._PREPARED.clear()
    return calls


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_module_checks_once_then_runs_torch_s_kernel(counted, rank, bias):
    ref = getattr(torch.nn, f"ConvTranspose{rank}d")(3, 4, 3, stride=2, padding=1, bias=bias)
    m = getattr(tnn, f"ConvTranspose{rank}d")(3, 4, 3, stride=2, padding=1, bias=bias)
    m.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, *(5,) * rank)
    for _ in range(3):
        torch.testing.assert_close(m(x), ref(x), rtol=0, atol=0)
    assert len(counted) == 2  # the first call: checked, then prepared; later calls: neither
    # the weight's values are read on every call (nothing derived from them is kept)
    with torch.no_grad():
        m.weight.mul_(2)
        ref.weight.mul_(2)
    torch.testing.assert_close(m(x), ref(x), rtol=0, atol=0)


def test_module_still_checks_what_can_change_between_calls():
    m = tnn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    x = torch.randn(1, 3, 5, 5)
    m(x)
    m(x)  # prepared
    with pytest.raises(ShapeRuntimeError, match="input has 2 channels but the weight"):
        m(torch.randn(1, 2, 5, 5))
    with pytest.raises(ShapeRuntimeError, match="a 2-D transposed convolution expects 4-D"):
        m(torch.randn(1, 1, 3, 5, 5))
    with pytest.raises(DtypeError, match=r"input \(torch.float64\), weight \(torch.float32\)"):
        m(x.double())
    with pytest.raises(TypeError, match="input and weight must be tensors"):
        m([[1.0]])  # type: ignore[arg-type]
    m(x)
    m.weight = torch.nn.Parameter(torch.randn(3, 4, 2, 2))  # a kernel of another size
    torch.testing.assert_close(m(x), F.conv_transpose2d(x, m.weight, m.bias, 2, 1))
    m.weight = torch.nn.Parameter(torch.randn(5, 4, 3, 3))  # in_channels that x has not
    with pytest.raises(ShapeRuntimeError, match="input has 3 channels but the weight"):
        m(x)


def test_a_reassigned_setting_is_validated_and_used_on_the_next_call():
    ref = torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    m = tnn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    m.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3, 5, 5)
    m(x), m(x)
    m.stride = (1, 1)
    ref.stride = (1, 1)
    torch.testing.assert_close(m(x), ref(x), rtol=0, atol=0)
    m.padding = "same"
    assert m(x).shape == (1, 4, 5, 5)
    m.stride = (0, 1)  # torch raises RuntimeError for it; tconv too, naming the value
    with pytest.raises(ShapeRuntimeError, match="stride"):
        m(x)


def test_a_prepared_layer_pickles_and_copies():
    m = tnn.ConvTranspose1d(2, 3, 4, stride=2, padding=1, method="auto")
    x = torch.randn(1, 2, 7)
    y = m(x)
    for other in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        torch.testing.assert_close(other(x), y)
        assert "_tconv_fast" in other.__dict__  # prepared again by that call


def test_function_fast_path_keeps_type_and_dtype_errors(counted):
    x, w = torch.randn(1, 3, 5, 5), torch.randn(3, 2, 3, 3)
    for _ in range(3):
        torch.testing.assert_close(
            tconv.conv_transpose(x, w, None, 2, 1), F.conv_transpose2d(x, w, None, 2, 1)
        )
    assert len(counted) == 1
    # equal under ==, but not valid: True and 2.0 are no ints
    with pytest.raises(TypeError, match="stride"):
        tconv.conv_transpose(x, w, None, 2.0, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="padding"):
        tconv.conv_transpose(x, w, None, 2, True)
    with pytest.raises(DtypeError):
        tconv.conv_transpose(x, w.double(), None, 2, 1)
    with pytest.raises(DtypeError):
        tconv.conv_transpose(x, w, torch.zeros(2, dtype=torch.float64), 2, 1)
    with pytest.raises(ShapeError, match="bias of shape"):
        tconv.conv_transpose(x, w, torch.zeros(3), 2, 1)
    with pytest.raises(ValueError, match="method='fast' is invalid"):
        tconv.conv_transpose(x, w, None, 2, 1, method="fast")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be tensors"):
        tconv.conv_transpose(x.numpy(), w.numpy(), None, 2, 1)  # type: ignore[arg-type]
    # tuples, lists and names take the fast path too, with the same answers
    for stride, padding in (((2, 2), (1, 1)), ([2, 2], [1, 1]), (2, "same")):
        a = tconv.conv_transpose(x, w, None, stride, padding)
        b = tconv.conv_transpose(x, w, None, stride, padding)
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_function_fast_path_unbatched_and_sliced_crops_equal_torch():
    x, w, b = torch.randn(3, 5, 6), torch.randn(3, 2, 4, 4), torch.randn(2)
    for _ in range(2):
        torch.testing.assert_close(
            tconv.conv_transpose(x, w, b, 2, 1), F.conv_transpose2d(x, w, b, 2, 1)
        )
        got = tconv.conv_transpose(x[None], w, b, 2, ((0, 2), (1, 1)))
        full = F.conv_transpose2d(x[None], w, b, 2)
        torch.testing.assert_close(got, full[:, :, :-2, 1:-1])


def test_auto_decides_once_per_kind_of_call_and_shows_it(monkeypatch):
    auto.clear_cache()
    measured = []
    real = auto._measure

    def counting(*args):
        measured.append(args[4])
        return real(*args)

    monkeypatch.setattr(auto, "_measure", counting)
    m = tnn.ConvTranspose2d(4, 2, 2, stride=2, method="auto")
    x = torch.randn(1, 4, 6, 6)
    with torch.no_grad():
        for _ in range(5):
            m(x)
    for _ in range(3):  # gradients recorded: another kind of call, measured once
        m(x).sum().backward()
    assert measured == [False, True]
    found = auto.decisions()
    assert [d["grad"] for d in found] == [False, True]
    assert all(d["execution"] in auto.EXECUTIONS and d["measured"] for d in found)
    assert found[0]["input"] == (1, 4, 6, 6) and found[0]["layout"] == "contiguous"
    auto.clear_cache()  # forgotten: the layer asks again
    with torch.no_grad():
        m(x)
    assert measured == [False, True, False]
    auto.clear_cache()


def test_auto_keeps_native_when_a_win_is_inside_its_own_noise(monkeypatch):
    x, w = torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3)
    geom = Geometry.create((3, 3), stride=2, padding=1)
    # the candidate reads 0.85x native by its median, but its pairs spread from 0.5 to 1.4
    noisy = [(1.0, r, i % 2 == 0) for i, r in enumerate([0.5, 0.6, 0.85, 0.85, 1.3, 1.4])]
    steady = [(1.0, r, i % 2 == 0) for i, r in enumerate([0.84, 0.85, 0.85, 0.85, 0.86, 0.86])]
    for pairs, winner in ((noisy, False), (steady, True)):
        monkeypatch.setattr(auto, "paired_timings", lambda b, f, r, p=pairs, **k: [p] * len(f))
        auto.clear_cache()
        choice = auto.choose(x, w, None, geom)
        assert (choice != "native") is winner, (choice, auto.decisions())
    auto.clear_cache()
    assert auto.wins(0.85, 0.02) and not auto.wins(0.85, 0.2) and not auto.wins(0.95, 0.0)


def test_a_trace_does_not_fix_auto_s_choice_for_eager_calls(monkeypatch):
    auto.clear_cache()
    m = tnn.ConvTranspose2d(4, 2, 2, stride=2, method="auto")
    x = torch.randn(1, 4, 6, 6)
    with torch.no_grad():
        torch.jit.trace(m, x, check_trace=False)  # the rule, not measured
        assert auto.decisions() == []
        m(x)  # eager: measured
    assert len(auto.decisions()) == 1
    auto.clear_cache()
