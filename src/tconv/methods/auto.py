"""``method="auto"``: the fastest exact execution for each call signature, measured once.

An *execution* is a method run in a memory layout: ``"native"``, ``"native+bias"`` (torch's
kernel without the bias, the bias added after: on CPU torch's kernel is several times slower
with a bias on some layers) or ``"subpixel"``, on the input as given or on the input converted
to the other layout (``"native/channels_last"`` for an NCHW input, ``"native/contiguous"`` for
a channels_last one; the result is converted back, so the caller sees the layout it passed
in). Every execution is exact (the method tests run each
one, gradients included); they differ only in speed, and which wins depends on the geometry,
the sizes, the dtype, the layout, the groups, the device and whether a backward pass follows.
PyTorch's CPU transposed convolution, for one, is several times slower in NCHW than in
channels_last on some layers and its depthwise backward is slow, while the ordinary
convolution that the phase decomposition runs is fast.

So, as ``torch.backends.cudnn.benchmark`` does for cuDNN's algorithms, the first call with a
new **signature** (input shape, weight shape, geometry, bias or not, dtype, layout, device,
thread count, and whether gradients are being recorded) times every candidate on copies of the
tensors, each call back to back with a call of ``"native"`` (6 to 20 pairs per candidate, more
for short calls, the order within a pair alternating: :mod:`tconv.timing`), and the
per-process cache remembers the winner; later calls with that signature just run it. A
candidate replaces ``"native"`` only when it takes less than :data:`SWITCH_BELOW` times
native's time by that paired estimate, which a machine whose speed drifts moves far less than
separate timings, in two independent measurements.

Measuring is off (a deterministic rule decides, :func:`fallback`) when:

- the environment variable ``TCONV_AUTOTUNE`` is ``0``/``false``/``off`` at import, or
  :func:`set_autotune` was called with False (``tconv.set_autotune``);
- the call is being traced or compiled (``torch.compile``, ``torch.jit``, ONNX export), or the
  tensors live on the ``meta`` device.

Example:
    >>> import torch
    >>> from tconv.shapes import Geometry
    >>> g = Geometry.create((4, 4), stride=2, padding=1)
    >>> x, w = torch.randn(1, 8, 6, 6), torch.randn(8, 4, 4, 4)
    >>> candidates(x, w, g)
    ('native', 'native/channels_last', 'subpixel', 'subpixel/channels_last')
    >>> y = run("subpixel/channels_last", x, w, None, g)
    >>> torch.allclose(y, torch.nn.functional.conv_transpose2d(x, w, None, 2, 1), atol=1e-5)
    True
    >>> y.is_contiguous()                       # converted back to the caller's layout
    True
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from ..shapes import Geometry
from ..timing import paired_speed, paired_timings
from . import native
from .spec import MethodSpec

__all__ = [
    "EXECUTIONS",
    "SWITCH_BELOW",
    "Choice",
    "autotune_enabled",
    "cache",
    "candidates",
    "choose",
    "clear_cache",
    "consider",
    "fallback",
    "forward",
    "run",
    "set_autotune",
]

Layout = Literal["contiguous", "channels_last"]

#: The registry's candidates by name (:func:`consider`, which :mod:`tconv.methods` calls).
_CANDIDATES: dict[str, MethodSpec] = {}

#: Every execution auto may pick: a candidate, optionally with the layout it runs in.
EXECUTIONS: tuple[str, ...] = ()


def consider(registry: Iterable[MethodSpec]) -> None:
    """Time the registry's entries marked ``candidate`` (:mod:`tconv.methods` calls it once
    with its :data:`~tconv.methods.REGISTRY`; auto cannot import the registry, which
    imports auto).

    Example:
        >>> from tconv.methods import REGISTRY
        >>> consider(REGISTRY)
        >>> EXECUTIONS[:3]
        ('native', 'native/channels_last', 'native/contiguous')
    """
    global EXECUTIONS
    _CANDIDATES.clear()
    _CANDIDATES.update((m.name, m) for m in registry if m.candidate)
    EXECUTIONS = tuple(e for m in _CANDIDATES for e in (m, f"{m}/channels_last", f"{m}/contiguous"))


#: A candidate must take less than this fraction of native's time (the paired estimate of
#: :func:`tconv.timing.paired_speed`) to be picked over native.
SWITCH_BELOW = 0.93

_ROUNDS = 6  # timed pairs (native, candidate) per candidate, after two warm-up calls each
_MAX_ROUNDS = 20  # ... up to this many when a call is short:
_PAIR_BUDGET_S = 0.05  # rounds ~ this / native's time
_LONG_ROUNDS = 2  # when one call of native takes longer than _LONG_CALL_S
_LONG_CALL_S = 0.25


@dataclass(frozen=True)
class Choice:
    """What auto picked for one signature and why: ``ratios`` are time ratios to native, each
    from pairs timed back to back (:func:`tconv.timing.paired_speed`; empty when a rule decided
    without measuring). A candidate that read faster than :data:`SWITCH_BELOW` was measured
    a second time; its ratio is the larger of the two."""

    execution: str
    ratios: dict[str, float] = field(default_factory=dict)
    measured: bool = True


_CACHE: dict[tuple[object, ...], Choice] = {}
_ENABLED = os.environ.get("TCONV_AUTOTUNE", "1").strip().lower() not in ("0", "false", "off", "no")


def set_autotune(enabled: bool) -> None:
    """Turn measuring on or off for ``method="auto"`` in this process.

    Off, auto uses the deterministic rule of :func:`fallback` (the same choice on every run and
    machine); the environment variable ``TCONV_AUTOTUNE=0`` sets off at import. Choices already
    measured stay cached (see :func:`clear_cache`).

    Args:
        enabled: True to measure unseen signatures, False for the rule.

    Raises:
        TypeError: if ``enabled`` is not a bool.

    Example:
        >>> set_autotune(False); autotune_enabled()
        False
        >>> set_autotune(True); autotune_enabled()
        True
    """
    global _ENABLED
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
    _ENABLED = enabled


def autotune_enabled() -> bool:
    """Whether ``method="auto"`` measures unseen signatures (see :func:`set_autotune`)."""
    return _ENABLED


def clear_cache() -> None:
    """Forget every measured choice (the next call of each signature measures again)."""
    _CACHE.clear()


def cache() -> dict[tuple[object, ...], Choice]:
    """A copy of the per-process cache: signature -> :class:`Choice`."""
    return dict(_CACHE)


def _layout(x: Tensor) -> Layout:
    """``"channels_last"`` when ``x`` is stored channels-last and not also plain contiguous."""
    if x.is_contiguous():  # the common case first (a 1x1 image can be both: contiguous)
        return "contiguous"
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return "contiguous" if x.is_contiguous() else "channels_last"
    if x.dim() == 5 and x.is_contiguous(memory_format=torch.channels_last_3d):
        return "contiguous" if x.is_contiguous() else "channels_last"
    return "contiguous"


def _memory_format(rank: int, layout: Layout) -> torch.memory_format:
    if layout == "contiguous":
        return torch.contiguous_format
    return torch.channels_last if rank == 2 else torch.channels_last_3d


def candidates(
    x: Tensor, weight: Tensor, geom: Geometry, bias: Tensor | None = None
) -> tuple[str, ...]:
    """The executions auto times for this call: each method as given and in the other layout.

    1-D layers have one layout; for 2-D and 3-D the other one is channels_last for a
    contiguous (NCHW) input and contiguous for a channels_last one. ``"native+bias"`` is a
    candidate only when there is a bias.

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``
    """
    methods = tuple(n for n, m in _CANDIDATES.items() if m.considered(bias is not None))
    if geom.rank == 1:
        return methods
    other = "contiguous" if _layout(x) == "channels_last" else "channels_last"
    return tuple(e for m in methods for e in (m, f"{m}/{other}"))


def run(name: str, x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """Run execution ``name`` (one of :data:`EXECUTIONS`); contract as in :mod:`tconv.methods`.

    A layout suffix converts the input to that layout, runs the method there and converts the
    result back to the input's layout.

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``; bias: ``(C_out,)``
        - output: ``(N, C_out, *O)``, in the layout of ``x``

    Raises:
        ValueError: if ``name`` is not one of :data:`EXECUTIONS`.
    """
    if name not in EXECUTIONS:
        raise ValueError(f"execution={name!r} is invalid: valid executions are {EXECUTIONS}")
    method, _, layout = name.partition("/")
    fn = _CANDIDATES[method].forward
    if not layout:  # no layout conversion
        return fn(x, weight, bias, geom)
    if geom.rank == 1:
        return fn(x, weight, bias, geom)
    here = _memory_format(geom.rank, _layout(x))
    there = _memory_format(geom.rank, layout)  # type: ignore[arg-type]
    y = fn(x.contiguous(memory_format=there), weight, bias, geom)
    return y.contiguous(memory_format=here)


def fallback(
    x: Tensor,
    weight: Tensor,
    geom: Geometry,
    grad: bool,
    bias: bool = False,
    traced: bool = False,
) -> str:
    """The execution auto uses without measuring: a fixed rule, the same on every machine.

    Rule (from the CPU benchmark catalog; docs/benchmarks.md has the figures), on CPU:

    - while tracing or compiling (``traced``): ``"native"``, torch's kernel with its bias fused
      (one node in an exported graph);
    - a grouped 2-D/3-D layer in bfloat16/float16: ``"subpixel"``, whose ordinary grouped
      convolutions run much faster there than torch's transposed one;
    - with a ``bias``, a grouped layer or one whose crop torch's arguments cannot say (a slice
      follows: ``"same"``, asymmetric pairs): ``"native+bias"`` (torch's kernel is much slower
      with a bias there, forward and backward);
    - everything else, and every other device: ``"native"``.

    ``grad`` (whether gradients are recorded) is part of the signature a measurement is kept
    for; the rule does not depend on it.

    Example:
        >>> import torch
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create((4, 4), stride=2, padding=1, groups=8)
        >>> x, w = torch.randn(1, 8, 6, 6), torch.randn(8, 1, 4, 4)
        >>> fallback(x, w, g, grad=True, bias=True), fallback(x, w, g, grad=True)
        ('native+bias', 'native')
        >>> fallback(x.bfloat16(), w.bfloat16(), g, grad=False)
        'subpixel'
        >>> fallback(x, w, g, grad=True, bias=True, traced=True)
        'native'
    """
    if traced or x.device.type != "cpu":
        return "native"
    half = x.dtype in (torch.bfloat16, torch.float16)
    if half and geom.groups > 1 and geom.rank > 1:
        return "subpixel"
    if bias and (geom.groups > 1 or native._arguments(geom)[2] is not None):
        return "native+bias"
    return "native"


def _tracing(x: Tensor) -> bool:
    """Traced, scripted or compiled (a graph is being recorded), or shapes only (meta)."""
    if x.device.type == "meta" or torch.jit.is_scripting() or torch.jit.is_tracing():
        return True
    return bool(torch.compiler.is_compiling())


def _measuring_allowed(x: Tensor) -> bool:
    return _ENABLED and not _tracing(x)


def _signature(
    x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry, grad: bool
) -> tuple[object, ...]:
    return (  # torch.Size is a tuple: hashed and compared as one
        x.device,
        x.dtype,
        x.shape,
        _layout(x),
        weight.shape,
        bias is not None,
        geom,
        grad,
        torch.get_num_threads(),
    )


def choose(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> str:
    """The execution auto runs for this call: measured once per signature, or the rule.

    Gradients count as recorded when autograd is on and ``x``, ``weight`` or ``bias`` requires
    them; the measurement then times forward and backward together.

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``; bias: ``(C_out,)``
    """
    grad = torch.is_grad_enabled() and (
        x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)
    )
    if not _measuring_allowed(x):
        return fallback(x, weight, geom, grad, bias is not None, _tracing(x))
    key = _signature(x, weight, bias, geom, grad)
    hit = _CACHE.get(key)
    if hit is None:
        hit = _CACHE[key] = _measure(x, weight, bias, geom, grad)
    return hit.execution


def forward(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """Transposed convolution by the execution :func:`choose` picks (contract of
    :mod:`tconv.methods`).

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``; bias: ``(C_out,)``
        - output: ``(N, C_out, *O)`` with ``O = geom.output_size(I)``
    """
    return run(choose(x, weight, bias, geom), x, weight, bias, geom)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _measure(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry, grad: bool) -> Choice:
    """Time every candidate in pairs with native and pick the fastest."""
    names = candidates(x, weight, geom, bias)
    inputs = [t.detach().clone().requires_grad_(grad and t.requires_grad) for t in (x, weight)]
    b = None if bias is None else bias.detach().clone().requires_grad_(grad and bias.requires_grad)
    xs, ws = inputs
    leaves = [t for t in (xs, ws, b) if t is not None and t.requires_grad]
    g_out: list[Tensor] = []

    def once(name: str) -> None:
        if grad:
            with torch.enable_grad():
                y = run(name, xs, ws, b, geom)
                if not g_out:
                    g_out.append(torch.randn_like(y))
                torch.autograd.grad(y, leaves, g_out[0])
        else:
            with torch.no_grad():
                run(name, xs, ws, b, geom)

    device = x.device
    usable, first = [], 0.0
    for name in names:  # two warm-up calls each; a candidate that fails is left out
        try:
            for _ in range(2):  # the first call of a shape can be slow (kernel set-up)
                _sync(device)
                t0 = time.perf_counter()
                once(name)
                _sync(device)
            if name == "native":
                first = time.perf_counter() - t0
            usable.append(name)
        except RuntimeError:
            if name == "native":
                raise
    others = [n for n in usable if n != "native"]
    if first > _LONG_CALL_S:
        rounds = _LONG_ROUNDS
    else:  # short calls get more pairs (up to _MAX_ROUNDS): a small layer is noisy and cheap
        rounds = max(_ROUNDS, min(_MAX_ROUNDS, int(_PAIR_BUDGET_S / max(first, 1e-6))))
        rounds += rounds % 2  # as many pairs in each order
    pairs = paired_timings(
        lambda: once("native"),
        [functools.partial(once, n) for n in others],
        rounds,
        warmup=0,
        sync=lambda: _sync(device),
    )
    ratios = {"native": 1.0}
    ratios.update({n: 1 / paired_speed(p) for n, p in zip(others, pairs, strict=True)})
    best = min(ratios, key=lambda n: ratios[n])
    if ratios[best] >= SWITCH_BELOW:
        return Choice("native", ratios)
    # a second, independent measurement must agree before native is replaced: among several
    # candidates one reads fast by chance more often than one is fast
    (again,) = paired_timings(
        lambda: once("native"),
        [functools.partial(once, best)],
        rounds,
        warmup=0,
        sync=lambda: _sync(device),
        seed=1,
    )
    ratios[best] = max(ratios[best], 1 / paired_speed(again))
    return Choice(best if ratios[best] < SWITCH_BELOW else "native", ratios)


#: The registry's entry (:mod:`tconv.methods`).
METHOD = MethodSpec(
    "auto",
    forward,
    "the fastest exact execution for each call signature, measured once",
    color="#d62728",
)
