"""Benchmarks: a catalog of representative layers and a runner that reports medians and ratios.

Every figure is a median of repeated timings, and every ratio is against a baseline measured
in the same run (never a number from another machine or another day).

>>> [layer.name for layer in LAYERS]
['dcgan-2d', 'decoder-2d', 'vocoder-1d', 'volume-3d']
>>> LAYERS[0].output_shape()
(1, 64, 32, 32)
"""

from __future__ import annotations

import functools
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import torch

from ..functional import conv_transpose
from ..shapes import Geometry

__all__ = [
    "LAYERS",
    "SAME_PAIRS",
    "Layer",
    "bench_methods",
    "bench_same_padding",
    "format_methods",
    "format_same",
    "median_ratio",
    "median_time",
    "median_times",
    "timings",
]


@dataclass(frozen=True)
class Layer:
    """A transposed-convolution layer to time: input shape, weight shape and settings."""

    name: str
    input_shape: tuple[int, ...]
    out_channels: int
    kernel_size: int
    stride: int
    padding: Any = 0
    output_padding: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return len(self.input_shape) - 2

    def geometry(self) -> Geometry:
        return Geometry.create(
            self.kernel_size, self.stride, self.padding, self.output_padding, rank=self.rank
        )

    def output_shape(self) -> tuple[int, ...]:
        out = self.geometry().output_size(self.input_shape[2:])
        return (self.input_shape[0], self.out_channels, *out)

    def tensors(self, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(0)
        x = torch.randn(*self.input_shape, generator=g, dtype=dtype)
        w = torch.randn(
            self.input_shape[1],
            self.out_channels,
            *(self.kernel_size,) * self.rank,
            generator=g,
            dtype=dtype,
        )
        return x, w

    def macs(self) -> int:
        """Multiply-adds of the dense computation (every input element times every tap)."""
        n, cin, *spatial = self.input_shape
        return n * cin * self.out_channels * math.prod(spatial) * self.kernel_size**self.rank

    def describe(self) -> str:
        pad = f" p{self.padding}" if self.padding else ""
        op = f" op{self.output_padding}" if self.output_padding else ""
        return (
            f"{self.name}: {'x'.join(map(str, self.input_shape))} -> "
            f"{'x'.join(map(str, self.output_shape()))}, k{self.kernel_size} "
            f"s{self.stride}{pad}{op}"
        )


LAYERS: tuple[Layer, ...] = (
    Layer("dcgan-2d", (1, 128, 16, 16), 64, 4, 2, 1, note="GAN generator block"),
    Layer("decoder-2d", (1, 32, 64, 64), 16, 3, 2, 1, 1, note="segmentation decoder"),
    Layer("vocoder-1d", (1, 64, 512), 32, 16, 8, 4, note="audio vocoder (HiFi-GAN style)"),
    Layer("volume-3d", (1, 32, 12, 12, 12), 16, 2, 2, note="3-D segmentation decoder"),
)

#: (kernel, stride) pairs whose 'same' padding PyTorch's own arguments cannot express
SAME_PAIRS: tuple[tuple[int, int], ...] = ((3, 2), (5, 2), (2, 1), (4, 3))


def median_time(fn: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs (after ``warmup``)."""
    return median_times([fn], repeat, warmup)[0]


def median_times(fns: Sequence[Callable[[], object]], repeat: int, warmup: int = 2) -> list[float]:
    """Median wall time of each function (see :func:`timings`)."""
    return [statistics.median(t) for t in timings(fns, repeat, warmup)]


def median_ratio(a: Callable[[], object], b: Callable[[], object], repeat: int) -> float:
    """Median over rounds of time(a) / time(b), both timed in the same round: robust to the
    machine's speed drifting during the run (as it does on a shared machine)."""
    ta, tb = timings([a, b], repeat)
    return statistics.median(x / y for x, y in zip(ta, tb))


def timings(fns: Sequence[Callable[[], object]], repeat: int, warmup: int = 2) -> list[list[float]]:
    """Wall times of each function over ``repeat`` rounds, timed round-robin so that they
    share the machine's background load (a shared machine is noisy: interleaving keeps ratios
    honest), in alternating order (whichever runs first in a round is measurably slower)."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times: list[list[float]] = [[] for _ in fns]
    order = list(range(len(fns)))
    for _ in range(repeat):
        for j in order:
            t0 = time.perf_counter()
            fns[j]()
            times[j].append(time.perf_counter() - t0)
        order.reverse()  # the first call of a round runs slower: alternate who goes first
    return times


def _progress(done: int, total: int, label: str, out: TextIO | None) -> None:
    """A one-line progress bar on ``out`` (default: the current stderr) when it is a terminal."""
    out = sys.stderr if out is None else out
    if out.isatty():
        width = 24
        filled = width * done // total
        out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label:<40}")
        out.flush()
        if done == total:
            out.write("\n")


def bench_methods(
    layers: Iterable[Layer] = LAYERS,
    methods: Sequence[str] = ("native", "matrix", "dilate", "scatter", "subpixel"),
    repeat: int = 5,
    max_matrix_nnz: int = 60_000_000,
    progress: TextIO | None = None,
) -> list[dict[str, Any]]:
    """Time every method on every layer (forward, float32, no grad); ratios vs native.

    Returns one row per (layer, method): ``median_ms``, ``ratio`` (to native in the same run),
    ``max_rel_err`` (against native, relative to native's largest magnitude) or ``skipped``.
    """
    rows: list[dict[str, Any]] = []
    layers = list(layers)
    total, done = len(layers) * len(methods), 0
    for layer in layers:
        x, w = layer.tensors()
        run = functools.partial(
            conv_transpose,
            x,
            w,
            stride=layer.stride,
            padding=layer.padding,
            output_padding=layer.output_padding,
        )
        with torch.no_grad():
            ref = run()
            for method in methods:
                done += 1
                _progress(done, total, f"{layer.name} {method}", progress)
                row: dict[str, Any] = {"layer": layer.name, "method": method}
                if method == "matrix" and layer.macs() > max_matrix_nnz:
                    row["skipped"] = f"{layer.macs():,} non-zeros exceed {max_matrix_nnz:,}"
                    rows.append(row)
                    continue
                ours = functools.partial(run, method=method)
                y = ours()
                if method == "native":  # the baseline itself: time it once
                    t_native = t = median_time(run, repeat)
                    ratio = 1.0
                else:
                    tn, tm = timings([run, ours], repeat)
                    t_native, t = statistics.median(tn), statistics.median(tm)
                    ratio = statistics.median(a / b for a, b in zip(tm, tn))
                scale = ref.abs().max().item()
                row.update(
                    median_ms=1e3 * t,
                    native_ms=1e3 * t_native,
                    ratio=ratio,
                    max_rel_err=(y - ref).abs().max().item() / scale,
                )
                rows.append(row)
    return rows


def bench_same_padding(
    pairs: Iterable[tuple[int, int]] = SAME_PAIRS,
    shape: tuple[int, ...] = (1, 64, 64, 64),
    out_channels: int = 64,
    repeat: int = 41,
    progress: TextIO | None = None,
) -> list[dict[str, Any]]:
    """The native method with padding='same' vs a plain torch call of the same output size.

    The baseline is ``torch.nn.functional.conv_transpose2d`` with the same kernel and stride
    and the symmetric padding/output_padding that gives the same output size where one exists
    (the odd pixel then sits at the other end). Where none does (e.g. kernel 2, stride 1) it is
    torch's full output (padding 0), the call tconv makes before cropping: the ratio is then
    the whole cost of tconv's dispatch and crop.
    """
    rows = []
    pairs = list(pairs)
    for n, (k, s) in enumerate(pairs, 1):
        _progress(n, len(pairs), f"same k{k} s{s}", progress)
        g = torch.Generator().manual_seed(0)
        x = torch.randn(*shape, generator=g)
        w = torch.randn(shape[1], out_channels, k, k, generator=g)
        target = Geometry.create(k, s, "same", rank=2).output_size(shape[2:])
        plain = Geometry.create(k, s, 0, rank=2)
        excess = plain.full_size(shape[2:])[0] - target[0]
        op = excess % 2
        pad = (excess + op) // 2
        if excess < 0 or op >= s:
            pad = op = 0
        base_size = Geometry.create(k, s, pad, op, rank=2).output_size(shape[2:])
        same = functools.partial(conv_transpose, x, w, stride=s, padding="same")
        base = functools.partial(torch.nn.functional.conv_transpose2d, x, w, None, s, pad, op)
        with torch.no_grad():
            ta, tb = timings([same, base], repeat)
        t_same, t_base = statistics.median(ta), statistics.median(tb)
        rows.append(
            {
                "kernel": k,
                "stride": s,
                "output": list(target),
                "baseline": f"torch padding={pad} output_padding={op} -> {list(base_size)}",
                "same_ms": 1e3 * t_same,
                "baseline_ms": 1e3 * t_base,
                "ratio": statistics.median(a / b for a, b in zip(ta, tb)),
            }
        )
    return rows


def format_methods(rows: Sequence[dict[str, Any]]) -> str:
    """The :func:`bench_methods` rows as a text table."""
    lines = [f"{'layer':<12} {'method':<9} {'median ms':>10} {'x native':>9} {'max rel err':>12}"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"{r['layer']:<12} {r['method']:<9} skipped: {r['skipped']}")
        else:
            lines.append(
                f"{r['layer']:<12} {r['method']:<9} {r['median_ms']:>10.2f} {r['ratio']:>9.2f} "
                f"{r['max_rel_err']:>12.1e}"
            )
    return "\n".join(lines)


def format_same(rows: Sequence[dict[str, Any]]) -> str:
    """The :func:`bench_same_padding` rows as a text table."""
    lines = [f"{'k':>2} {'s':>2} {'same ms':>9} {'base ms':>9} {'ratio':>6}  baseline"]
    for r in rows:
        lines.append(
            f"{r['kernel']:>2} {r['stride']:>2} {r['same_ms']:>9.2f} {r['baseline_ms']:>9.2f} "
            f"{r['ratio']:>6.2f}  {r['baseline']}"
        )
    return "\n".join(lines)
