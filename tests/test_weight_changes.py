"""No method ever computes with an older weight than the layer holds now.

Each test calls a tconv layer and torch's own ConvTranspose (same state), changes both layers'
weights in one of the ways PyTorch code does (in place through ``.data``, ``p.data = t``,
``vector_to_parameters``, ``load_state_dict``, ``.to(dtype)``, ``.double()``, ``.half()``,
``.bfloat16()``, weight norm and other parametrizations, ``.to(device)``), and compares the two
again: every method and ``"auto"``, 1-, 2- and 3-D, under ``no_grad`` and with frozen weights
(``requires_grad=False``, autograd on). In-place writes through ``.data`` keep the storage and
the data pointer and do not move the version counter, so no cache key can see them: a layer
must never reuse anything derived from an earlier weight (issue 29).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
import torch
from torch.nn.utils import parameters_to_vector, parametrize, vector_to_parameters
from torch.nn.utils.parametrizations import weight_norm

import tconv
from tconv.methods import auto
from tconv.shapes import Geometry

MODES = ("no_grad", "frozen")
#: (rtol, atol) per dtype: torch's kernel and each method round differently; a stale weight
#: is off by far more (the changes below move every weight by 25% or more)
TOLERANCE = {
    torch.float64: (1e-10, 1e-10),
    torch.float32: (1e-5, 1e-5),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (3e-2, 3e-2),
}

Layer = torch.nn.Module


def _pair(method: str, rank: int, groups: int = 1) -> tuple[Layer, Layer]:
    """torch's ConvTranspose{rank}d (k4 s2 p1, which subpixel packs into one convolution) and
    tconv's with the same state."""
    torch.manual_seed(rank)
    channels = (4, 6) if groups == 1 else (groups, groups)
    ref = getattr(torch.nn, f"ConvTranspose{rank}d")(
        *channels, 4, stride=2, padding=1, groups=groups
    )
    new = getattr(tconv.nn, f"ConvTranspose{rank}d")(
        *channels, 4, stride=2, padding=1, groups=groups, method=method
    )
    new.load_state_dict(ref.state_dict())
    return ref, new


@contextlib.contextmanager
def _mode(mode: str, *layers: Layer) -> Iterator[None]:
    """``no_grad``, or autograd on with every parameter frozen."""
    if mode == "no_grad":
        with torch.no_grad():
            yield
        return
    for layer in layers:
        layer.requires_grad_(False)
    yield


class Checker:
    """Calls both layers (so that whatever a method keeps between calls is kept) and compares."""

    def __init__(self, ref: Layer, new: Layer, mode: str) -> None:
        self.ref, self.new, self.mode = ref, new, mode
        rank = new.weight.dim() - 2
        torch.manual_seed(100 + rank)
        self.x = torch.randn(2, new.in_channels, *(5,) * rank, dtype=torch.float64)

    def check(self, what: str) -> None:
        dtype = self.new.weight.dtype
        x = self.x.to(dtype=dtype, device=self.new.weight.device)
        with _mode(self.mode, self.ref, self.new):
            want, got = self.ref(x), self.new(x)
            again = self.new(x)  # the second call of a layer may take another path
        rtol, atol = TOLERANCE[dtype]
        for y in (got, again):
            assert y.dtype == want.dtype
            torch.testing.assert_close(
                y, want, rtol=rtol, atol=atol, msg=lambda m: f"after {what}: {m}"
            )

    def change(self, what: str, fn: Callable[[Layer], object]) -> None:
        """Apply ``fn`` to both layers (under no_grad, as optimizers and EMA updates do), then
        compare."""
        self.check(f"the calls before {what}")
        for layer in (self.ref, self.new):
            with torch.no_grad():
                fn(layer)
        self.check(what)


def _set_data(layer: Layer) -> None:
    for p in layer.parameters():
        p.data = p.data * -1.5 + 0.25  # a new tensor: a new storage and data pointer


def _from_vector(layer: Layer) -> None:
    vec = parameters_to_vector(layer.parameters())
    vector_to_parameters(vec * 0.75 - 0.125, layer.parameters())


def _load_fresh(layer: Layer) -> None:
    torch.manual_seed(7)  # the same fresh values for both layers
    fresh = {k: torch.randn_like(v) for k, v in layer.state_dict().items()}
    layer.load_state_dict(fresh)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("method", tconv.METHODS)
def test_every_way_of_changing_weights(method: str, rank: int, mode: str) -> None:
    ref, new = _pair(method, rank)
    c = Checker(ref, new, mode)
    c.change(".data in place (mul_)", lambda m: [p.data.mul_(0.5) for p in m.parameters()])
    c.change("p.data = t", _set_data)
    c.change("vector_to_parameters", _from_vector)
    c.change("load_state_dict", _load_fresh)
    c.change(".to(torch.float64)", lambda m: m.to(torch.float64))
    c.change(".data in place in float64", lambda m: m.weight.data.mul_(-2.0))
    c.change(".float()", lambda m: m.float())
    c.change(".double()", lambda m: m.double())
    c.change(".to(dtype=torch.float32)", lambda m: m.to(dtype=torch.float32))
    c.change(".bfloat16()", lambda m: m.bfloat16())
    c.change(".data in place in bfloat16", lambda m: m.weight.data.mul_(0.5))
    c.change(".half()", lambda m: m.half())
    c.change(".data in place in float16", lambda m: m.weight.data.mul_(-1.25))
    c.change(".float() again", lambda m: m.float())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("method", tconv.METHODS)
def test_parametrized_weights(method: str, rank: int, mode: str) -> None:
    """Weight norm (the weight recomputed from two parameters on each access), a
    parametrization of our own, and ``parametrize.cached()`` (computed once per context)."""
    ref, new = _pair(method, rank)
    c = Checker(ref, new, mode)
    c.change("weight_norm", weight_norm)
    c.change(
        "weight norm's direction in place (.data)",
        lambda m: m.parametrizations.weight.original1.data.mul_(-1.5),
    )
    c.change(
        "weight norm's magnitude in place (.data)",
        lambda m: m.parametrizations.weight.original0.data.mul_(0.25),
    )
    with parametrize.cached():
        c.change(
            "weight norm's direction, within parametrize.cached()",
            lambda m: m.parametrizations.weight.original1.data.add_(0.5),
        )
    c.check("leaving parametrize.cached()")

    class Scale(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.factor = 2.0

        def forward(self, w: torch.Tensor) -> torch.Tensor:
            return w * self.factor

    ref, new = _pair(method, rank)
    c = Checker(ref, new, mode)
    c.change(
        "a parametrization", lambda m: parametrize.register_parametrization(m, "weight", Scale())
    )
    c.change(
        "the parametrization's setting",
        lambda m: setattr(m.parametrizations.weight[0], "factor", -3.0),
    )
    c.change(
        "the original in place (.data)",
        lambda m: m.parametrizations.weight.original.data.mul_(0.5),
    )
    c.change(
        "removing the parametrization",
        lambda m: parametrize.remove_parametrizations(m, "weight"),
    )
    c.change(".data in place after it", lambda m: m.weight.data.mul_(-0.5))


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (hardware, not a Python dependency)"
)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", tconv.METHODS)
def test_to_device(method: str, mode: str) -> None:
    ref, new = _pair(method, 2)
    c = Checker(ref, new, mode)
    c.change(".to('cuda')", lambda m: m.to("cuda"))
    c.change(".data in place on the GPU", lambda m: m.weight.data.mul_(0.5))
    c.change(".cpu()", lambda m: m.cpu())


def test_the_issues_reproduction() -> None:
    x = torch.randn(1, 8, 6, 6)
    ref = torch.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
    new = tconv.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, method="subpixel")
    new.load_state_dict(ref.state_dict())
    with torch.no_grad():
        ref(x), new(x)
        ref.weight.data.mul_(0.5), new.weight.data.mul_(0.5)
        torch.testing.assert_close(new(x), ref(x), rtol=1e-5, atol=1e-5)  # was off by 0.588
        ref.double(), new.double()  # raised "expected scalar type Double but found Float"
        torch.testing.assert_close(new(x.double()), ref(x.double()), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_auto_where_it_picks_subpixel(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's case for ``"auto"``: by its rule (measuring off) a bfloat16 depthwise k4 s2
    layer runs subpixel."""
    monkeypatch.setattr(auto, "_ENABLED", False)
    ref, new = _pair("auto", 2, groups=8)
    ref.bfloat16(), new.bfloat16()
    c = Checker(ref, new, mode)
    x = c.x.bfloat16()
    geom = Geometry.create((4, 4), stride=2, padding=1, groups=8)
    assert auto.choose(x, new.weight.detach(), None, geom) == "subpixel"
    c.change(".data in place (mul_)", lambda m: m.weight.data.mul_(0.5))
    c.change("p.data = t", _set_data)
    c.change(".double()", lambda m: m.double())


def test_a_setting_changed_in_place() -> None:
    """A layer keeps its geometry between calls: a setting that is a list, changed in place,
    must not be missed (torch reads its settings on every call)."""
    ref, new = _pair("native", 2)
    x = torch.randn(1, 4, 5, 5)
    for layer in (ref, new):
        layer.stride = [2, 2]
    torch.testing.assert_close(new(x), ref(x))
    for layer in (ref, new):
        layer.stride[1] = 3
    torch.testing.assert_close(new(x), ref(x))
