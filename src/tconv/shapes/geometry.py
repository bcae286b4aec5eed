"""The geometry type (:class:`Geometry`: the settings with the crops resolved) and the
helpers on plain settings (:func:`output_size`, :func:`output_size_range`,
:func:`output_padding_for`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from ..cache_keys import UNHASHABLE, freeze_args, lru_cache, thaw
from .conventions import _NAME_MEANS, _named_crop
from .formula import _full, _span
from .validation import (
    _MODE_CODES,
    PADDING_MODES,
    PADDING_NAMES,
    Crop,
    IntOrTuple,
    PaddingSpec,
    ShapeError,
    ShapeRuntimeError,
    _check_at_least,
    _is_int,
    _pairs,
    as_tuple,
    rank_of,
)

if TYPE_CHECKING:
    from .coverage import Coverage

# ---------------------------------------------------------------------------------------------
# the geometry type


@dataclass(frozen=True)
class Geometry:
    """Settings of a transposed convolution, with padding resolved to per-dimension crops.

    ``crop[j] = (lo, hi)``: the output is ``full[lo : L - hi]`` along spatial dimension ``j``.
    Build one with :meth:`create` (which validates); all fields are tuples of ``rank`` ints.
    Geometries are immutable and hashable.

    Args:
        kernel_size: kernel length per spatial dimension.
        stride: stride per dimension.
        dilation: dilation per dimension.
        crop: ``(lo, hi)`` per dimension; a negative value extends the output with zeros
            (or with ``padding_mode``'s values).
        groups: number of channel groups.
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``
            (see :data:`PADDING_MODES`).

    Example:
        >>> g = Geometry.create((3, 3), stride=2, padding=1, output_padding=1)
        >>> g.crop
        ((1, 0), (1, 0))
        >>> g.output_size((16, 16))
        (32, 32)
        >>> g.torch_padding()
        ((1, 1), (1, 1))
    """

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    crop: Crop
    groups: int = 1
    padding_mode: str = "zeros"

    @property
    def direct(self) -> bool:
        """True when a method computes it as it is: zeros mode and every crop ``>= 0`` (no
        zero extension or border folding around it).

        >>> Geometry.create(3, padding=1).direct, Geometry.create(3, padding=((-1, 0),)).direct
        (True, False)
        """
        cached: bool | None = self.__dict__.get("_direct")  # computed once (every call asks)
        if cached is None:
            crops = all(lo >= 0 and hi >= 0 for lo, hi in self.crop)
            cached = self.padding_mode == "zeros" and crops
            object.__setattr__(self, "_direct", cached)
        return cached

    def __hash__(self) -> int:
        # computed once: geometries key several per-call caches (torch's arguments, auto's
        # choices, call checks). Only ints are hashed (the mode by its index), so the value is
        # the same in every process and safe to keep in a pickled geometry.
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            mode = self.padding_mode
            code = _MODE_CODES.get(mode, -1) if isinstance(mode, str) else -1
            cached = hash(
                (self.kernel_size, self.stride, self.dilation, self.crop, self.groups, code)
            )
            object.__setattr__(self, "_hash", cached)
        return cached

    @classmethod
    def create(
        cls,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: PaddingSpec = 0,
        output_padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        padding_mode: str = "zeros",
        rank: int | None = None,
    ) -> Geometry:
        """Validate settings and resolve ``padding``/``output_padding`` to crops.

        ``padding``: an int or tuple (PyTorch: crop ``p`` at both ends), ``"valid"``,
        ``"same"``, ``"same_lower"``, or explicit ``(begin, end)`` pairs per dimension (negative
        values extend with zeros). ``output_padding`` then shortens the end crop.

        Results are cached (:func:`tconv.cache_keys.lru_cache` on the normalised arguments, which
        tell ``True`` and ``1.0`` from ``1``), so a layer called many times validates its
        settings once.

        >>> Geometry.create(4, stride=2, padding="same").crop
        ((1, 1),)
        >>> Geometry.create(2, stride=3, padding="same").crop
        ((0, -1),)
        """
        args = (kernel_size, stride, padding, output_padding, dilation, groups, padding_mode, rank)
        key = freeze_args(args)
        if key is UNHASHABLE or cls is not Geometry:  # e.g. a dict: uncached (it raises)
            return cls._create(*args)
        return _create_cached(key)

    @classmethod
    def _create(
        cls,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: PaddingSpec = 0,
        output_padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        padding_mode: str = "zeros",
        rank: int | None = None,
    ) -> Geometry:
        """Uncached :meth:`create`."""
        if rank is None:
            rank = rank_of(kernel_size, stride, dilation, output_padding)
            if isinstance(padding, Sequence) and not isinstance(padding, str) and len(padding) > 1:
                rank = max(rank, len(padding))
        if rank not in (1, 2, 3):
            raise ShapeError(f"rank={rank} is invalid: tconv supports 1, 2 or 3 spatial dimensions")
        k = as_tuple(kernel_size, rank, "kernel_size")
        s = as_tuple(stride, rank, "stride")
        d = as_tuple(dilation, rank, "dilation")
        op = as_tuple(output_padding, rank, "output_padding")
        _check_at_least(k, 1, "kernel_size")
        _check_at_least(s, 1, "stride")
        _check_at_least(d, 1, "dilation")
        if not _is_int(groups):
            raise TypeError(
                f"groups={groups!r} is invalid: groups must be an int, got {type(groups).__name__}"
            )
        if int(groups) < 1:
            raise ShapeRuntimeError(f"groups={groups!r} is invalid: groups must be an int >= 1")
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"padding_mode={padding_mode!r} is invalid: valid modes are {PADDING_MODES}"
            )
        limit = tuple(max(ss, dd) for ss, dd in zip(s, d))
        if any(o < 0 or o >= m for o, m in zip(op, limit)):
            raise ShapeRuntimeError(
                f"output_padding={op} is invalid for stride={s}, dilation={d}: each "
                f"output_padding must be smaller than max(stride, dilation), so valid values are "
                + ", ".join(f"0..{m - 1}" for m in dict.fromkeys(limit))
                + " per dimension"
            )
        if isinstance(padding, str):
            if padding not in PADDING_NAMES:  # a padding (any spelling) is geometry
                raise ShapeError(
                    f"padding={padding!r} is invalid: valid names are {PADDING_NAMES}, or give an "
                    "int, a tuple, or (begin, end) pairs"
                )
            if any(op):
                raise ShapeError(
                    f"padding={padding!r} with output_padding={op} is invalid: "
                    f"{_NAME_MEANS[padding]}, so there is no output_padding to add; pass "
                    "output_size= for another size, or explicit (begin, end) crop pairs"
                )
            crop = tuple(_named_crop(padding, sp, ss) for sp, ss in zip(_span(k, d), s))
        else:
            crop = _pairs(padding, rank)  # TypeError/ShapeError for anything else
            explicit_pairs = not _is_int(padding) and not all(
                _is_int(v) for v in cast(Sequence[object], padding)
            )
            if not explicit_pairs and any(lo < 0 for lo, _ in crop):
                raise ShapeRuntimeError(
                    f"padding={padding!r} is invalid: an int padding must be >= 0 (it crops both "
                    "ends); use (begin, end) pairs with negative values to extend with zeros"
                )
        crop = tuple((lo, hi - o) for (lo, hi), o in zip(crop, op))
        return cls(k, s, d, crop, int(groups), padding_mode)

    # -- derived quantities -------------------------------------------------------------------

    @property
    def rank(self) -> int:
        """Number of spatial dimensions."""
        return len(self.kernel_size)

    @property
    def span(self) -> tuple[int, ...]:
        """Dilated kernel extent ``d * (k - 1) + 1`` per dimension."""
        return _span(self.kernel_size, self.dilation)

    def full_size(self, input_size: IntOrTuple) -> tuple[int, ...]:
        """Full output length per dimension (before cropping)."""
        i = as_tuple(input_size, self.rank, "input_size")
        return _full(i, self.kernel_size, self.stride, self.dilation)

    def _raw_output_size(self, input_size: IntOrTuple) -> tuple[int, ...]:
        i = as_tuple(input_size, self.rank, "input_size")
        if any(v < 1 for v in i):
            raise ShapeRuntimeError(
                f"input spatial size {i} is invalid: every spatial length must be >= 1"
            )
        return tuple(L - lo - hi for L, (lo, hi) in zip(self.full_size(i), self.crop))

    def output_size(self, input_size: IntOrTuple) -> tuple[int, ...]:
        """Output size for ``input_size``; raises :class:`ShapeError` unless every length >= 1.

        >>> Geometry.create(3, stride=2, padding=1, output_padding=1).output_size(16)
        (32,)
        """
        out = self._raw_output_size(input_size)
        if any(o < 1 for o in out):
            i = as_tuple(input_size, self.rank, "input_size")
            raise ShapeRuntimeError(
                f"output size {out} is invalid: every length must be >= 1, but input {i} with "
                f"kernel_size={self.kernel_size}, stride={self.stride}, dilation={self.dilation} "
                f"gives full length {self.full_size(i)} and the crop {self.crop} removes "
                f"{tuple(lo + hi for lo, hi in self.crop)}; use less padding"
            )
        return out

    def cropped_size(self, input_size: IntOrTuple) -> tuple[int, ...]:
        """``L - lo - hi`` per dimension, clipped at 0 instead of raising.

        For methods that :func:`tconv.functional.apply` may call with an inner geometry whose
        non-negative crops remove everything (the zero extension is added afterwards).

        >>> Geometry.create(1, padding=((1, -1),)).with_crop(((1, 0),)).cropped_size(1)
        (0,)
        """
        return tuple(max(o, 0) for o in self._raw_output_size(input_size))

    def output_size_range(self, input_size: IntOrTuple) -> tuple[tuple[int, int], ...]:
        """(min, max) output length per dimension reachable by adding output_padding.

        output_padding may be 0 .. max(stride, dilation) - 1 (PyTorch's rule); lengths below 1
        are not part of the range.

        >>> Geometry.create(3, stride=2, padding=1).output_size_range(16)
        ((31, 32),)
        """
        out = self._raw_output_size(input_size)
        ranges = tuple(
            (max(o, 1), o + max(s, d) - 1) for o, s, d in zip(out, self.stride, self.dilation)
        )
        if any(lo > hi for lo, hi in ranges):
            self.output_size(input_size)  # raises with the full explanation
        return ranges

    def explain(self, input_size: IntOrTuple) -> tuple[str, ...]:
        """The output-size formula filled in, one string per dimension.

        ``(i - 1)*s - lo - hi + d*(k - 1) + 1 = o``, with the output from :meth:`output_size`
        (which validates); a negative crop (a zero extension) shows as ``+ |crop|``.

        >>> Geometry.create(3, stride=2, padding=1, output_padding=1).explain(16)
        ('(16 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 32',)
        >>> Geometry.create(2, stride=3, padding="same").explain(16)
        ('(16 - 1)*3 - 0 + 1 + 1*(2 - 1) + 1 = 48',)
        """
        i = as_tuple(input_size, self.rank, "input_size")
        out = self.output_size(i)

        def minus(v: int) -> str:
            return f"- {v}" if v >= 0 else f"+ {-v}"

        rows = zip(i, self.stride, self.crop, self.dilation, self.kernel_size, out, strict=True)
        return tuple(
            f"({n} - 1)*{s} {minus(lo)} {minus(hi)} + {d}*({k} - 1) + 1 = {o}"
            for n, s, (lo, hi), d, k, o in rows
        )

    def with_output_size(
        self, input_size: IntOrTuple, output_size: IntOrTuple, allow_crop: bool = False
    ) -> Geometry:
        """The geometry that gives exactly ``output_size`` for ``input_size``.

        Within the output_padding range (0 .. max(stride, dilation) - 1) the end crop shrinks;
        beyond it, ``allow_crop=True`` crops or zero-extends the end, else a ShapeError lists the
        reachable range and the nearest sizes.

        >>> g = Geometry.create(3, stride=2, padding=1)
        >>> g.with_output_size(16, 32).crop
        ((1, 0),)
        >>> g.with_output_size(16, 40, allow_crop=True).crop
        ((1, -8),)
        """
        i = as_tuple(input_size, self.rank, "input_size")
        target = as_tuple(output_size, self.rank, "output_size")
        if any(t < 1 for t in target):
            raise ShapeError(f"output_size={target} is invalid: every length must be >= 1")
        ranges = self.output_size_range(i)
        base = self._raw_output_size(i)
        bad = [j for j, (t, (lo, hi)) in enumerate(zip(target, ranges)) if not lo <= t <= hi]
        if bad and not allow_crop:
            nearest = tuple(min(max(t, lo), hi) for t, (lo, hi) in zip(target, ranges))
            raise ShapeError(
                f"requested an output size of {target}, but valid sizes range from "
                f"{tuple(r[0] for r in ranges)} to {tuple(r[1] for r in ranges)} (for an input "
                f"of {i} with kernel_size={self.kernel_size}, stride={self.stride}, "
                f"dilation={self.dilation}, crop={self.crop}); the nearest reachable size is "
                f"{nearest}; pass allow_crop=True to crop or zero-extend the end, or see "
                "tconv.plan() for settings that reach it"
            )
        crop = tuple((lo, hi - (t - b)) for (lo, hi), t, b in zip(self.crop, target, base))
        return replace(self, crop=crop)

    def torch_padding(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """``(padding, output_padding)`` for torch, or None if torch's arguments cannot say it.

        >>> Geometry.create(3, stride=2, padding="same").torch_padding() is None
        True
        """
        pads, ops = [], []
        for (lo, hi), s, d in zip(self.crop, self.stride, self.dilation):
            op = lo - hi
            if lo < 0 or not 0 <= op < max(s, d):
                return None
            pads.append(lo)
            ops.append(op)
        return tuple(pads), tuple(ops)

    def with_crop(self, crop: Crop) -> Geometry:
        """The same settings with other crops."""
        return replace(self, crop=tuple((int(a), int(b)) for a, b in crop))

    def coverage(self, input_size: IntOrTuple) -> Coverage:
        """Which output cells receive input for ``input_size`` (see :class:`Coverage`).

        >>> Geometry.create(2, stride=2, output_padding=1).coverage(16).uncovered
        1
        >>> Geometry.create(3, stride=2).coverage(16).full
        True

        The work grows with ``min(kernel, stride / gcd(stride, dilation))`` per dimension (and,
        for a non-zeros ``padding_mode``, with the crop), never with the input or output size.

        Raises:
            ShapeError: for settings :meth:`output_size` or :meth:`check_padding_mode` refuse.
            ValueError: when that work exceeds :data:`MAX_COVERAGE_CLASSES` (a kernel and a
                stride both above a million).
        """
        from .coverage import _coverage  # imported when asked: most geometries never need it

        return _coverage(self, input_size)

    def macs_per_output(self, in_channels: int) -> float:
        """Multiply-adds per output element (dense kernel, averaged over phases)."""
        return in_channels / self.groups * math.prod(self.kernel_size) / math.prod(self.stride)

    # -- call validation ----------------------------------------------------------------------

    def check_call(
        self,
        input_shape: Sequence[int],
        weight_shape: Sequence[int],
        bias_shape: Sequence[int] | None = None,
        check_output: bool = True,
    ) -> tuple[bool, tuple[int, ...]]:
        """Validate tensor shapes for a call; return (batched, input spatial size).

        ``check_output=False`` skips the output-size checks (for a geometry about to be
        adjusted to a requested output size).

        >>> Geometry.create((3, 3)).check_call((1, 4, 8, 8), (4, 2, 3, 3))
        (True, (8, 8))
        """
        # torch.Size is a tuple: hashable as it is
        i = input_shape if isinstance(input_shape, tuple) else tuple(input_shape)
        w = weight_shape if isinstance(weight_shape, tuple) else tuple(weight_shape)
        b = bias_shape if bias_shape is None or isinstance(bias_shape, tuple) else tuple(bias_shape)
        return _check_call(self, i, w, b, check_output)

    def _check_call(
        self,
        input_shape: tuple[int, ...],
        weight_shape: tuple[int, ...],
        bias_shape: tuple[int, ...] | None,
        check_output: bool,
    ) -> tuple[bool, tuple[int, ...]]:
        r = self.rank
        input_shape, weight_shape = tuple(input_shape), tuple(weight_shape)  # not torch.Size
        if len(weight_shape) != r + 2:
            raise ShapeRuntimeError(
                f"weight of shape {weight_shape} is invalid: expected {r + 2} dimensions "
                f"(in_channels, out_channels // groups, *kernel_size) for a rank-{r} geometry"
            )
        if tuple(weight_shape[2:]) != self.kernel_size:
            raise ShapeRuntimeError(
                f"weight of shape {weight_shape} does not match kernel_size={self.kernel_size}"
            )
        if len(input_shape) not in (r + 1, r + 2):
            raise ShapeRuntimeError(
                f"input of shape {input_shape} is invalid: a {r}-D transposed convolution expects "
                f"{r + 2}-D (N, C, *spatial) or {r + 1}-D unbatched (C, *spatial) input"
            )
        batched = len(input_shape) == r + 2
        channels = input_shape[1 if batched else 0]
        spatial = tuple(input_shape[-r:])
        g = self.groups
        if weight_shape[0] < 1 or weight_shape[1] < 1:
            raise ShapeRuntimeError(
                f"weight of shape {weight_shape} is invalid: in_channels (weight.shape[0]) and "
                "out_channels // groups (weight.shape[1]) must both be >= 1"
            )
        if weight_shape[0] % g:
            raise ShapeRuntimeError(
                f"in_channels={weight_shape[0]} (weight.shape[0]) is not divisible by groups={g}"
            )
        if channels != weight_shape[0]:
            read_as = ""
            if not batched:
                names = ("C",) + (("L",) if r == 1 else ("D", "H", "W")[-r:])
                read_as = (
                    f"; the {r + 1}-D input was read as unbatched ({', '.join(names)}) as torch "
                    f"does: for a batch add the batch dimension ({r + 2}-D (N, "
                    f"{', '.join(names)})), e.g. input.unsqueeze(0)"
                )
            raise ShapeRuntimeError(
                f"input has {channels} channels but the weight of shape {weight_shape} expects "
                f"in_channels={weight_shape[0]} (weight.shape[0]){read_as}"
            )
        if any(v < 1 for v in spatial):
            raise ShapeRuntimeError(
                f"input of shape {input_shape} is invalid: spatial size {spatial} is empty; "
                "every spatial length must be >= 1"
            )
        if bias_shape is not None and tuple(bias_shape) != (weight_shape[1] * g,):
            raise ShapeRuntimeError(
                f"bias of shape {tuple(bias_shape)} is invalid: expected ({weight_shape[1] * g},) "
                f"= out_channels (weight.shape[1] * groups)"
            )
        if check_output:
            self.output_size(spatial)
            self.check_padding_mode(spatial)
        return batched, spatial

    def check_padding_mode(self, input_size: IntOrTuple) -> None:
        """Raise ShapeError if the border folding of a non-zeros padding_mode is impossible.

        A non-"zeros" mode is the adjoint of padding the ordinary convolution's input
        (length = this output's length) by the positive parts of ``(lo, hi)``; torch's padding
        requires pad <= length (circular) or pad < length (reflect).
        """
        if self.padding_mode == "zeros":
            return
        out = self.output_size(input_size)
        for (lo, hi), n in zip(self.crop, out):
            a, b = max(lo, 0), max(hi, 0)
            if self.padding_mode == "circular" and max(a, b) > n:
                raise ShapeError(
                    f"padding_mode='circular' needs every crop <= the output length: crop "
                    f"{self.crop} with output size {out}"
                )
            if self.padding_mode == "reflect" and max(a, b) >= n:
                raise ShapeError(
                    f"padding_mode='reflect' needs every crop < the output length: crop "
                    f"{self.crop} with output size {out}"
                )


@lru_cache(maxsize=4096)
def _check_call(
    geom: Geometry,
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None,
    check_output: bool,
) -> tuple[bool, tuple[int, ...]]:
    """:meth:`Geometry.check_call` memoised: a layer called on one input shape many times
    validates it once (a failing check is not cached: it raises every time)."""
    return geom._check_call(input_shape, weight_shape, bias_shape, check_output)


@lru_cache(maxsize=4096)
def _create_cached(key: tuple[Any, ...]) -> Geometry:
    """:meth:`Geometry.create` memoised on the normalised arguments (geometries are immutable,
    so sharing them is safe)."""
    return Geometry._create(*thaw(key))


# ---------------------------------------------------------------------------------------------
# public helpers on plain settings


def output_size(
    input_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: PaddingSpec = 0,
    output_padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> tuple[int, ...]:
    """Output spatial size of a transposed convolution (any rank; int or tuple in, tuple out).

    ``O = (I - 1) * stride - lo - hi + dilation * (kernel - 1) + 1`` per dimension, where
    PyTorch's ``padding=p, output_padding=op`` means ``(lo, hi) = (p, p - op)``.

    Args:
        input_size: input length, an int or one int per spatial dimension.
        kernel_size: kernel length, an int or one per dimension.
        stride: stride, an int or one per dimension.
        padding: an int or tuple (PyTorch's), ``"valid"``, ``"same"``, ``"same_lower"``, or
            ``(begin, end)`` pairs per dimension.
        output_padding: extra length at the end, each smaller than ``max(stride, dilation)``.
        dilation: dilation, an int or one per dimension.

    Returns:
        The output length per spatial dimension.

    Raises:
        ShapeError: for invalid settings (the message names the value, the rule and the
            valid range), an unknown padding name, or an empty output.
        TypeError: for a value that is not an int or a tuple of ints.

    Example:
        >>> output_size(16, 2, stride=2)
        (32,)
        >>> output_size((16, 16), 3, stride=2, padding=1, output_padding=1)
        (32, 32)
        >>> output_size(16, 3, stride=2, padding="same")
        (32,)
    """
    rank = rank_of(input_size, kernel_size, stride, output_padding, dilation)
    if isinstance(padding, Sequence) and not isinstance(padding, str) and len(padding) > 1:
        rank = max(rank, len(padding))
    g = Geometry.create(kernel_size, stride, padding, output_padding, dilation, rank=rank)
    return g.output_size(input_size)


def output_size_range(
    input_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: PaddingSpec = 0,
    dilation: IntOrTuple = 1,
) -> tuple[tuple[int, int], ...]:
    """(min, max) output size per dimension reachable with output_padding.

    ``output_padding`` ranges over ``0 .. max(stride, dilation) - 1``, so the range spans
    ``max(stride, dilation)`` sizes.

    Args:
        input_size: input length, an int or one int per spatial dimension.
        kernel_size: kernel length, an int or one per dimension.
        stride: stride, an int or one per dimension.
        padding: as in :func:`output_size`.
        dilation: dilation, an int or one per dimension.

    Returns:
        ``(min, max)`` per spatial dimension.

    Raises:
        ShapeError: for invalid settings or an unknown padding name.
        TypeError: for a value that is not an int or a tuple of ints.

    Example:
        >>> output_size_range(16, 3, stride=2, padding=1)
        ((31, 32),)
        >>> output_size_range(16, 3, stride=1, padding=1, dilation=3)
        ((20, 22),)
    """
    rank = rank_of(input_size, kernel_size, stride, dilation)
    if isinstance(padding, Sequence) and not isinstance(padding, str) and len(padding) > 1:
        rank = max(rank, len(padding))
    g = Geometry.create(kernel_size, stride, padding, 0, dilation, rank=rank)
    return g.output_size_range(input_size)


def output_padding_for(
    input_size: IntOrTuple,
    output_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: PaddingSpec = 0,
    dilation: IntOrTuple = 1,
) -> tuple[int, ...]:
    """The output_padding that makes the output exactly ``output_size``.

    Args:
        input_size: input length, an int or one int per spatial dimension.
        output_size: the wanted output length, an int or one per dimension.
        kernel_size: kernel length, an int or one per dimension.
        stride: stride, an int or one per dimension.
        padding: as in :func:`output_size`.
        dilation: dilation, an int or one per dimension.

    Returns:
        ``output_padding`` per spatial dimension.

    Raises:
        ShapeError: when no output_padding reaches ``output_size`` (the message gives the
            reachable range), or for invalid settings.
        TypeError: for a value that is not an int or a tuple of ints.

    Example:
        >>> output_padding_for(16, 32, 3, stride=2, padding=1)
        (1,)
        >>> output_padding_for((16, 16), (31, 32), 3, stride=2, padding=1)
        (0, 1)
    """
    rank = rank_of(input_size, output_size, kernel_size, stride, dilation)
    if isinstance(padding, Sequence) and not isinstance(padding, str) and len(padding) > 1:
        rank = max(rank, len(padding))
    g = Geometry.create(kernel_size, stride, padding, 0, dilation, rank=rank)
    target = g.with_output_size(input_size, output_size)
    return tuple(h0 - h1 for (_, h0), (_, h1) in zip(g.crop, target.crop))
