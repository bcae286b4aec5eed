"""PyTorch's own kernel: ``torch.nn.functional.conv_transpose{1,2,3}d``.

Any non-negative crop ``(lo, hi)`` is reached with torch's ``padding``/``output_padding``
plus at most ``max(stride, dilation) - 1`` extra elements per side, sliced off afterwards, so
the call computes little more than it returns.
"""

from __future__ import annotations

import functools

import torch.nn.functional as F
from torch import Tensor

from ..shapes import Geometry

_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@functools.lru_cache(maxsize=1024)  # geometries are immutable and hashable
def torch_arguments(geom: Geometry) -> tuple[tuple[int, ...], tuple[int, ...], tuple[slice, ...]]:
    """torch ``padding``, ``output_padding`` and the slices that finish a non-negative crop.

    >>> from tconv.shapes import Geometry
    >>> torch_arguments(Geometry.create(3, stride=2, padding="same"))
    ((0,), (0,), (slice(0, -1, None),))
    """
    pads, ops, cuts = [], [], []
    for (lo, hi), s, d in zip(geom.crop, geom.stride, geom.dilation):
        m = max(s, d)
        if hi > lo:  # torch crops the end no more than the start: slice the rest
            p, op = lo, 0
        elif lo - hi <= m - 1:
            p, op = lo, lo - hi
        else:  # output_padding would be too large: crop less at the start, slice the rest
            p, op = hi + m - 1, m - 1
        pads.append(p)
        ops.append(op)
        start, end = lo - p, (p - op) - hi  # end <= 0
        cuts.append(slice(start, end if end < 0 else None))
    return tuple(pads), tuple(ops), tuple(cuts)


def forward(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """Transposed convolution by torch's kernel (see module docstring)."""
    pads, ops, cuts = torch_arguments(geom)
    y = _CONV_T[geom.rank](x, weight, bias, geom.stride, pads, ops, geom.groups, geom.dilation)
    if any(c != slice(0, None) for c in cuts):
        index = (slice(None), slice(None), *cuts)
        y = y[index]
    return y
