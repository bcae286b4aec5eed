"""Padding conventions: ints, ``(begin, end)`` pairs and names (``"valid"``, ``"same"``,
``"same_lower"``) turned into the crop ``(lo, hi)``; sizes and slices of spatial dimensions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .validation import (
    Crop,
    IntOrTuple,
    PaddingSpec,
    ShapeError,
    _is_int,
    _pairs,
    as_tuple,
)

# ---------------------------------------------------------------------------------------------
# padding conventions: the names and pairs of (lo, hi)


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
