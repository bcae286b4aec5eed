"""Resize then convolution, as the transposed convolution it is (:func:`resize_conv_geometry`)."""

from __future__ import annotations

from .conventions import conv_padding
from .geometry import Geometry
from .validation import (
    IntOrTuple,
    PaddingSpec,
    ShapeError,
    _check_at_least,
    as_tuple,
    rank_of,
)

__all__ = ["RESIZE_MODES", "resize_conv_geometry"]

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
