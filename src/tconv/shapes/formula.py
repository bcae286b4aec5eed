"""The formula, written once: the full output length ``(i - 1) * s + d * (k - 1) + 1``
(:func:`full_size`), the kernel span and the ordinary convolution's output size."""

from __future__ import annotations

from .validation import (
    IntOrTuple,
    PaddingSpec,
    ShapeError,
    _check_at_least,
    _is_int,
    _pairs,
    as_tuple,
    rank_of,
)

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
    """The formula on normalised tuples, one dimension at a time (:func:`_full_length`)."""
    return tuple(_full_length(ii, kk, ss, dd) for ii, kk, ss, dd in zip(i, k, s, d))


def _full_length(i: int, k: int, s: int, d: int) -> int:
    """The formula itself, for one dimension: ``(i - 1) * s + d * (k - 1) + 1``."""
    return (i - 1) * s + d * (k - 1) + 1


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
