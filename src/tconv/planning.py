"""Find transposed-convolution settings for a size: :func:`plan` and :func:`inverse_of`.

Both search the one geometry in :mod:`tconv.shapes` and return :class:`Plan` objects that are
verified to produce their target and turn into modules with :meth:`Plan.to_module`.

>>> best = plan(16, 33)[0]
>>> best.output_size((16,))
(33,)
>>> [str(p) for p in plan(16, 33, kernel_sizes=[3], strides=[2])]
['kernel 3, stride 2, padding 0']
>>> inverse_of(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), (39, 39)).output_padding
(0, 0)
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .modules import CONV_TRANSPOSE
from .shapes import (
    Coverage,
    Geometry,
    IntOrTuple,
    ShapeError,
    as_tuple,
    conv_output_size,
    conv_padding,
    full_size,
    rank_of,
)

__all__ = ["Plan", "even_overlap", "inverse_of", "keras_conv_padding", "plan"]

DEFAULT_KERNELS = tuple(range(1, 9))
#: the default strides stop here: one layer that upsamples more is not a sensible layer
MAX_DEFAULT_STRIDE = 64
#: at most this many per-dimension combinations are ranked (fewer per dimension beyond it)
MAX_COMBINATIONS = 100_000
_CROP_HINT = "; pass allow_crop=True to allow crops/extensions"


@dataclass(frozen=True)
class Plan:
    """Settings of a transposed convolution that maps ``input_size`` to ``target``.

    ``padding``/``output_padding`` are PyTorch's arguments when they can express the crop;
    otherwise ``padding`` holds explicit ``(begin, end)`` crops (tconv's modules accept both) and
    ``output_padding`` is zeros. Made by :func:`plan` and :func:`inverse_of`;
    :meth:`to_module` builds the layer.

    Args:
        input_size: the input spatial size.
        target: the output spatial size the settings reach.
        kernel_size: kernel size per spatial dimension.
        stride: stride per dimension.
        padding: PyTorch's padding per dimension, or ``(begin, end)`` crops.
        output_padding: PyTorch's output_padding per dimension.
        dilation: dilation per dimension.
        uniform_overlap: whether every output phase gets the same number of kernel taps (no
            checkerboard from overlap).
        macs_per_output: multiply-adds per output element, per input/output channel pair.
        groups: channel groups.
        padding_mode: as in tconv's modules.
        defaults: constructor arguments :meth:`to_module` uses when not given (channels, for
            :func:`inverse_of`).

    Attributes:
        uncovered: computed from the settings, not an argument: how many output cells no input
            reaches (they hold only the bias, whatever the weights; see :attr:`coverage`); 0
            for a plan with full coverage.

    Example:
        >>> p = plan(16, 33, kernel_sizes=[4], strides=[2])[0]
        >>> p.kernel_size, p.stride, p.padding, p.output_padding, p.uniform_overlap
        ((4,), (2,), (1,), (1,), True)
        >>> p.to_module(3, 8)(torch.randn(1, 3, 16)).shape
        torch.Size([1, 8, 33])
        >>> p.uncovered, p.full_coverage
        (0, True)
        >>> q = plan(16, 33, kernel_sizes=[2], strides=[2])[0]  # the last cell is beyond the taps
        >>> str(q), q.uncovered
        ('kernel 2, stride 2, padding 0, output_padding 1; 1 of 33 output cells get no input', 1)
    """

    input_size: tuple[int, ...]
    target: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[Any, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    uniform_overlap: bool
    macs_per_output: float  # multiply-adds per output element, per input/output channel pair
    uncovered: int = field(init=False)  # output cells no input reaches (from the geometry)
    groups: int = 1
    padding_mode: str = "zeros"
    defaults: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "uncovered", self.coverage.uncovered)

    @property
    def coverage(self) -> Coverage:
        """Which output cells receive input (:meth:`tconv.shapes.Geometry.coverage`).

        >>> print(plan(16, 33, kernel_sizes=[2], strides=[2])[0].coverage.describe())
        1 of 33 output positions receives no input (1 past the end of the full output of 32:
        output_padding, output_size or a negative end crop adds zeros there); it holds only the
        bias
        """
        return self.geometry.coverage(self.input_size)

    @property
    def full_coverage(self) -> bool:
        """True when every output cell receives input (no cell holds only the bias)."""
        return self.uncovered == 0

    @property
    def explicit_crop(self) -> bool:
        """True when PyTorch's padding/output_padding cannot say it (``padding`` holds pairs)."""
        return bool(self.padding) and isinstance(self.padding[0], tuple)

    @property
    def geometry(self) -> Geometry:
        """The :class:`~tconv.shapes.Geometry` of these settings."""
        return Geometry.create(
            self.kernel_size,
            self.stride,
            self.padding,
            self.output_padding,
            self.dilation,
            self.groups,
            self.padding_mode,
            rank=len(self.kernel_size),
        )

    def output_size(self, input_size: IntOrTuple | None = None) -> tuple[int, ...]:
        """Output size for ``input_size`` (default: the planned input)."""
        return self.geometry.output_size(self.input_size if input_size is None else input_size)

    def to_module(
        self, in_channels: int | None = None, out_channels: int | None = None, **kwargs: Any
    ) -> torch.nn.Module:
        """A :mod:`tconv.nn` ConvTransposeNd with these settings (extra kwargs pass through).

        >>> m = plan((16, 12), (33, 25))[0].to_module(8, 4)
        >>> m(torch.randn(1, 8, 16, 12)).shape
        torch.Size([1, 4, 33, 25])
        """
        cin = self.defaults.get("in_channels") if in_channels is None else in_channels
        cout = self.defaults.get("out_channels") if out_channels is None else out_channels
        if cin is None or cout is None:
            raise ValueError("to_module needs in_channels and out_channels")
        options = {
            k: v for k, v in self.defaults.items() if k not in ("in_channels", "out_channels")
        }
        options.update(kwargs)
        cls: Any = CONV_TRANSPOSE[len(self.kernel_size)]
        module: torch.nn.Module = cls(
            cin,
            cout,
            self.kernel_size,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            dilation=self.dilation,
            padding_mode=self.padding_mode,
            **options,
        )
        return module

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for JSON)."""
        return {
            "input_size": list(self.input_size),
            "output_size": list(self.target),
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": [list(p) if isinstance(p, tuple) else p for p in self.padding],
            "output_padding": list(self.output_padding),
            "dilation": list(self.dilation),
            "explicit_crop": self.explicit_crop,
            "uniform_overlap": self.uniform_overlap,
            "macs_per_output": self.macs_per_output,
            "full_coverage": self.full_coverage,
            "uncovered": self.uncovered,
            "output_cells": math.prod(self.target),
            "uncovered_why": self.coverage.describe(),
        }

    def __str__(self) -> str:
        def one(values: Sequence[Any]) -> str:
            if len(set(values)) == 1:
                v = values[0]
                return f"({v[0]}, {v[1]})" if isinstance(v, tuple) else str(v)
            return "x".join(f"({v[0]}, {v[1]})" if isinstance(v, tuple) else str(v) for v in values)

        parts = [f"kernel {one(self.kernel_size)}", f"stride {one(self.stride)}"]
        parts.append(("crop " if self.explicit_crop else "padding ") + one(self.padding))
        if any(self.output_padding):
            parts.append(f"output_padding {one(self.output_padding)}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation {one(self.dilation)}")
        text = ", ".join(parts)
        if self.uncovered:
            text += f"; {self.uncovered} of {math.prod(self.target)} output cells get no input"
        return text


def even_overlap(kernel_size: int, stride: int, dilation: int = 1) -> bool:
    """Whether every output phase gets the same number of kernel taps (one dimension).

    The same answer as :func:`tconv.artifacts.overlap` having equal counts, without building
    the counts (whose size is the stride): tap ``j`` lands on phase ``j * dilation mod stride``,
    so the taps cycle through every phase iff ``gcd(dilation, stride) == 1``, and then evenly iff
    the stride divides the kernel size.

    Args:
        kernel_size: taps per dimension (>= 1).
        stride: the transposed convolution's stride (>= 1).
        dilation: spacing of the taps (>= 1).

    Returns:
        True when the overlap is even (no checkerboard from overlap).

    >>> even_overlap(4, 2), even_overlap(3, 2), even_overlap(4, 2, dilation=2)
    (True, False, False)
    """
    return stride == 1 or (math.gcd(dilation, stride) == 1 and kernel_size % stride == 0)


@dataclass(frozen=True)
class _Dim:
    """One dimension's candidate."""

    k: int
    s: int
    d: int
    padding: Any  # int, or (lo, hi) when torch cannot say it
    op: int
    uniform: bool
    macs: float  # input taps per output element: i * k / target
    uncovered: int  # output positions no tap reaches

    def key(self) -> tuple[Any, ...]:
        return (self.uncovered, not self.uniform, self.macs, self.k, self.s, self.d)


def _reach(i: int, k: int, s: int, d: int) -> tuple[int, int, int]:
    """(lowest, highest) output length PyTorch's arguments reach for one dimension, and the span.

    Crops stay below the kernel span per side; output_padding adds up to max(s, d) - 1.
    """
    g = Geometry.create(k, s, 0, 0, d)
    full, span = g.full_size(i)[0], g.span[0]
    return max(1, full - 2 * (span - 1)), full + max(s, d) - 1, span


def _strides_reaching(
    i: int, target: int, k: int, d: int, strides: Sequence[int], allow_crop: bool, keep: int
) -> list[int]:
    """The strides (of the sorted ``strides``) that may reach ``target``, without a full scan.

    Both ends of the reachable range grow with the stride, so the strides that reach the target
    form one window (found by bisection). A stride larger than the kernel span leaves some output
    phases without taps, so the overlap is uneven whatever the stride: beyond the span only the
    ``keep`` smallest can rank among the best, and only those are returned. The work is bounded
    by the span and ``keep``, not by the target.
    """
    first = 0
    if not allow_crop:  # with crops the output extends without bound, so every stride reaches up
        first = bisect.bisect_left(strides, target, key=lambda s: _reach(i, k, s, d)[1])
    last = bisect.bisect_right(strides, target, key=lambda s: _reach(i, k, s, d)[0])
    span = _reach(i, k, 1, d)[2]
    window = strides[first:last]
    split = bisect.bisect_right(window, span)
    return [*window[:split], *window[split : split + keep]]


def _dim_candidates(
    i: int,
    target: int,
    kernels: Iterable[int],
    strides: Sequence[int],
    dilations: Iterable[int],
    allow_crop: bool,
    keep: int,
) -> list[_Dim]:
    found = []
    for k, d in itertools.product(kernels, dilations):
        for s in _strides_reaching(i, target, k, d, strides, allow_crop, keep):
            g = Geometry.create(k, s, 0, 0, d)
            excess = g.full_size(i)[0] - target  # what the crop must remove (lo + hi)
            m = max(s, d)
            limit = g.span[0] - 1  # a larger crop would cut every tap of a border input away
            # PyTorch: lo = p, hi = p - op with 0 <= op < m, so 2p - op = excess; of those, the
            # fewest uncovered output cells, then the smallest output_padding
            best: tuple[int, Any, int] | None = None  # (uncovered, padding, op)
            for p in range(max(0, -(-excess // 2)), min(limit, (excess + m - 1) // 2) + 1):
                u = _uncovered(g, i, (p, excess - p))
                if best is None or u < best[0]:
                    best = (u, p, 2 * p - excess)
            if allow_crop and (best is None or best[0]):
                # an explicit (begin, end) crop: where PyTorch's arguments cannot say it, or
                # where they leave cells that no input reaches and a crop does not; as 'same',
                # the odd pixel at the end; extend at the end
                half = max(excess, 0) // 2
                los = range(max(0, excess - limit), min(excess, limit) + 1) if excess > 0 else [0]
                for lo in sorted(los, key=lambda lo: abs(lo - half)):
                    u = _uncovered(g, i, (lo, excess - lo))
                    if best is None or u < best[0]:
                        best = (u, (lo, excess - lo), 0)
            if best is None:
                continue
            uncovered, padding, op = best
            candidate = g.with_crop(
                ((padding, padding - op),) if isinstance(padding, int) else (padding,)
            )
            if candidate.output_size(i) != (target,):  # verify (cannot fail unless the math is off)
                raise AssertionError(f"plan arithmetic failed for k={k} s={s} d={d}")
            uniform = even_overlap(k, s, d)
            found.append(_Dim(k, s, d, padding, op, uniform, i * k / target, uncovered))
    return sorted(found, key=_Dim.key)


def _uncovered(g: Geometry, i: int, crop: tuple[int, int]) -> int:
    """Output positions no tap reaches with ``crop`` (the geometry's coverage)."""
    return g.with_crop((crop,)).coverage(i).uncovered


def plan(
    input_size: IntOrTuple,
    output_size: IntOrTuple,
    *,
    kernel_sizes: Iterable[int] | None = None,
    strides: Iterable[int] | None = None,
    dilations: Iterable[int] = (1,),
    allow_crop: bool = False,
    max_results: int = 20,
) -> list[Plan]:
    """Transposed-convolution settings that map ``input_size`` exactly to ``output_size``.

    Candidates per dimension: every kernel in ``kernel_sizes`` (default 1..8), stride in
    ``strides`` (default 1 .. ceil(output / input) + 1) and dilation, with the padding and
    output_padding that give the target — or, with ``allow_crop=True``, an explicit
    ``(begin, end)`` crop where PyTorch's arguments cannot, or where they leave output cells
    that no input reaches and a crop does not. Crops stay below the kernel span (a larger one
    would cut the border inputs away entirely). Every plan is verified through
    :mod:`tconv.shapes`. Ranked: full coverage first (every output cell receives input; a plan
    with cells that only hold the bias, from holes between the taps or an output_padding past
    the full output, comes after every plan without, marked by :attr:`Plan.uncovered`, fewest
    such cells first), then even overlap (every output phase gets the same number of kernel
    taps: no checkerboard from overlap), then fewest multiply-adds per output element, then the
    smallest kernel. N-d targets are planned per dimension and combined.

    Args:
        input_size: the input spatial size, an int or one per dimension.
        output_size: the target spatial size, an int or one per dimension.
        kernel_sizes: the kernel sizes to try (default 1..8).
        strides: the strides to try (default 1 .. ceil(output / input) + 1).
        dilations: the dilations to try.
        allow_crop: also offer explicit ``(begin, end)`` crops where PyTorch's padding and
            output_padding cannot reach the target or cannot reach it with full coverage.
        max_results: at most this many plans (>= 1).

    Returns:
        The plans, best first (at least one).

    Raises:
        ShapeError: nothing under the constraints reaches the target; the message names the
            reachable range. Also for sizes below 1.
        ValueError: for ``max_results`` below 1 or an empty list of candidates.
        TypeError: for values that are not ints.

    Example:
        >>> [str(p) for p in plan(16, 33, kernel_sizes=[3, 4], strides=[2])]
        ['kernel 4, stride 2, padding 1, output_padding 1', 'kernel 3, stride 2, padding 0']
        >>> [str(p) for p in plan(16, 33, kernel_sizes=[2, 3], strides=[2])]  # covered first
        ['kernel 3, stride 2, padding 0', 'kernel 2, stride 2, padding 0, output_padding 1; 1 of 33
        output cells get no input']
        >>> [str(p) for p in plan(16, 32, kernel_sizes=[3], strides=[2], allow_crop=True)]
        ['kernel 3, stride 2, padding 1, output_padding 1']
    """
    target = as_tuple(output_size, rank_of(input_size, output_size), "output_size")
    rank = len(target)
    i = as_tuple(input_size, rank, "input_size")
    if any(v < 1 for v in i) or any(v < 1 for v in target):
        raise ShapeError(
            f"input_size={i} and output_size={target} are invalid: every length must be >= 1"
        )
    if max_results < 1:
        raise ValueError(f"max_results={max_results} is invalid: it must be >= 1")
    kernels = tuple(kernel_sizes) if kernel_sizes is not None else DEFAULT_KERNELS
    dils = tuple(dilations)
    if not kernels or not dils:
        raise ValueError("kernel_sizes and dilations must each hold at least one value")
    per_dim = []
    for ii, t in zip(i, target):
        needed = -(-t // ii) + 1
        ss = (
            tuple(sorted(set(strides)))
            if strides is not None
            else tuple(range(1, min(needed, MAX_DEFAULT_STRIDE) + 1))
        )
        if not ss:
            raise ValueError("strides is empty: give at least one stride")
        found = _dim_candidates(ii, t, kernels, ss, dils, allow_crop, max_results)
        if not found:
            low, high = _reachable(ii, kernels, ss, dils, allow_crop)
            span = f"from {low} to {high}" if high is not None else f"from {low} up"
            beyond = ""
            if strides is None and needed > MAX_DEFAULT_STRIDE:
                beyond = (
                    f"; {t} is about {t // ii}x the input, beyond the default strides "
                    f"(1 to {MAX_DEFAULT_STRIDE}): upsample in several layers, or give the "
                    "strides explicitly"
                )
            raise ShapeError(
                f"no settings map input {ii} to output {t} with kernel_sizes={_listed(kernels)}, "
                f"strides={_listed(ss)}, dilations={_listed(dils)}"
                + ("" if allow_crop else " without an explicit crop")
                + f": reachable output sizes range {span} (nearest: "
                + f"{low if t < low else high})"
                + (beyond or ("" if allow_crop else _CROP_HINT))
            )
        per_dim.append(found[:max_results])
    while math.prod(len(c) for c in per_dim) > MAX_COMBINATIONS:
        per_dim = [c[: max(1, (len(c) * 3) // 4)] for c in per_dim]
    cells = math.prod(target)
    combos = sorted(
        itertools.product(*per_dim),
        key=lambda c: (
            cells - math.prod(t - d.uncovered for t, d in zip(target, c)),  # uncovered cells
            not all(d.uniform for d in c),
            math.prod(d.macs for d in c),
            sum(d.k for d in c),
            tuple(d.key() for d in c),
        ),
    )[:max_results]
    return [_to_plan(i, target, c) for c in combos]


def _to_plan(
    i: tuple[int, ...], target: tuple[int, ...], dims: Sequence[_Dim], **extra: Any
) -> Plan:
    explicit = any(not isinstance(d.padding, int) for d in dims)
    padding = tuple(
        ((d.padding, d.padding - d.op) if isinstance(d.padding, int) else d.padding)
        if explicit
        else d.padding
        for d in dims
    )
    out = Plan(
        input_size=i,
        target=target,
        kernel_size=tuple(d.k for d in dims),
        stride=tuple(d.s for d in dims),
        padding=padding,
        output_padding=tuple(0 if explicit else d.op for d in dims),
        dilation=tuple(d.d for d in dims),
        uniform_overlap=all(d.uniform for d in dims),
        macs_per_output=math.prod(d.macs for d in dims),
        **extra,
    )
    if out.output_size() != target:
        raise AssertionError(f"plan {out} does not reach {target}")
    return out


def _listed(values: Sequence[int]) -> str:
    """``[1, 2, 3]``, or ``[1, 2, ..., 64]`` for a long list (messages stay one short line)."""
    if len(values) <= 8:
        return str(list(values))
    return f"[{values[0]}, {values[1]}, ..., {values[-1]}]"


def _reachable(
    i: int,
    kernels: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    allow_crop: bool,
) -> tuple[int, int | None]:
    """Smallest and largest output length reachable for one dimension (None: unbounded).

    Crops are at most span - 1 per side (a larger one cuts a border input away entirely);
    output_padding adds up to max(stride, dilation) - 1; allow_crop extends without bound.
    """
    low, high = [], []
    for k, d in itertools.product(kernels, dilations):  # both ends grow with the stride
        low.append(_reach(i, k, min(strides), d)[0])
        high.append(_reach(i, k, max(strides), d)[1])
    return min(low), None if allow_crop else max(high)


def inverse_of(conv: torch.nn.Module | dict[str, Any], input_size: IntOrTuple) -> Plan:
    """The transposed convolution that maps ``conv``'s output back to exactly ``input_size``.

    ``conv`` is an ``nn.Conv1d/2d/3d`` (or a dict of its settings: kernel_size, stride=1,
    padding=0 (int, tuple, 'same', 'valid' or (begin, end) pairs), dilation=1, groups=1,
    padding_mode='zeros', in_channels, out_channels). The result keeps kernel, stride,
    dilation, groups and padding mode (so with the same weight it is the conv's exact adjoint)
    and picks the output_padding that restores every input size, e.g. the U-Net skip
    connection 39 -> 20 -> 39 with k3 s2 p1. ``plan.to_module()`` builds it with the channels
    swapped.

    Args:
        conv: the convolution, or a dict of its settings (see above).
        input_size: the convolution's input spatial size, to restore.

    Returns:
        The plan of the transposed convolution (target ``input_size``).

    Raises:
        ValueError: for a transposed convolution, or a dict without ``kernel_size``.
        TypeError: for anything other than a convolution or a dict.
        ShapeError: for invalid settings, or an input the convolution cannot take.

    Example:
        >>> conv = torch.nn.Conv1d(4, 8, 3, stride=2, padding=1)
        >>> p = inverse_of(conv, 39)
        >>> p.kernel_size, p.stride, p.padding, p.output_padding
        ((3,), (2,), (1,), (0,))
        >>> [
        ...     inverse_of(conv, n).output_size(conv_output_size(n, 3, 2, 1)) == (n,)
        ...     for n in (39, 40)
        ... ]
        [True, True]
        >>> p.to_module()
        ConvTranspose1d(8, 4, kernel_size=(3,), stride=(2,), padding=(1,))
    """
    if isinstance(conv, torch.nn.modules.conv._ConvNd):
        if conv.transposed:
            raise ValueError(f"{type(conv).__name__} is already a transposed convolution")
        settings: dict[str, Any] = dict(
            kernel_size=conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            groups=conv.groups,
            padding_mode=conv.padding_mode,
            in_channels=conv.in_channels,
            out_channels=conv.out_channels,
            bias=conv.bias is not None,
        )
        rank = len(conv.kernel_size)
    elif isinstance(conv, dict):
        settings = dict(conv)
        if "kernel_size" not in settings:
            raise ValueError("inverse_of needs the convolution's kernel_size")
        rank = rank_of(settings["kernel_size"], settings.get("stride", 1), input_size)
    else:
        raise TypeError(f"conv must be an nn.Conv1d/2d/3d or a dict, got {type(conv).__name__}")
    k = as_tuple(settings["kernel_size"], rank, "kernel_size")
    s = as_tuple(settings.get("stride", 1), rank, "stride")
    d = as_tuple(settings.get("dilation", 1), rank, "dilation")
    n = as_tuple(input_size, rank, "input_size")
    padding = settings.get("padding", 0)
    if padding == "same" and any(v > 1 for v in s):
        raise ShapeError(
            f"padding='same' with stride={s} is ambiguous: PyTorch's Conv refuses 'same' with a "
            "stride > 1, and TensorFlow/Keras's 'same' pads to output = ceil(input / stride) "
            "with pads that depend on the input size; pass those pads, "
            "padding=tconv.planning.keras_conv_padding(input_size, kernel_size, stride), or "
            "explicit ints / (begin, end) pairs"
        )
    crop = conv_padding(padding, k, d, rank)
    m = conv_output_size(n, k, s, crop, d)
    base = Geometry.create(
        k, s, crop, 0, d, settings.get("groups", 1), settings.get("padding_mode", "zeros")
    )
    exact = base.with_output_size(m, n)  # within the output_padding range: never raises
    ops = tuple(b0 - b1 for (_, b0), (_, b1) in zip(base.crop, exact.crop))
    symmetric = all(a == b for a, b in crop)
    defaults = {}
    if "in_channels" in settings and "out_channels" in settings:
        defaults = {
            "in_channels": settings["out_channels"],
            "out_channels": settings["in_channels"],
        }
    if "bias" in settings:
        defaults["bias"] = settings["bias"]
    result = Plan(
        input_size=m,
        target=n,
        kernel_size=k,
        stride=s,
        padding=tuple(a for a, _ in crop) if symmetric else exact.crop,
        output_padding=ops if symmetric else (0,) * rank,
        dilation=d,
        uniform_overlap=all(even_overlap(kk, ss, dd) for kk, ss, dd in zip(k, s, d)),
        macs_per_output=math.prod(mm * kk / nn for mm, kk, nn in zip(m, k, n)),
        groups=int(settings.get("groups", 1)),
        padding_mode=str(settings.get("padding_mode", "zeros")),
        defaults=defaults,
    )
    if result.output_size() != n:
        raise AssertionError(f"inverse {result} does not restore {n}")
    return result


def keras_conv_padding(
    input_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
) -> tuple[tuple[int, int], ...]:
    """The ``(begin, end)`` pads of TensorFlow/Keras's convolution ``padding="same"``.

    Keras pads a convolution so that ``output = ceil(input / stride)``: the total pad is what
    a transposed convolution of that output would add beyond the input (never negative), the
    odd one at the end. With stride 1 it equals PyTorch's ``Conv(padding="same")``; PyTorch
    refuses ``"same"`` with a larger stride, and the pads depend on the input size.

    Args:
        input_size: the convolution's input size (an int or one per dimension).
        kernel_size: its kernel size.
        stride: its stride.
        dilation: its dilation.

    Returns:
        ``(begin, end)`` per dimension, for ``inverse_of(..., padding=...)`` or ``F.pad``.

    Raises:
        ShapeError: for sizes, kernels, strides or dilations below 1.

    Example:
        >>> keras_conv_padding(39, 3, 2), keras_conv_padding(40, 3, 2)
        (((1, 1),), ((0, 1),))
        >>> conv_output_size(40, 3, 2, keras_conv_padding(40, 3, 2))  # ceil(40 / 2)
        (20,)
    """
    rank = rank_of(input_size, kernel_size, stride, dilation)
    n = as_tuple(input_size, rank, "input_size")
    s = as_tuple(stride, rank, "stride")
    if any(v < 1 for v in n):
        raise ShapeError(f"input_size={n} is invalid: every length must be >= 1")
    out = tuple(-(-nn // ss) for nn, ss in zip(n, s, strict=True))  # ceil(input / stride)
    totals = [max(f - nn, 0) for f, nn in zip(full_size(out, kernel_size, s, dilation), n)]
    return tuple((t // 2, t - t // 2) for t in totals)
