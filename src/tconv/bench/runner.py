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
from typing import Any

import torch
import torch.nn.functional as F

from ..functional import conv_transpose
from ..methods import auto as _auto
from ..timing import paired_speed, paired_timings
from .catalog import CATALOG, Layer
from .peers import PEERS, Unsupported, build

__all__ = [
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
TCONV_METHODS = ("auto", "native", "subpixel", "dilate", "scatter", "matrix")
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MATRIX_MAX_NNZ = 20_000_000


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
    methods: Sequence[str] = ("auto", "subpixel", "dilate", "scatter"),
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
    dtype = DTYPES[dtype_name]
    grad = pass_ == "backward"
    plain = dtype_name == "float32" and layout == "nchw"
    x, w, b = layer.tensors(dtype, dev)
    x = _layout(x, layout)
    leaves = [t.requires_grad_(grad) for t in (x, w, b)]
    gy = _layout(torch.randn(layer.output_shape(), dtype=dtype, device=dev), layout)
    base = dict(layer=layer.name, pass_=pass_, dtype=dtype_name, layout=layout)

    def timed(f: Callable[[], torch.Tensor], wrt: list[torch.Tensor]) -> Callable[[], object]:
        if grad:
            return lambda: torch.autograd.grad(f(), wrt, gy)

        def fwd() -> object:
            with torch.no_grad():
                return f()

        return fwd

    contenders: dict[str, Callable[[], torch.Tensor]] = {}
    torch_args = _torch_expressible(layer)
    if torch_args is not None:
        p, op = torch_args
        conv = _CONV_T[layer.rank]
        contenders["torch"] = lambda: conv(x, w, b, layer.stride, p, op, layer.groups)
    else:
        contenders["torch"] = lambda: conv_transpose(x, w, b, **layer.kwargs(), method="native")
    skipped: dict[str, str] = {}
    wrt: dict[str, list[torch.Tensor]] = {}
    for m in methods:
        if m != "auto" and not plain:
            continue
        if m == "matrix" and layer.macs() > _MATRIX_MAX_NNZ:
            skipped[m] = f"{layer.macs():,} non-zeros > {_MATRIX_MAX_NNZ:,}"
            continue
        contenders[m] = functools.partial(
            conv_transpose,
            x,
            w,
            b,
            **layer.kwargs(),
            method=m,  # type: ignore[arg-type]
        )
    if modules and plain:
        from .. import nn as tnn

        cls = {1: tnn.ConvTranspose1d, 2: tnn.ConvTranspose2d, 3: tnn.ConvTranspose3d}[layer.rank]

        def timed_module(name: str, mod: Any) -> None:
            mod = mod.to(dev)
            with torch.no_grad():
                mod.weight.copy_(w)
                mod.bias.copy_(b)
            contenders[name] = lambda: mod(x)
            wrt[name] = [x, mod.weight, mod.bias]

        size = (x.shape[1], layer.out_channels, layer.kernel_size)
        timed_module("tconv.nn", cls(*size, **layer.kwargs(), method="native"))
        if torch_args is not None:  # torch's own module, the baseline of tconv.nn's target
            tcls = (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)
            pad, out_pad = torch_args
            mod = tcls[layer.rank - 1](*size, layer.stride, pad, out_pad, layer.groups)  # type: ignore[arg-type]
            timed_module("torch.nn", mod)
    side = max(round(layer.macs() ** (1 / 3)), 8)
    ma = torch.randn(side, side, dtype=dtype, device=dev)
    mb = torch.randn(side, side, dtype=dtype, device=dev)
    fns = {name: timed(f, wrt.get(name, leaves)) for name, f in contenders.items()}
    fns["matmul"] = lambda: torch.mm(ma, mb)
    extra: dict[str, Callable[[], object]] = {}
    results: dict[str, Callable[[], Any]] = {}
    if dtype_name == "float32" and layout == "nchw" and dev.type == "cpu":
        for peer in peers:
            try:
                run, result = build(peer, layer, grad)
            except (Unsupported, ImportError) as err:
                skipped[peer] = str(err) or type(err).__name__
                continue
            extra[peer], results[peer] = run, result
    fns.update(extra)
    names = list(fns)  # "torch" first: paired with itself, the run's A/A noise floor
    pairs = dict(
        zip(names, paired_timings(fns["torch"], [fns[n] for n in names], repeat, sync=sync))
    )
    times = {n: [c for _, c, _ in p] for n, p in pairs.items()}
    times["torch"] = [t for p in pairs.values() for t, _, _ in p]  # every torch call of the run
    flop = 2 * layer.macs() * (3 if grad else 1)
    mm_rate = 2 * side**3 / statistics.median(times["matmul"]) / 1e9
    with torch.no_grad():
        ref = contenders["torch"]().double()
    scale = max(ref.abs().max().item(), 1e-30)
    out = []
    for name in names:
        if name == "matmul":
            continue
        t = times[name]
        med = statistics.median(t)
        speed = paired_speed(pairs[name])
        row: dict[str, Any] = dict(
            base,
            contender=name,
            median_ms=1e3 * med,
            speed=1.0 if name == "torch" else speed,
            gflops=flop / med / 1e9,
            matmul_gflops=mm_rate,
        )
        if name == "torch":  # torch paired with itself: how far apart two equal calls read
            row["aa_speed"] = speed
        row["matmul_share"] = row["gflops"] / mm_rate
        if name in contenders:
            row["memory_mb"] = _memory_mb(fns[name], dev, grad)
            if not grad:
                with torch.no_grad():
                    y = contenders[name]().double()
                row["max_rel_err"] = (y - ref).abs().max().item() / scale
        elif name in results and not grad:
            import numpy as np

            row["max_rel_err"] = float(np.abs(results[name]() - ref.cpu().numpy()).max() / scale)
        if name == "auto":
            row["choice"], row["auto_ratios"] = _auto_choice(x, w, b, layer, grad)
        out.append(row)
    for name, why in skipped.items():
        out.append(dict(base, contender=name, skipped=why))
    return out


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
