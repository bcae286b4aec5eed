"""Time the catalog: torch, tconv's methods and auto, and the peers, in pairs in one run.

Every figure is a median over rounds; every speed is the median over rounds of
``time(torch) / time(contender)`` with the two timed back to back as a pair (which one goes
first alternates; the pairs of a round run in a fresh random order), so a machine whose speed
drifts (a shared one does, by 2-5x) moves both alike, and whatever a previous call left behind
(a busy cache, freed memory to fault in again, a peer's spinning threads) falls on torch as
often as on the contender. Pairing torch with itself gives the run's noise floor (the
``A/A`` figure of each configuration). "torch" is ``torch.nn.functional.conv_transpose{1,2,3}d``
where its arguments can express the layer, else tconv's ``method="native"`` (torch's kernel,
then a slice or a border fold).
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .. import methods as _methods
from ..functional import conv_transpose
from ..methods import auto as _auto
from ..timing import paired_speed, paired_timings
from .catalog import CATALOG, Layer
from .peers import PEERS, Unsupported, build

__all__ = [
    "DEFAULT_METHODS",
    "DTYPES",
    "LAYOUTS",
    "PASSES",
    "TCONV_METHODS",
    "geometric_mean",
    "paired_speed",
    "paired_timings",
    "run_catalog",
    "timings",
]

PASSES = ("forward", "backward")  # "backward" = forward + backward
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
LAYOUTS = ("nchw", "channels_last")
#: tconv's methods the benchmark can time (auto first, the headline), from the registry.
TCONV_METHODS: tuple[str, ...] = ("auto", *_methods.EXACT_METHODS)
#: ... and those it times by default (the registry's ``benchmark`` entries).
DEFAULT_METHODS: tuple[str, ...] = tuple(m for m in TCONV_METHODS if _methods.spec(m).benchmark)
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def timings(
    fns: Sequence[Callable[[], object]],
    repeat: int,
    warmup: int = 2,
    sync: Callable[[], None] = lambda: None,
) -> list[list[float]]:
    """Wall times of each function over ``repeat`` rounds, round-robin in alternating order.

    >>> t = timings([lambda: None, lambda: sum(range(100))], repeat=3)
    >>> [len(v) for v in t]
    [3, 3]
    """
    for fn in fns:
        for _ in range(warmup):
            fn()
    sync()
    times: list[list[float]] = [[] for _ in fns]
    order = list(range(len(fns)))
    for _ in range(repeat):
        for j in order:
            t0 = time.perf_counter()
            fns[j]()
            sync()
            times[j].append(time.perf_counter() - t0)
        order.reverse()
    return times


def geometric_mean(values: Iterable[float]) -> float:
    """>>> geometric_mean([1.0, 4.0])
    2.0
    """
    vals = list(values)
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else float("nan")


def _torch_expressible(layer: Layer) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """torch's (padding, output_padding) for the layer's crop, if its arguments can say it."""
    geom = layer.geometry()
    if layer.padding_mode != "zeros":
        return None
    pads = tuple(lo for lo, _ in geom.crop)
    ops = tuple(lo - hi for lo, hi in geom.crop)
    if any(p < 0 for p in pads) or any(not 0 <= op < layer.stride for op in ops):
        return None
    return pads, ops


def _layout(x: torch.Tensor, layout: str) -> torch.Tensor:
    if layout == "nchw" or x.dim() == 3:
        return x.contiguous()
    fmt = torch.channels_last if x.dim() == 4 else torch.channels_last_3d
    return x.contiguous(memory_format=fmt)


class _Saved:
    """Bytes of distinct storages autograd saves for backward (CPU activation memory)."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        self.seen[storage.data_ptr()] = storage.nbytes()
        return t

    @property
    def mb(self) -> float:
        return sum(self.seen.values()) / 2**20


def _memory_mb(fn: Callable[[], object], device: torch.device, grad: bool) -> float | None:
    """Peak memory of one call: CUDA's peak allocation, or on CPU the bytes saved for
    backward plus the output (``None`` for a forward pass on CPU: nothing is kept)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2**20
    if not grad:
        return None
    saved = _Saved()
    with torch.autograd.graph.saved_tensors_hooks(saved.pack, lambda t: t):
        fn()
    return saved.mb


def run_catalog(
    layers: Iterable[Layer] = CATALOG,
    *,
    passes: Sequence[str] = PASSES,
    dtypes: Sequence[str] = ("float32", "bfloat16"),
    layouts: Sequence[str] = LAYOUTS,
    methods: Sequence[str] = DEFAULT_METHODS,
    peers: Sequence[str] = PEERS,
    modules: bool = True,
    repeat: int = 7,
    device: str | torch.device = "cpu",
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Time every contender on every (layer, pass, dtype, layout) configuration.

    Contenders: ``torch`` (the baseline), ``auto`` and the other tconv ``methods`` (all
    configurations for auto; float32 NCHW for the others), ``tconv.nn`` (the module with
    ``method="native"``, float32 NCHW) and ``torch.nn`` (torch's module, where it can express
    the layer), the ``peers`` (float32, their own layout), and
    ``matmul`` (a square matrix product of the layer's forward multiply-add count, the
    machine's rate in that dtype).

    Returns one row per (configuration, contender): ``median_ms``, ``speed`` (median of
    per-round ``time(torch) / time(contender)``; > 1 is faster than torch), ``gflops`` (true
    multiply-adds x 2, x 3 more for the backward), ``matmul_share`` (gflops over the matmul's
    rate), ``memory_mb``, ``max_rel_err`` (forward, against torch), ``choice`` (auto's
    execution), or ``skipped`` with the reason.

    Raises:
        ValueError: on an unknown pass, dtype, layout, method or peer.
    """
    for name, values, valid in (
        ("pass", passes, PASSES),
        ("dtype", dtypes, tuple(DTYPES)),
        ("layout", layouts, LAYOUTS),
        ("method", methods, TCONV_METHODS),
        ("peer", peers, PEERS),
    ):
        bad = [v for v in values if v not in valid]
        if bad:
            raise ValueError(f"{name}={bad[0]!r} is invalid: valid values are {valid}")
    dev = torch.device(device)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    rows: list[dict[str, Any]] = []
    configs = [
        (layer, p, d, lay)
        for layer in layers
        for p in passes
        for d in dtypes
        for lay in layouts
        if not (lay == "channels_last" and layer.rank == 1)
    ]
    for n, (layer, pass_, dtype_name, layout) in enumerate(configs, 1):
        if progress:
            progress(f"{n}/{len(configs)} {layer.name} {pass_} {dtype_name} {layout}")
        rows.extend(
            _run_config(
                layer, pass_, dtype_name, layout, methods, peers, modules, repeat, dev, sync
            )
        )
    return rows


@dataclass
class _Config:
    """One configuration's tensors: input, weight, bias (the leaves of a backward pass) and
    the output gradient, in the configuration's dtype, layout and device."""

    layer: Layer
    grad: bool
    plain: bool  # float32 NCHW: the configuration every contender runs in
    x: torch.Tensor
    w: torch.Tensor
    b: torch.Tensor
    gy: torch.Tensor

    @classmethod
    def make(
        cls, layer: Layer, pass_: str, dtype_name: str, layout: str, dev: torch.device
    ) -> _Config:
        dtype, grad = DTYPES[dtype_name], pass_ == "backward"
        x, w, b = layer.tensors(dtype, dev)
        x = _layout(x, layout)
        for t in (x, w, b):
            t.requires_grad_(grad)
        gy = _layout(torch.randn(layer.output_shape(), dtype=dtype, device=dev), layout)
        plain = dtype_name == "float32" and layout == "nchw"
        return cls(layer, grad, plain, x, w, b, gy)

    @property
    def leaves(self) -> list[torch.Tensor]:
        return [self.x, self.w, self.b]

    def timed(self, f: Callable[[], torch.Tensor], wrt: list[torch.Tensor]) -> Callable[[], object]:
        """One call to time: ``f`` under no_grad, or ``f`` and its backward into ``wrt``."""
        if self.grad:
            return lambda: torch.autograd.grad(f(), wrt, self.gy)

        def fwd() -> object:
            with torch.no_grad():
                return f()

        return fwd


def _function_contenders(
    c: _Config, methods: Sequence[str]
) -> tuple[dict[str, Callable[[], torch.Tensor]], dict[str, str]]:
    """torch's function (the baseline; tconv's native where torch cannot say the crop) and
    tconv's ``methods`` (all but auto only in the plain configuration), and the skipped ones
    with the reason."""
    layer, x, w, b = c.layer, c.x, c.w, c.b
    contenders: dict[str, Callable[[], torch.Tensor]] = {}
    torch_args = _torch_expressible(layer)
    if torch_args is not None:
        p, op = torch_args
        conv = _CONV_T[layer.rank]
        contenders["torch"] = lambda: conv(x, w, b, layer.stride, p, op, layer.groups)
    else:
        contenders["torch"] = lambda: conv_transpose(x, w, b, **layer.kwargs(), method="native")
    skipped: dict[str, str] = {}
    for m in methods:
        if m != "auto" and not c.plain:
            continue
        limit = _methods.spec(m).max_macs
        if limit is not None and layer.macs() > limit:
            skipped[m] = f"{layer.macs():,} non-zeros > {limit:,}"
            continue
        contenders[m] = functools.partial(
            conv_transpose,
            x,
            w,
            b,
            **layer.kwargs(),
            method=m,  # type: ignore[arg-type]
        )
    return contenders, skipped


def _module_contenders(
    c: _Config, dev: torch.device
) -> dict[str, tuple[Callable[[], torch.Tensor], list[torch.Tensor]]]:
    """The layer classes: tconv.nn's (``method="native"``) and torch.nn's (where torch's
    arguments can say the crop), each with the tensors its backward differentiates."""
    from ..modules import CONV_TRANSPOSE

    layer, x = c.layer, c.x
    cls = CONV_TRANSPOSE[layer.rank]
    size = (x.shape[1], layer.out_channels, layer.kernel_size)
    mods: dict[str, Any] = {"tconv.nn": cls(*size, **layer.kwargs(), method="native")}
    torch_args = _torch_expressible(layer)
    if torch_args is not None:  # torch's own module, the baseline of tconv.nn's target
        pad, out_pad = torch_args
        mods["torch.nn"] = cls._torch(*size, layer.stride, pad, out_pad, layer.groups)
    out: dict[str, tuple[Callable[[], torch.Tensor], list[torch.Tensor]]] = {}
    for name, mod in mods.items():
        mod = mod.to(dev)
        with torch.no_grad():
            mod.weight.copy_(c.w)
            mod.bias.copy_(c.b)
        out[name] = (functools.partial(mod, x), [x, mod.weight, mod.bias])
    return out


def _peer_contenders(
    c: _Config, peers: Sequence[str], skipped: dict[str, str]
) -> tuple[dict[str, Callable[[], object]], dict[str, Callable[[], Any]]]:
    """The peers' timed calls and their results (a numpy array), noting the skipped ones."""
    calls: dict[str, Callable[[], object]] = {}
    results: dict[str, Callable[[], Any]] = {}
    for peer in peers:
        try:
            run, result = build(peer, c.layer, c.grad)
        except (Unsupported, ImportError) as err:
            skipped[peer] = str(err) or type(err).__name__
            continue
        calls[peer], results[peer] = run, result
    return calls, results


def _run_config(
    layer: Layer,
    pass_: str,
    dtype_name: str,
    layout: str,
    methods: Sequence[str],
    peers: Sequence[str],
    modules: bool,
    repeat: int,
    dev: torch.device,
    sync: Callable[[], None],
) -> list[dict[str, Any]]:
    c = _Config.make(layer, pass_, dtype_name, layout, dev)
    base = dict(layer=layer.name, pass_=pass_, dtype=dtype_name, layout=layout)
    contenders, skipped = _function_contenders(c, methods)
    wrt: dict[str, list[torch.Tensor]] = {}
    if modules and c.plain:
        for name, (call, leaves) in _module_contenders(c, dev).items():
            contenders[name], wrt[name] = call, leaves
    side = max(round(layer.macs() ** (1 / 3)), 8)
    ma = torch.randn(side, side, dtype=c.x.dtype, device=dev)
    mb = torch.randn(side, side, dtype=c.x.dtype, device=dev)
    fns = {name: c.timed(f, wrt.get(name, c.leaves)) for name, f in contenders.items()}
    fns["matmul"] = lambda: torch.mm(ma, mb)
    nbytes = moved_bytes(layer, c.x.element_size(), c.grad)
    src = torch.empty(max(nbytes // (2 * c.x.element_size()), 1), dtype=c.x.dtype, device=dev)
    dst = torch.empty_like(src)
    fns["copy"] = lambda: dst.copy_(src)  # reads and writes nbytes in all
    results: dict[str, Callable[[], Any]] = {}
    if c.plain and dev.type == "cpu":
        calls, results = _peer_contenders(c, peers, skipped)
        fns.update(calls)
    names = list(fns)  # "torch" first: paired with itself, the run's A/A noise floor
    pairs = dict(
        zip(names, paired_timings(fns["torch"], [fns[n] for n in names], repeat, sync=sync))
    )
    limits = _Limits(
        mm_speed=paired_speed(pairs["matmul"]),
        mm_flop=2 * side**3,
        copy_speed=paired_speed(pairs["copy"]),
        copy_bytes=2 * src.numel() * src.element_size(),
    )
    out = []
    with torch.no_grad():
        ref = contenders["torch"]().double()
    for name in names:
        if name in ("matmul", "copy"):
            continue
        row = _row(c, name, pairs[name], limits)
        if name in contenders:
            row["memory_mb"] = _memory_mb(fns[name], dev, c.grad)
        if not c.grad and (name in contenders or name in results):
            row["max_rel_err"] = _max_rel_err(contenders.get(name) or results[name], ref)
        if name == "auto":
            row["choice"], row["auto_ratios"] = _auto_choice(c.x, c.w, c.b, layer, c.grad)
        out.append(dict(base, **row))
    for name, why in skipped.items():
        out.append(dict(base, contender=name, skipped=why))
    return out


def moved_bytes(layer: Layer, itemsize: int, grad: bool) -> int:
    """The bytes a layer's call must move at least: input, weight, bias and output once
    each; for forward + backward also their gradients (twice as many).

    >>> moved_bytes(Layer("t", (1, 2, 4), 2, 2, 2), 4, grad=False)  # x 8, w 8, b 2, y 16
    136
    """
    n = (
        math.prod(layer.input_shape)
        + math.prod(layer.weight_shape())
        + layer.out_channels
        + math.prod(layer.output_shape())
    )
    return n * itemsize * (2 if grad else 1)


@dataclass(frozen=True)
class _Limits:
    """The machine's same-run limits, each as a paired speed against torch: a matrix product
    of ``mm_flop`` FLOPs and a memory copy moving ``copy_bytes``."""

    mm_speed: float
    mm_flop: int
    copy_speed: float
    copy_bytes: int


def _row(c: _Config, name: str, pairs: list[Any], limits: _Limits) -> dict[str, Any]:
    """A contender's row, every figure from its own pairs with torch: torch's median time
    there (``base_ms``), the paired speed, and the rates derived from both, so that a row
    never contradicts itself (the contender's GFLOP/s, % of the matmul rate and % of the
    copy rate are torch's times its speed).

    ``matmul_share``: the layer's FLOP rate over the same-run matmul rate; ``copy_share``:
    the bytes the layer must move (:func:`moved_bytes`) per second over the same-run copy
    rate (100% = the layer moves its bytes as fast as a copy does)."""
    base = statistics.median(t for t, _, _ in pairs)
    speed = paired_speed(pairs)
    flop = 2 * c.layer.macs() * (3 if c.grad else 1)
    nbytes = moved_bytes(c.layer, c.x.element_size(), c.grad)
    # torch's shares from the paired limits: its time over the limit's, scaled to equal work
    base_mm = flop / limits.mm_flop / limits.mm_speed
    base_copy = nbytes / limits.copy_bytes / limits.copy_speed
    row: dict[str, Any] = dict(
        contender=name,
        median_ms=1e3 * statistics.median(t for _, t, _ in pairs),
        base_ms=1e3 * base,
        speed=1.0 if name == "torch" else speed,
        base_gflops=flop / base / 1e9,
        matmul_gflops=limits.mm_flop / (base / limits.mm_speed) / 1e9,
        base_matmul_share=base_mm,
        base_copy_share=base_copy,
        copy_gbps=limits.copy_bytes / (base / limits.copy_speed) / 1e9,
    )
    if name == "torch":  # torch paired with itself: how far apart two equal calls read
        row["aa_speed"] = speed
    row["gflops"] = row["base_gflops"] * row["speed"]
    row["matmul_share"] = base_mm * row["speed"]
    row["copy_share"] = base_copy * row["speed"]
    return row


def _max_rel_err(result: Callable[[], Any], ref: torch.Tensor) -> float:
    """The largest difference of a forward result (a tensor or numpy array) from torch's,
    relative to torch's largest magnitude."""
    scale = max(ref.abs().max().item(), 1e-30)
    with torch.no_grad():
        y = result()
    if isinstance(y, torch.Tensor):
        return (y.double() - ref).abs().max().item() / scale
    import numpy as np

    return float(np.abs(y - ref.cpu().numpy()).max() / scale)


def _auto_choice(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, layer: Layer, grad: bool
) -> tuple[str, dict[str, float]]:
    """The execution auto's cache holds for this configuration (the last one measured) and
    the time ratios to native it measured."""
    for key, choice in reversed(_auto.cache().items()):
        same = key[2] == tuple(x.shape) and key[1] == x.dtype and key[7] == grad
        if same and key[4] == tuple(w.shape) and key[3] == _auto._layout(x):
            return choice.execution, dict(choice.ratios)
    return _auto.fallback(x, w, layer.geometry(), grad, bias=True) + " (rule)", {}
