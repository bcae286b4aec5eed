"""The one geometry of a transposed convolution: sizes, paddings, crops and their validation.

Every transposed convolution is "the full output, cropped". Per spatial dimension, with input
length ``i``, kernel ``k``, stride ``s`` and dilation ``d``::

    full length  L = (i - 1) * s + d * (k - 1) + 1
    result         = full[lo : L - hi]    (a negative lo or hi extends with zeros; bias added)

PyTorch's ``padding=p, output_padding=op`` is ``(lo, hi) = (p, p - op)``; ``"same"``,
``"valid"``, ``"same_lower"``, explicit ``(begin, end)`` pairs and ``output_size=`` targets are
other names for ``(lo, hi)``. Everything else in tconv reads sizes from this module; nothing
else re-derives them. This module imports nothing from the rest of the package (nor torch).

Shape:
    - Input: ``(N, C_in, *I)`` or ``(C_in, *I)``
    - Output: ``(N, C_out, *O)`` with, per dimension,
      ``O = (I - 1) * stride - lo - hi + dilation * (kernel - 1) + 1``

Examples:
    >>> output_size(16, 3, stride=2, padding=1, output_padding=1)
    (32,)
    >>> output_size((16, 12), 4, stride=2, padding="same")
    (32, 24)
    >>> Geometry.create(3, stride=2, padding="same").crop
    ((0, 1),)
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast, get_args

from .cache_keys import UNHASHABLE, freeze_args, thaw

__all__ = [
    "PADDING_MODES",
    "RESIZE_MODES",
    "Coverage",
    "Geometry",
    "PaddingMode",
    "PaddingSpec",
    "ShapeError",
    "ShapeRuntimeError",
    "conv_output_size",
    "conv_padding",
    "full_size",
    "kernel_span",
    "output_padding_for",
    "output_size",
    "output_size_range",
    "resize_conv_geometry",
    "spatial_index",
    "spatial_size",
]

PaddingMode = Literal["zeros", "circular", "reflect", "replicate"]
PADDING_MODES: tuple[str, ...] = get_args(PaddingMode)
_MODE_CODES = {m: i for i, m in enumerate(PADDING_MODES)}
PaddingName = Literal["valid", "same", "same_lower"]
PADDING_NAMES: tuple[str, ...] = get_args(PaddingName)
IntOrTuple = int | Sequence[int]
PaddingSpec = int | Sequence[int] | str | Sequence[Sequence[int]]
Crop = tuple[tuple[int, int], ...]


class ShapeError(ValueError):
    """Invalid transposed-convolution settings or sizes.

    The message names the bad value, the rule it breaks and the valid range.

    Example:
        >>> try:
        ...     output_size(16, 3, stride=2, output_padding=2)
        ... except ShapeError as err:
        ...     print(err)
        output_padding=(2,) is invalid for stride=(2,), dilation=(1,): ... valid values are 0..1 ...
    """


class ShapeRuntimeError(ShapeError, RuntimeError):
    """A :class:`ShapeError` where torch would raise ``RuntimeError`` for the same call.

    torch.nn's transposed convolutions refuse at the call, with ``RuntimeError``, an input of
    the wrong rank or channels, a weight or bias of the wrong shape, a non-positive stride,
    dilation, kernel size or groups, a negative padding, an output_padding out of range and an
    empty output. tconv's error for these is both: a ShapeError (so a ``ValueError``, with
    tconv's message) and a ``RuntimeError``, so code written against torch keeps catching it.
    (torch raises ``ValueError`` itself for a bad ``output_size``: that stays a ShapeError.)

    Example:
        >>> try:
        ...     output_size(16, 3, stride=0)
        ... except RuntimeError as err:  # as torch's F.conv_transpose1d(..., stride=0)
        ...     print(type(err).__name__, isinstance(err, ValueError), err)
        ShapeRuntimeError True stride=(0,) is invalid: each stride must be >= 1
    """


# ---------------------------------------------------------------------------------------------
# argument normalisation


def _is_int(value: object) -> bool:
    """int-like: ints, numpy integers, sizes traced as 0-d integer tensors; never bool."""
    if type(value) is int:  # the common case, without the ABC checks below
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    try:
        operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True


def as_tuple(value: IntOrTuple, rank: int, name: str) -> tuple[int, ...]:
    """An int or a sequence of ``rank`` ints as a tuple of ``rank`` ints.

    A value of the wrong type (a float, a string, a sequence holding one) is a TypeError; a
    sequence of ints of the wrong length is a :class:`ShapeError`.

    >>> as_tuple(2, 3, "stride")
    (2, 2, 2)
    >>> as_tuple((1, 2), 2, "stride")
    (1, 2)
    >>> as_tuple("a", 2, "stride")
    Traceback (most recent call last):
    ...
    TypeError: stride='a' is invalid: expected an int or a tuple of 2 ints, got str
    """
    if type(value) is tuple and len(value) == rank and all(type(v) is int for v in value):
        return value  # already normalised: the common case on every call
    if _is_int(value):
        return (int(cast(int, value)),) * rank
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = tuple(value)
        wrong = [v for v in items if not _is_int(v)]
        if wrong:
            raise TypeError(
                f"{name}={value!r} is invalid: expected an int or {_ints(rank)} (one per spatial "
                f"dimension), got an element {wrong[0]!r} of type {type(wrong[0]).__name__}"
            )
        if len(items) == 1 and rank > 1:
            items = items * rank
        if len(items) != rank:
            raise ShapeRuntimeError(
                f"{name}={value!r} is invalid: expected an int or {_ints(rank)} (one per spatial "
                f"dimension), got {len(items)}"
            )
        return tuple(int(v) for v in items)
    raise TypeError(
        f"{name}={value!r} is invalid: expected an int or a tuple of {_ints(rank)}, got "
        f"{type(value).__name__}"
    )


def _ints(n: int) -> str:
    return "1 int" if n == 1 else f"{n} ints"


def rank_of(*values: object) -> int:
    """Number of spatial dimensions implied by int-or-tuple arguments (1 if all are ints).

    >>> rank_of(3, (1, 2), 1)
    2
    """
    ranks = {
        len(v) for v in values if isinstance(v, Sequence) and not isinstance(v, str) and len(v) > 1
    }
    if len(ranks) > 1:
        raise ShapeError(
            f"arguments disagree on the number of spatial dimensions: lengths {sorted(ranks)}"
        )
    return ranks.pop() if ranks else 1


def _check_at_least(value: tuple[int, ...], low: int, name: str) -> None:
    if any(v < low for v in value):
        raise ShapeRuntimeError(f"{name}={value} is invalid: each {name} must be >= {low}")


# ---------------------------------------------------------------------------------------------
# the formula


def full_size(
    input_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
) -> tuple[int, ...]:
    """Length of the full (uncropped) transposed-convolution output, per dimension.

    ``L = (i - 1) * s + d * (k - 1) + 1``: the one place this formula is written.

    Args:
        input_size: input length, an int or one int per spatial dimension.
        kernel_size: kernel length, an int or one per dimension.
        stride: stride, an int or one per dimension.
        dilation: dilation, an int or one per dimension.

    Returns:
        ``L`` per spatial dimension (a tuple even for int arguments).

    Raises:
        ShapeError: for tuples that disagree on the number of dimensions.
        TypeError: for a value that is not an int or a tuple of ints.

    Example:
        >>> full_size(16, 3, 2)
        (33,)
        >>> full_size((4, 5), (2, 3), (2, 1), (1, 2))
        (8, 9)
    """
    rank = rank_of(input_size, kernel_size, stride, dilation)
    i = as_tuple(input_size, rank, "input_size")
    k = as_tuple(kernel_size, rank, "kernel_size")
    s = as_tuple(stride, rank, "stride")
    d = as_tuple(dilation, rank, "dilation")
    return _full(i, k, s, d)


def _full(
    i: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...]
) -> tuple[int, ...]:
    """The formula itself, on normalised tuples."""
    return tuple((ii - 1) * ss + dd * (kk - 1) + 1 for ii, kk, ss, dd in zip(i, k, s, d))


def kernel_span(kernel_size: IntOrTuple, dilation: IntOrTuple = 1) -> tuple[int, ...]:
    """Dilated kernel extent ``d * (k - 1) + 1`` per dimension: the one place it is written.

    Args:
        kernel_size: kernel length, an int or one per spatial dimension.
        dilation: spacing between taps, an int or one per spatial dimension.

    Returns:
        The span per spatial dimension (1 dimension if both are ints).

    Raises:
        ShapeError: if the two disagree on the number of dimensions.
        TypeError: for a value that is not an int or a tuple of ints.

    Example:
        >>> kernel_span(3), kernel_span((3, 4), 2)
        ((3,), (5, 7))
    """
    rank = rank_of(kernel_size, dilation)
    k = as_tuple(kernel_size, rank, "kernel_size")
    d = as_tuple(dilation, rank, "dilation")
    return _span(k, d)


def _span(k: tuple[int, ...], d: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))


def conv_output_size(
    input_size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: PaddingSpec = 0,
    dilation: IntOrTuple = 1,
) -> tuple[int, ...]:
    """Output size of the ordinary convolution (the one a transposed convolution transposes).

    ``O = (I + begin + end - (d * (k - 1) + 1)) // s + 1`` per dimension.

    Args:
        input_size: input length, an int or one int per spatial dimension.
        kernel_size: kernel length, an int or one per dimension.
        stride: stride, an int or one per dimension.
        padding: an int, a tuple, or ``(begin, end)`` pairs per dimension.
        dilation: dilation, an int or one per dimension.

    Returns:
        The convolution's output length per spatial dimension.

    Raises:
        ShapeError: for a kernel, stride or dilation below 1, or a padded input shorter than
            the kernel span ``d * (k - 1) + 1``.
        TypeError: for a value that is not an int or a tuple of ints.

    Example:
        >>> conv_output_size(39, 3, 2, 1)
        (20,)
        >>> conv_output_size((8, 8), 3, 1, ((0, 2), (1, 1)))
        (8, 8)
    """
    rank = rank_of(input_size, kernel_size, stride, dilation, padding)
    n = as_tuple(input_size, rank, "input_size")
    k = as_tuple(kernel_size, rank, "kernel_size")
    s = as_tuple(stride, rank, "stride")
    d = as_tuple(dilation, rank, "dilation")
    _check_at_least(k, 1, "kernel_size")
    _check_at_least(s, 1, "stride")
    _check_at_least(d, 1, "dilation")
    pads = _pairs(padding, rank) if not _is_int(padding) else ((int(padding),) * 2,) * rank  # type: ignore[arg-type]
    out = []
    for nn_, span, ss, (a, b) in zip(n, _span(k, d), s, pads):
        if nn_ + a + b < span:
            raise ShapeError(
                f"input_size={n} with padding {pads} is too small for kernel_size={k}, "
                f"dilation={d}: the padded length must be at least the kernel span {span}"
            )
        out.append((nn_ + a + b - span) // ss + 1)
    return tuple(out)


def _pairs(padding: object, rank: int) -> Crop:
    """``(begin, end)`` pairs from an int, a tuple of ints, or a tuple of pairs."""
    if _is_int(padding):
        p = int(cast(int, padding))
        return ((p, p),) * rank
    if isinstance(padding, Sequence) and not isinstance(padding, str):
        items = list(padding)
        if all(_is_int(v) for v in items):
            t = as_tuple(tuple(items), rank, "padding")
            return tuple((p, p) for p in t)
        pairs = all(isinstance(v, Sequence) and not isinstance(v, str) for v in items)
        if pairs and all(_is_int(x) for v in items for x in v):
            if len(items) == 1 and rank > 1:
                items = items * rank
            if len(items) == rank and all(len(v) == 2 for v in items):
                return tuple((int(v[0]), int(v[1])) for v in items)
            raise ShapeRuntimeError(
                f"padding={padding!r} is invalid: expected {rank} (begin, end) pairs, one per "
                "spatial dimension"
            )
    got = type(padding).__name__
    if isinstance(padding, Sequence) and not isinstance(padding, str):
        leaves = [x for v in padding for x in (v if isinstance(v, Sequence) else (v,))]
        wrong = [x for x in leaves if not _is_int(x)]
        got += f" holding {wrong[0]!r} of type {type(wrong[0]).__name__}" if wrong else ""
    raise TypeError(
        f"padding={padding!r} is invalid: expected an int, {_ints(rank)}, {rank} (begin, end) "
        f"pair{'s' * (rank > 1)} of ints, or one of {PADDING_NAMES}, got {got}"
    )


_NAME_MEANS = {
    "same": "'same' means output = input * stride",
    "same_lower": "'same_lower' means output = input * stride",
    "valid": "'valid' means the full output (input - 1) * stride + dilation * (kernel - 1) + 1",
}


def _named_crop(name: str, span: int, stride: int) -> tuple[int, int]:
    """(lo, hi) for 'valid', 'same' and 'same_lower' in one dimension.

    When the kernel span is shorter than the stride, all three zero-extend at the end
    (as Keras and JAX do), so 'same' still gives input * stride.
    """
    total = span - stride  # crop that makes the output input * stride
    if name == "valid":
        return (0, min(total, 0))
    if total < 0:
        return (0, total)
    if name == "same":
        return (total // 2, total - total // 2)  # odd extra crop at the end
    return (total - total // 2, total // 2)  # same_lower: odd extra crop at the start


def conv_padding(
    padding: PaddingSpec, kernel_size: IntOrTuple, dilation: IntOrTuple = 1, rank: int = 1
) -> Crop:
    """``(begin, end)`` zero padding per dimension of an ordinary convolution (torch's ConvNd).

    ``padding`` is torch's ``"valid"`` (none) or ``"same"`` (total ``dilation * (kernel - 1)``,
    the odd one at the end, as ``torch.nn.Conv2d(padding="same")``), an int, a tuple, or
    ``(begin, end)`` pairs; every pad must be >= 0.

    Args:
        padding: ``"valid"``, ``"same"``, an int, a tuple, or ``(begin, end)`` pairs.
        kernel_size: kernel length, an int or one per spatial dimension.
        dilation: dilation, an int or one per dimension.
        rank: number of spatial dimensions.

    Returns:
        ``(begin, end)`` per spatial dimension.

    Raises:
        ShapeError: for another padding name or a negative pad.
        TypeError: for a value that is not an int or a tuple of ints.

    Example:
        >>> conv_padding("same", 4, rank=2)
        ((1, 2), (1, 2))
        >>> conv_padding((1, 2), 3, rank=2)
        ((1, 1), (2, 2))
    """
    k = as_tuple(kernel_size, rank, "kernel_size")
    d = as_tuple(dilation, rank, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * rank
        if padding == "same":
            totals = [dd * (kk - 1) for kk, dd in zip(k, d)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ShapeError(
            f"padding={padding!r} is invalid for a convolution: use 'same', 'valid', ints or "
            "(begin, end) pairs"
        )
    pads = _pairs(padding, rank)
    if any(a < 0 or b < 0 for a, b in pads):
        raise ShapeError(f"padding={padding!r} is invalid for a convolution: pads must be >= 0")
    return pads


def spatial_size(
    output_size: IntOrTuple, rank: int, name: str = "output_size", batched: bool = True
) -> tuple[int, ...]:
    """The spatial part of a requested ``output_size``, as torch's modules read it.

    An int is the size of every spatial dimension; a sequence holds ``rank`` entries (the
    spatial size) or the input's non-spatial dimensions in front: ``rank + 2`` entries ``(N,
    C, *spatial)`` for a batched input, ``rank + 1`` entries ``(C, *spatial)`` for an unbatched
    one (as ``tuple(y.shape)``), as ``torch.nn.ConvTranspose{1,2,3}d`` requires.

    Args:
        output_size: an int, ``rank`` ints, or the whole output shape.
        rank: number of spatial dimensions.
        name: the argument's name in error messages.
        batched: whether the input has a batch dimension.

    Returns:
        The spatial size, ``rank`` ints.

    Raises:
        ShapeError: for a sequence of another length.
        TypeError: for a value that is neither an int nor a sequence of ints.

    Example:
        >>> spatial_size(32, 2)
        (32, 32)
        >>> spatial_size((1, 8, 32, 30), 2)
        (32, 30)
        >>> spatial_size((8, 32, 30), 2, batched=False)
        (32, 30)
        >>> spatial_size((4, 32, 30), 2)
        Traceback (most recent call last):
        ...
        tconv.shapes.ShapeError: output_size=(4, 32, 30) is invalid for 2 spatial dimensions: ...
    """
    if _is_int(output_size):
        return as_tuple(output_size, rank, name)
    if not isinstance(output_size, Sequence) or isinstance(output_size, str):
        raise TypeError(
            f"{name}={output_size!r} is invalid: expected an int or a sequence of ints, got "
            f"{type(output_size).__name__}"
        )
    items = tuple(output_size)
    front = 2 if batched else 1
    if len(items) not in (rank, rank + front):
        whole = "(N, C, *spatial)" if batched else "(C, *spatial) for an unbatched input"
        raise ShapeError(
            f"{name}={items} is invalid for {rank} spatial dimension{'s' * (rank > 1)}: "
            f"expected {rank} entries (the spatial size) or {rank + front} {whole}, as "
            f"torch's modules accept; got {len(items)}"
        )
    return as_tuple(items[-rank:], rank, name)


def spatial_index(slices: Iterable[slice]) -> tuple[slice, ...]:
    """The index of a batched ``(N, C, *S)`` tensor that keeps every sample and channel and
    takes ``slices`` in the spatial dimensions (a crop, a window, a phase).

    Args:
        slices: one slice per spatial dimension.

    Returns:
        ``(slice(None), slice(None), *slices)``.

    Example:
        >>> import torch
        >>> torch.arange(16).view(1, 1, 4, 4)[spatial_index([slice(1, 3), slice(0, 1)])].tolist()
        [[[[4], [8]]]]
    """
    return (slice(None), slice(None), *slices)


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

        Results are cached (:func:`functools.lru_cache` on the normalised arguments, which
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


@functools.lru_cache(maxsize=4096)
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


@functools.lru_cache(maxsize=4096)
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


# ---------------------------------------------------------------------------------------------
# coverage: which output cells the kernel taps reach (no input reaches the others)
#
# Input cell n with kernel tap j lands on full-output cell x = n * s + j * d. Taps j and
# j + p, p = s / gcd(s, d), land in the same residue class r = j * d mod s, shifted by
# D = d / gcd(s, d) in q = (x - r) / s; so each of the min(k, p) classes covers M intervals
# [q0 + m * D, q0 + m * D + i - 1] of q, and every count below is arithmetic on those: the
# work grows with min(kernel, stride), never with the input or output length.

_DIM_NAMES = {1: ("positions",), 2: ("rows", "columns"), 3: ("planes", "rows", "columns")}
#: at most this many residue classes per dimension are counted (beyond it, a ValueError)
MAX_COVERAGE_CLASSES = 1_000_000

_Taps = dict[int, tuple[int, int, int, int]]  # residue -> (q0, D, M, i)


def _tap_classes(i: int, k: int, s: int, d: int) -> _Taps:
    """Residue ``r`` -> ``(q0, D, M, i)``: the q intervals ``[q0 + m*D, q0 + m*D + i - 1]``,
    ``0 <= m < M``, whose cells ``r + q * s`` some tap reaches."""
    g = math.gcd(s, d)
    p, step = s // g, d // g
    classes = min(k, p)
    if classes > MAX_COVERAGE_CLASSES:
        raise ValueError(
            f"coverage of kernel_size={k}, stride={s}, dilation={d} is not counted: it takes "
            f"min(kernel, stride / gcd(stride, dilation)) = {classes} steps, above "
            f"{MAX_COVERAGE_CLASSES}"
        )
    taps: _Taps = {}
    for j0 in range(classes):
        q0, r = divmod(j0 * d, s)
        taps[r] = (q0, step, (k - 1 - j0) // p + 1, i)
    return taps


def _covered_q(tap: tuple[int, int, int, int], qa: int, qb: int) -> int:
    """How many q in ``[qa, qb]`` one residue class covers."""
    q0, step, m, i = tap
    if step <= i or m == 1:  # the intervals touch or overlap: one interval
        return max(0, min(qb, q0 + (m - 1) * step + i - 1) - max(qa, q0) + 1)

    def below(t: int) -> int:  # covered t' = q - q0 in [0, t)
        t = min(max(t, 0), m * step)
        return (t // step) * i + min(t % step, i)

    return max(0, below(qb - q0 + 1) - below(qa - q0))


def _covered_between(taps: _Taps, s: int, a: int, b: int) -> int:
    """How many full-output cells in ``[a, b)`` some tap reaches."""
    total = 0
    for r, tap in taps.items():
        qa, qb = -((r - a) // s), -((r - b) // s) - 1  # r + q * s in [a, b)
        total += _covered_q(tap, qa, qb)
    return total


def _is_covered(taps: _Taps, s: int, x: int) -> bool:
    q, r = divmod(x, s)
    return r in taps and _covered_q(taps[r], q, q) == 1


def _fold_source(t: int, n: int, mode: str) -> int:
    """The output cell a cropped cell ``t`` (``t < 0`` or ``t >= n``) is folded onto."""
    if mode == "circular":
        return t % n
    if mode == "reflect":
        return -t if t < 0 else 2 * (n - 1) - t
    return min(max(t, 0), n - 1)  # replicate


@dataclass(frozen=True)
class Coverage:
    """Which output cells of a transposed convolution receive input, for one input size.

    Made by :meth:`Geometry.coverage`. A cell that no kernel tap reaches holds only the bias,
    whatever the weights: a *hole* inside the full output (the taps miss some positions of
    every stride, e.g. kernel 2 with stride 3, or kernel 2 with dilation 2 and stride 2), or a
    cell *beyond* the full output that ``output_padding``, ``output_size`` or a negative crop
    adds as zeros. Per dimension the counts are exact and cost nothing for any size; in N-d a
    cell is uncovered when any of its coordinates is.

    Args:
        geometry: the settings.
        input_size: the input spatial size.
        output_size: the output spatial size.
        uncovered_positions: per dimension, how many output positions no tap reaches.
        beyond: per dimension, how many of those lie before the start and past the end of the
            full output (zero extension); the rest are holes.

    Example:
        >>> c = Geometry.create(2, stride=2, output_padding=1).coverage(16)
        >>> c.output_size, c.uncovered, c.beyond, c.full
        ((33,), 1, ((0, 1),), False)
        >>> print(c.describe())
        1 of 33 output positions receives no input (1 past the end of the full output of 32:
        output_padding, output_size or a negative end crop adds zeros there); it holds only the
        bias
        >>> c2 = Geometry.create((5, 4), stride=(6, 2)).coverage((16, 8))
        >>> c2.uncovered_positions, c2.uncovered, c2.cells
        ((15, 0), 270, 1710)
        >>> Geometry.create(4, stride=2, padding=1, output_padding=1).coverage(16).full
        True
    """

    geometry: Geometry
    input_size: tuple[int, ...]
    output_size: tuple[int, ...]
    uncovered_positions: tuple[int, ...]
    beyond: tuple[tuple[int, int], ...]

    @property
    def cells(self) -> int:
        """Number of output cells (the product of the output size)."""
        return math.prod(self.output_size)

    @property
    def uncovered(self) -> int:
        """Number of output cells that no input reaches (they hold only the bias)."""
        covered = math.prod(o - u for o, u in zip(self.output_size, self.uncovered_positions))
        return self.cells - covered

    @property
    def fraction(self) -> float:
        """Uncovered cells as a fraction of all output cells (0.0 when every cell is reached)."""
        return self.uncovered / self.cells

    @property
    def full(self) -> bool:
        """True when every output cell receives input."""
        return not any(self.uncovered_positions)

    def counts(self) -> tuple[tuple[int, ...], ...]:
        """Kernel taps per output position, per dimension (memory grows with the output).

        With an all-ones input and an all-ones kernel the output at cell ``(o_1, .., o_n)``
        equals ``counts[0][o_1] * .. * counts[n-1][o_n]`` (the border folding of a non-zeros
        ``padding_mode`` included); a zero marks a cell no input reaches.

        >>> Geometry.create(2, stride=2, dilation=2).coverage(3).counts()
        ((1, 0, 2, 0, 2, 0, 1),)
        >>> Geometry.create(3, padding=1, padding_mode="circular").coverage(3).counts()
        ((3, 3, 3),)
        """
        g = self.geometry
        out = []
        for i, k, s, d, (lo, hi), n in zip(
            self.input_size, g.kernel_size, g.stride, g.dilation, g.crop, self.output_size
        ):
            full_len = (i - 1) * s + d * (k - 1) + 1
            full = [0] * full_len
            for j in range(k):
                for x in range(j * d, j * d + i * s, s):
                    full[x] += 1

            def at(x: int, full: list[int] = full) -> int:
                return full[x] if 0 <= x < len(full) else 0

            row = [at(o + lo) for o in range(n)]
            if g.padding_mode != "zeros":
                a, b = max(lo, 0), max(hi, 0)
                for t in (*range(-a, 0), *range(n, n + b)):
                    row[_fold_source(t, n, g.padding_mode)] += at(t + lo)
            out.append(tuple(row))
        return tuple(out)

    def describe(self) -> str:
        """One line saying which cells no input reaches and why ("" when every cell does).

        >>> print(Geometry.create(5, stride=6).coverage(16).describe())
        15 of 95 output positions receive no input (15 holes where no tap lands: the taps of
        kernel 5 reach 5 of every 6 positions at stride 6); they hold only the bias
        >>> g = Geometry.create((2, 2), stride=2, padding=((0, -1), (0, 0)))
        >>> print(g.coverage((4, 4)).describe())
        1 of 9 rows receives no input (1 past the end of the full output of 8: output_padding,
        output_size or a negative end crop adds zeros there): 8 of 72 output cells (11.1%) hold
        only the bias
        >>> print(Geometry.create((2, 2), stride=2, output_padding=1).coverage((4, 4)).describe())
        1 of 9 rows and 1 of 9 columns receive no input (in each, 1 past the end of the full
        output of 8: output_padding, output_size or a negative end crop adds zeros there): 17 of
        81 output cells (21.0%) hold only the bias
        """
        if self.full:
            return ""
        g = self.geometry
        names = _DIM_NAMES[g.rank]
        clauses = []
        for j, (u, (e0, e1)) in enumerate(zip(self.uncovered_positions, self.beyond)):
            if not u:
                continue
            k, s, d, i = g.kernel_size[j], g.stride[j], g.dilation[j], self.input_size[j]
            full_len = (i - 1) * s + d * (k - 1) + 1
            reasons = []
            holes = u - e0 - e1
            if holes:
                reached = min(k, s // math.gcd(s, d))  # residue classes the taps reach
                taps = f"kernel {k}" + (f" with dilation {d}" if d > 1 else "")
                plural = "hole" if holes == 1 else "holes"
                if reached < s:
                    reasons.append(
                        f"{holes} {plural} where no tap lands: the taps of {taps} reach {reached} "
                        f"of every {s} positions at stride {s}"
                    )
                else:
                    reasons.append(f"{holes} {plural} near the border that the taps of {taps} skip")
            if e0:
                reasons.append(
                    f"{e0} before the start of the full output of {full_len}: a negative begin "
                    "crop adds zeros there"
                )
            if e1:
                reasons.append(
                    f"{e1} past the end of the full output of {full_len}: output_padding, "
                    "output_size or a negative end crop adds zeros there"
                )
            what = f"output {names[j]}" if g.rank == 1 else names[j]
            clauses.append((f"{u} of {self.output_size[j]} {what}", u, "; ".join(reasons)))
        groups: dict[str, list[tuple[str, int]]] = {}  # dimensions with the same reasons
        for what, u, why in clauses:
            groups.setdefault(why, []).append((what, u))
        parts = []
        for why, dims in groups.items():
            verb = "receives" if len(dims) == 1 and dims[0][1] == 1 else "receive"
            each = "in each, " if len(dims) > 1 else ""
            parts.append(f"{' and '.join(w for w, _ in dims)} {verb} no input ({each}{why})")
        text = "; ".join(parts)
        n = self.uncovered
        if g.rank == 1:
            return text + ("; it holds" if n == 1 else "; they hold") + " only the bias"
        return (
            f"{text}: {n} of {self.cells} output cells ({100 * self.fraction:.1f}%) "
            + ("holds" if n == 1 else "hold")
            + " only the bias"
        )


def _coverage(geom: Geometry, input_size: IntOrTuple) -> Coverage:
    """:meth:`Geometry.coverage` (validates like :meth:`Geometry.output_size`)."""
    i = as_tuple(input_size, geom.rank, "input_size")
    out = geom.output_size(i)
    geom.check_padding_mode(i)
    per_dim, beyond = [], []
    for ii, k, s, d, (lo, hi), n in zip(
        i, geom.kernel_size, geom.stride, geom.dilation, geom.crop, out
    ):
        taps = _tap_classes(ii, k, s, d)
        full_len = (ii - 1) * s + d * (k - 1) + 1
        a, b = lo, full_len - hi  # the output is full[a:b], zeros outside the full output
        e0 = max(0, min(0, b) - a)
        e1 = max(0, b - max(full_len, a))
        inside = max(0, min(b, full_len) - max(a, 0))
        u = inside - _covered_between(taps, s, max(a, 0), min(b, full_len)) + e0 + e1
        if geom.padding_mode != "zeros" and u:  # the cropped border folds back in
            if max(lo, 0) + max(hi, 0) > MAX_COVERAGE_CLASSES:
                raise ValueError(
                    f"coverage of crop {(lo, hi)} with padding_mode={geom.padding_mode!r} is not "
                    f"counted: folding it takes more than {MAX_COVERAGE_CLASSES} steps"
                )
            hit = set()
            for t in (*range(-max(lo, 0), 0), *range(n, n + max(hi, 0))):
                if _is_covered(taps, s, t + lo):
                    hit.add(_fold_source(t, n, geom.padding_mode))
            for o in hit:
                x = o + lo
                if x < 0:
                    e0 -= 1
                elif x >= full_len:
                    e1 -= 1
                elif _is_covered(taps, s, x):
                    continue
                u -= 1
        per_dim.append(u)
        beyond.append((e0, e1))
    return Coverage(geom, i, out, tuple(per_dim), tuple(beyond))


# ---------------------------------------------------------------------------------------------
# resize then convolution, as the transposed convolution it is

#: Resize modes that :func:`resize_conv_geometry` fuses ("nearest-exact" picks the same pixels
#: as "nearest" at an integer scale; the linear modes only at scale 2, align_corners=False).
RESIZE_MODES: tuple[str, ...] = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear")


def resize_conv_geometry(
    kernel_size: IntOrTuple,
    scale: IntOrTuple,
    padding: PaddingSpec = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    mode: str = "nearest",
    rank: int | None = None,
) -> Geometry:
    """The transposed convolution equal to a resize by ``scale`` followed by a convolution.

    Per spatial dimension, a nearest resize by an integer ``r`` then a stride-1 convolution
    (kernel ``k``, dilation ``d``, zero padding ``(pb, pe)``) is a transposed convolution with
    stride ``r``, kernel ``d * (k - 1) + r`` (each tap the sum of the convolution's taps that
    read the same input pixel) and crop ``(d * (k - 1) - pb, d * (k - 1) - pe)``. A linear
    resize by 2 (``align_corners=False``) then a convolution without padding is one too, on
    the input replicate-padded by 1 (the resize's edge clamping): kernel ``d * (k - 1) + 4``,
    crop ``d * (k - 1) + 3`` at both ends. With zero padding the linear resize's clamped edge
    and the convolution's zeros meet, which no single transposed convolution computes: that
    pair is refused.

    Args:
        kernel_size: the convolution's kernel, an int or one per spatial dimension.
        scale: the integer resize factor, an int or one per dimension.
        padding: the convolution's padding (``"same"``, ``"valid"``, ints or pairs; see
            :func:`conv_padding`).
        dilation: the convolution's dilation.
        groups: the convolution's groups.
        mode: one of :data:`RESIZE_MODES`.
        rank: number of spatial dimensions (default: from the tuples, else 1).

    Returns:
        The transposed convolution's :class:`Geometry`.

    Raises:
        ShapeError: a scale below 1, a linear mode at a scale other than 2 or with padding.
        ValueError: an unknown ``mode``.
        TypeError: a float scale or kernel.

    Example:
        >>> g = resize_conv_geometry(3, 2, padding=1, rank=2)
        >>> g.kernel_size, g.stride, g.crop
        ((4, 4), (2, 2), ((1, 1), (1, 1)))
        >>> g.output_size((16, 16))                 # nearest x2 then a 'same' 3x3 conv
        (32, 32)
        >>> resize_conv_geometry(3, 2, padding=0, mode="bilinear", rank=2).crop
        ((5, 5), (5, 5))
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"mode={mode!r} is invalid: valid resize modes are {RESIZE_MODES}")
    rank = rank if rank is not None else rank_of(kernel_size, scale, dilation)
    k = as_tuple(kernel_size, rank, "kernel_size")
    r = as_tuple(scale, rank, "scale")
    d = as_tuple(dilation, rank, "dilation")
    _check_at_least(k, 1, "kernel_size")
    _check_at_least(r, 1, "scale")
    _check_at_least(d, 1, "dilation")
    pads = conv_padding(padding, k, d, rank)
    span = tuple(dd * (kk - 1) for kk, dd in zip(k, d))
    if mode.startswith("nearest"):
        crop = tuple((s - pb, s - pe) for s, (pb, pe) in zip(span, pads))
        kernel = tuple(s + rr for s, rr in zip(span, r))
    else:
        if any(rr != 2 for rr in r):
            raise ShapeError(
                f"scale={scale!r} is invalid for mode={mode!r}: a linear resize fuses with a "
                "convolution only at scale 2 (its weights differ per output phase otherwise)"
            )
        if any(pb or pe for pb, pe in pads):
            raise ShapeError(
                f"padding={padding!r} is invalid for mode={mode!r}: a linear resize clamps at "
                "the edge while the convolution pads with zeros, which no single transposed "
                "convolution computes; only padding=0 fuses"
            )
        crop = tuple((s + 3, s + 3) for s in span)
        kernel = tuple(s + 4 for s in span)
    return Geometry.create(kernel, r, crop, groups=groups, rank=rank)
