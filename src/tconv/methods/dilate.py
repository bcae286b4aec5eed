"""Zero insertion, then an ordinary convolution: the second view, stated correctly.

A transposed convolution with stride ``s``, dilation ``d``, kernel ``k`` and crop ``(lo, hi)``
equals, per spatial dimension:

1. :func:`zero_insert`: put ``s - 1`` ZEROS between neighbouring input elements (zeros, not
   interpolated values), so an input of length ``I`` becomes ``(I - 1) * s + 1`` long;
2. pad ``d * (k - 1) - lo`` zeros at the start and ``d * (k - 1) - hi`` at the end (a negative
   amount crops instead);
3. an ordinary convolution (``torch.nn.functional.conv{1,2,3}d``, stride 1, the same dilation
   and groups) with :func:`flip_weight`: the kernel flipped in every spatial dimension and its
   in/out channels swapped within each group.

It multiplies many inserted zeros (about ``1 - 1/prod(stride)`` of the work), which is why
:mod:`tconv.methods.subpixel` exists; it is here because it is the view most texts draw.

Example:
    >>> import torch
    >>> from tconv.shapes import Geometry
    >>> x, w = torch.ones(1, 1, 2), torch.tensor([[[1.0, 2.0, 3.0]]])
    >>> zero_insert(x, 2).tolist()
    [[[1.0, 0.0, 1.0]]]
    >>> forward(x, w, None, Geometry.create(3, stride=2)).tolist()
    [[[1.0, 2.0, 4.0, 2.0, 3.0]]]
"""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor

from ..shapes import Geometry, IntOrTuple, ShapeError, as_tuple, full_size
from .spec import MethodSpec

__all__ = ["DilateSteps", "border", "flip_weight", "forward", "steps", "zero_insert"]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def zero_insert(x: Tensor, stride: IntOrTuple) -> Tensor:
    """Insert ``stride - 1`` zeros between neighbouring elements along every spatial dimension.

    ``out[..., i_1 * s_1, ..., i_n * s_n] = x[..., i_1, ..., i_n]``; every other element is 0.

    Args:
        x: batched input; its spatial rank is ``x.dim() - 2``.
        stride: an int or one int per spatial dimension, each >= 1.

    Shape:
        - x: ``(N, C, *I)``
        - output: ``(N, C, *((I - 1) * stride + 1))`` (:func:`tconv.shapes.full_size` with a
          kernel of 1)

    Raises:
        ShapeError: if ``x`` has fewer than 3 dimensions or a stride is < 1.

    Example:
        >>> import torch
        >>> zero_insert(torch.tensor([[[1.0, 2.0, 3.0]]]), 3).tolist()
        [[[1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 3.0]]]
        >>> zero_insert(torch.ones(2, 5, 4, 3), (2, 1)).shape
        torch.Size([2, 5, 7, 3])
    """
    rank = x.dim() - 2
    if rank < 1:
        raise ShapeError(
            f"input of shape {tuple(x.shape)} is invalid: zero_insert expects (N, C, *spatial) "
            "with at least one spatial dimension"
        )
    s = as_tuple(stride, rank, "stride")
    if any(v < 1 for v in s):
        raise ShapeError(f"stride={s} is invalid: each stride must be >= 1")
    if all(v == 1 for v in s):
        return x
    size = full_size(tuple(x.shape[2:]), (1,) * rank, s)
    out = x.new_zeros((*x.shape[:2], *size))
    index = (slice(None), slice(None), *(slice(None, None, v) for v in s))
    out[index] = x
    return out


def flip_weight(weight: Tensor, groups: int = 1) -> Tensor:
    """The weight of the ordinary convolution that :mod:`dilate <tconv.methods.dilate>` runs.

    Flips every spatial dimension and swaps input/output channels within each group, keeping
    the group blocks in place: ``(C_in, C_out // g, *K) -> (C_out, C_in // g, *K)`` with
    ``out[j * Co + o, i, *t] = weight[j * Ci + i, o, *(K - 1 - t)]`` for group ``j``,
    ``Ci = C_in // g``, ``Co = C_out // g``. Applying it twice gives ``weight`` back.

    Shape:
        - weight: ``(C_in, C_out // groups, *K)``
        - output: ``(C_out, C_in // groups, *K)``

    Raises:
        ShapeError: if ``weight.shape[0]`` is not divisible by ``groups``.

    Example:
        >>> import torch
        >>> w = torch.arange(6.0).reshape(1, 2, 3)    # C_in=1, C_out=2, k=3
        >>> flip_weight(w).tolist()
        [[[2.0, 1.0, 0.0]], [[5.0, 4.0, 3.0]]]
        >>> flip_weight(torch.zeros(4, 3, 2, 2), groups=2).shape
        torch.Size([6, 2, 2, 2])
    """
    if weight.dim() < 3:
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} is invalid: expected (C_in, C_out // groups, "
            "*kernel_size) with at least one spatial dimension"
        )
    if groups < 1 or weight.shape[0] % groups:
        raise ShapeError(
            f"weight.shape[0]={weight.shape[0]} is not divisible by groups={groups}: groups must "
            "be >= 1 and divide the number of input channels"
        )
    cin, cout_g, *k = weight.shape
    w = weight.reshape(groups, cin // groups, cout_g, *k).transpose(1, 2)
    w = w.reshape(groups * cout_g, cin // groups, *k)
    return w.flip(list(range(2, w.dim())))


def _pad_or_crop(x: Tensor, pairs: list[tuple[int, int]]) -> Tensor:
    """Pad each spatial dimension by ``(begin, end)`` zeros; negative amounts crop."""
    grow = [v for a, b in reversed(pairs) for v in (max(a, 0), max(b, 0))]
    if any(grow):
        x = F.pad(x, grow)
    if any(a < 0 or b < 0 for a, b in pairs):
        cut = [slice(max(-a, 0), x.shape[2 + j] - max(-b, 0)) for j, (a, b) in enumerate(pairs)]
        index = (slice(None), slice(None), *cut)
        x = x[index]
    return x


def border(geom: Geometry) -> list[tuple[int, int]]:
    """Zeros padded around the zero-inserted input, ``(begin, end)`` per dimension (step 2).

    ``d * (k - 1) - lo`` at the start and ``d * (k - 1) - hi`` at the end; a negative amount
    crops instead.

    >>> border(Geometry.create(3, stride=2, padding=1, output_padding=1))
    [(1, 2)]
    """
    return [
        (span - 1 - lo, span - 1 - hi) for span, (lo, hi) in zip(geom.span, geom.crop, strict=True)
    ]


class DilateSteps(NamedTuple):
    """The intermediate tensors of the zero-insertion view (see :func:`steps`)."""

    inserted: Tensor
    padded: Tensor
    flipped: Tensor
    output: Tensor


def steps(x: Tensor, weight: Tensor, geom: Geometry) -> DilateSteps:
    """The three steps of this method, each result kept (for drawing and teaching).

    ``inserted = zero_insert(x, stride)``; ``padded`` = it with :func:`border` zeros around;
    ``flipped = flip_weight(weight)``; ``output`` = the stride-1 convolution of ``padded`` with
    ``flipped`` (equal to the transposed convolution). Any crop, including negative ones.

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``
        - inserted: ``(N, C_in, *((I - 1) * stride + 1))``; padded: ``(N, C_in, *(O + span - 1))``
        - output: ``(N, C_out, *O)`` with ``O = geom.output_size(I)``

    Raises:
        ShapeError: if the geometry gives an empty output for this input.

    Example:
        >>> import torch
        >>> s = steps(torch.ones(1, 1, 2), torch.tensor([[[1.0, 2.0, 3.0]]]), Geometry.create(3, 2))
        >>> s.padded.tolist(), s.output.tolist()
        ([[[0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]]], [[[1.0, 2.0, 4.0, 2.0, 3.0]]])
    """
    geom.output_size(tuple(x.shape[2:]))
    inserted = zero_insert(x, geom.stride)
    padded = _pad_or_crop(inserted, border(geom))
    flipped = flip_weight(weight, geom.groups)
    output = _CONV[geom.rank](padded, flipped, None, 1, 0, geom.dilation, geom.groups)
    return DilateSteps(inserted, padded, flipped, output)


def forward(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """Transposed convolution by zero insertion and an ordinary convolution.

    Contract as in :mod:`tconv.methods`: batched ``x``, non-negative crops, zeros mode.

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``; bias: ``(C_out,)``
        - output: ``(N, C_out, *O)`` with ``O = geom.output_size(I)``

    Example:
        >>> import torch
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create((3, 3), stride=2, padding=1, output_padding=1)
        >>> forward(torch.randn(1, 3, 16, 16), torch.randn(3, 8, 3, 3), None, g).shape
        torch.Size([1, 8, 32, 32])
    """
    # an empty output dimension (tconv.functional.apply may crop a whole dimension away before
    # zero-extending it) is computed one element long, then sliced to length 0
    empty = [n == 0 for n in geom.cropped_size(tuple(x.shape[2:]))]
    z = zero_insert(x, geom.stride)
    pads = [(a, b + e) for (a, b), e in zip(border(geom), empty, strict=True)]
    z = _pad_or_crop(z, pads)
    y = _CONV[geom.rank](
        z, flip_weight(weight, geom.groups), bias, 1, 0, geom.dilation, geom.groups
    )
    if any(empty):
        index = (slice(None), slice(None), *(slice(0, 0 if e else None) for e in empty))
        y = y[index]
    return y


#: The registry's entry (:mod:`tconv.methods`).
METHOD = MethodSpec("dilate", forward, "zero insertion + convolution", color="#9ecae1")
