"""The names and types of the geometry's settings, its errors (:class:`ShapeError`,
:class:`ShapeRuntimeError`), and the normalisation of ints and tuples with the checks that
name a bad value (:func:`as_tuple`, :func:`rank_of`)."""

from __future__ import annotations

import numbers
import operator
from collections.abc import Sequence
from typing import Literal, cast, get_args

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
