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
separate timings, and wins by more than the spread of its own pairs (:func:`wins`), in two
independent measurements: a win inside the noise keeps native. :func:`decisions` lists every
choice with the ratios behind it (``tconv bench`` prints them).

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
import math
import os
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from ..shapes import Geometry
from ..timing import paired_speed, paired_timings
from . import native
from .spec import Forward, MethodSpec

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
    "decisions",
    "fallback",
    "forward",
    "keeper",
    "noise_of",
    "run",
    "runner_for",
    "set_autotune",
    "wins",
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
    _RUNNERS.clear()
    _RUNNERS.update((e, _runner(e)) for e in EXECUTIONS)
    _forget()


def _runner(name: str) -> Forward:
    """The function that runs execution ``name`` (see :func:`run`)."""
    method, _, layout = name.partition("/")
    there_layout: Layout = "channels_last" if layout == "channels_last" else "contiguous"

    def as_is(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
        return _CANDIDATES[method].forward(x, weight, bias, geom)

    def converted(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
        fn = _CANDIDATES[method].forward
        if geom.rank == 1:
            return fn(x, weight, bias, geom)
        here = _memory_format(geom.rank, _layout(x))
        there = _memory_format(geom.rank, there_layout)
        y = fn(x.contiguous(memory_format=there), weight, bias, geom)
        return y.contiguous(memory_format=here)

    return converted if layout else as_is


#: The function of each execution, by name (built by :func:`consider`).
_RUNNERS: dict[str, Forward] = {}


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
    without measuring). ``noise`` is, per candidate, how far its pairs' ratios spread (half
    the interquartile range of their logarithms, :func:`noise_of`). A candidate that read
    faster than :data:`SWITCH_BELOW` and its noise (:func:`wins`) was measured a second time;
    its ratio and noise are the larger of the two."""

    execution: str
    ratios: dict[str, float] = field(default_factory=dict)
    measured: bool = True
    noise: dict[str, float] = field(default_factory=dict)


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
    _forget()


def autotune_enabled() -> bool:
    """Whether ``method="auto"`` measures unseen signatures (see :func:`set_autotune`)."""
    return _ENABLED


def clear_cache() -> None:
    """Forget every measured choice (the next call of each signature measures again)."""
    _CACHE.clear()
    _forget()


#: Bumped whenever a choice may change (the cache cleared, measuring switched): layers that
#: keep the execution of their last call (:func:`runner_for`) look again.
_EPOCH = [0]


def _forget() -> None:
    _EPOCH[0] += 1


def decisions() -> list[dict[str, object]]:
    """Every choice ``method="auto"`` made in this process, one per call signature, in the
    order they were made: what it ran and the measured time ratios to native behind it.

    Each entry: ``input``, ``weight`` (shapes), ``bias`` (bool), ``dtype``, ``device``,
    ``layout``, ``grad`` (a backward pass was timed too), ``threads``, ``geometry``,
    ``execution`` (what auto runs), ``ratios`` (time / native's, < 1 is faster), ``noise``
    (each candidate's spread, :func:`noise_of`) and ``measured`` (False: the rule of
    :func:`fallback` decided).

    Example:
        >>> import torch
        >>> from tconv.shapes import Geometry
        >>> clear_cache()
        >>> g = Geometry.create((2, 2), stride=2)
        >>> _ = forward(torch.randn(1, 4, 5, 5), torch.randn(4, 2, 2, 2), None, g)
        >>> d = decisions()[0]
        >>> d["input"], d["dtype"], d["grad"], d["execution"] in EXECUTIONS
        ((1, 4, 5, 5), 'float32', False, True)
    """
    out: list[dict[str, object]] = []
    for key, c in _CACHE.items():
        device, dtype, shape, layout, wshape, has_bias, geom, grad, threads = key
        out.append(
            dict(
                input=tuple(shape),  # type: ignore[arg-type]
                weight=tuple(wshape),  # type: ignore[arg-type]
                bias=has_bias,
                dtype=str(dtype).removeprefix("torch."),
                device=str(device),
                layout=layout,
                grad=grad,
                threads=threads,
                geometry=geom,
                execution=c.execution,
                ratios=dict(c.ratios),
                noise=dict(c.noise),
                measured=c.measured,
            )
        )
    return out


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
    x: Tensor, weight: Tensor, geom: Geometry, bias: Tensor | None = None, grad: bool = False
) -> tuple[str, ...]:
    """The executions auto times for this call: each method as given and in the other layout.

    1-D layers have one layout; for 2-D and 3-D the other one is channels_last for a
    contiguous (NCHW) input and contiguous for a channels_last one. ``"native+bias"`` is a
    candidate only when there is a bias, ``"grouped"`` only for grouped layers whose
    gradients are recorded (``grad``).

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``
    """
    methods = tuple(
        n for n, m in _CANDIDATES.items() if m.considered(bias is not None, geom.groups, grad)
    )
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
    fn = _RUNNERS.get(name)
    if fn is None:
        raise ValueError(f"execution={name!r} is invalid: valid executions are {EXECUTIONS}")
    return fn(x, weight, bias, geom)


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
    if torch.compiler.is_compiling() or torch.jit.is_scripting() or torch.jit.is_tracing():
        return True
    return x.is_meta


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
    if not _ENABLED or _tracing(x):
        return fallback(x, weight, geom, grad, bias is not None, _tracing(x))
    key = _signature(x, weight, bias, geom, grad)
    hit = _CACHE.get(key)
    if hit is None:  # once per signature: never measured again in a loop
        hit = _CACHE[key] = _measure(x, weight, bias, geom, grad)
    return hit.execution


def runner_for(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Forward:
    """The function of the execution :func:`choose` picks for this call."""
    return _RUNNERS[choose(x, weight, bias, geom)]


def keeper(geom: Geometry) -> Forward:
    """:func:`forward` for calls whose shapes were checked for one geometry
    (:func:`tconv.functional.prepare`): the execution is kept per dtype, device, layout,
    gradient mode and thread count (the rest of its signature is fixed there), so that a
    layer called in a loop looks its choice up in one small dict.

    Example:
        >>> import torch
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create((2, 2), stride=2)
        >>> x, w = torch.randn(1, 4, 5, 5), torch.randn(4, 2, 2, 2)
        >>> run_auto = keeper(g)
        >>> torch.allclose(run_auto(x, w, None, g), forward(x, w, None, g))
        True
    """
    kept: dict[tuple[object, ...], Forward] = {}

    def call(x: Tensor, weight: Tensor, bias: Tensor | None, g: Geometry = geom) -> Tensor:
        if torch.compiler.is_compiling() or torch._C._is_tracing():
            return forward(x, weight, bias, g)  # the rule, kept out of the memo
        grad = torch.is_grad_enabled() and (
            x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad)
        )
        key = (
            x.dtype,
            x.device,
            x.is_contiguous() or _layout(x),
            grad,
            torch.get_num_threads(),
            _EPOCH[0],
        )
        fn = kept.get(key)
        if fn is None:
            if len(kept) >= 64:
                kept.clear()
            fn = kept[key] = runner_for(x, weight, bias, g)
        return fn(x, weight, bias, g)

    return call


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
    names = candidates(x, weight, geom, bias, grad)
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
    noise = {n: noise_of(p) for n, p in zip(others, pairs, strict=True)}
    best = min(ratios, key=lambda n: ratios[n])
    if best == "native" or not wins(ratios[best], noise[best]):
        return Choice("native", ratios, noise=noise)
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
    noise[best] = max(noise[best], noise_of(again))
    return Choice(best if wins(ratios[best], noise[best]) else "native", ratios, noise=noise)


def noise_of(pairs: list[tuple[float, float, bool]]) -> float:
    """How far the per-pair time ratios of a candidate spread: half the interquartile range
    of their natural logarithms (0.05 ~ pairs 5% apart), over both orders of the pairs.

    >>> noise_of([(1.0, 1.0, True), (1.0, 1.0, False)])
    0.0
    >>> round(noise_of([(1.0, r, i % 2 == 0) for i, r in enumerate([0.8, 0.9, 1.0, 1.1, 1.2])]), 2)
    0.1
    """
    logs = sorted(math.log(c / b) for b, c, _ in pairs)
    if len(logs) < 2:
        return 0.0
    q = statistics.quantiles(logs, n=4, method="inclusive")
    return (q[2] - q[0]) / 2


def wins(ratio: float, noise: float) -> bool:
    """Whether a candidate whose time is ``ratio`` x native's, measured with ``noise``
    (:func:`noise_of`), replaces native: faster than :data:`SWITCH_BELOW`, and by more than
    the spread of its own pairs (about: its upper-quartile pair still faster than native), so
    that a win inside the noise keeps native.

    >>> wins(0.85, 0.02), wins(0.85, 0.2), wins(0.95, 0.0)
    (True, False, False)
    """
    return ratio < SWITCH_BELOW and -math.log(ratio) > noise


#: The registry's entry (:mod:`tconv.methods`).
METHOD = MethodSpec(
    "auto",
    forward,
    "the fastest exact execution for each call signature, measured once",
    color="#d62728",
)
