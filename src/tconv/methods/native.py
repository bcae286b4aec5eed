"""PyTorch's own kernel: ``torch.nn.functional.conv_transpose{1,2,3}d``.

Any non-negative crop ``(lo, hi)`` is reached with torch's ``padding``/``output_padding``
plus at most ``max(stride, dilation) - 1`` extra elements per side, sliced off afterwards, so
the call computes little more than it returns.

:func:`forward_bias_after` is the same kernel called without the bias, the bias then added in
place: on CPU the kernel with a bias is much slower on some layers (depthwise, 'same'-style
crops, channels_last) and as fast on others (docs/benchmarks.md measures it), so
``method="auto"`` measures both (execution ``"native+bias"``).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ..cache_keys import lru_cache
from ..shapes import Geometry
from .spec import MethodSpec

_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@lru_cache(maxsize=1024)  # geometries are immutable and hashable
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
    pads, ops, index = _arguments(geom)
    y = _CONV_T[geom.rank](x, weight, bias, geom.stride, pads, ops, geom.groups, geom.dilation)
    return y if index is None else y[index]


def forward_bias_after(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """torch's kernel without the bias, then the bias added in place (contract of
    :func:`forward`; the same result up to the rounding of one addition).

    Example:
        >>> import torch
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create((4, 4), stride=2, padding=1, groups=3)
        >>> x, w, b = torch.randn(1, 3, 5, 5), torch.randn(3, 1, 4, 4), torch.randn(3)
        >>> ref = torch.nn.functional.conv_transpose2d(x, w, b, 2, 1, 0, 3)
        >>> torch.allclose(forward_bias_after(x, w, b, g), ref, atol=1e-5)
        True
    """
    pads, ops, index = _arguments(geom)
    y = _CONV_T[geom.rank](x, weight, None, geom.stride, pads, ops, geom.groups, geom.dilation)
    if bias is not None:  # before the slice: an in-place add on the whole tensor, not a view
        y = y.add_(bias.reshape((1, -1) + (1,) * geom.rank))
    return y if index is None else y[index]


@lru_cache(maxsize=1024)
def _arguments(
    geom: Geometry,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[slice, ...] | None]:
    """:func:`torch_arguments` with the slices as one index, None when nothing is sliced."""
    pads, ops, cuts = torch_arguments(geom)
    if all(c == slice(0, None) for c in cuts):
        return pads, ops, None
    return pads, ops, (slice(None), slice(None), *cuts)


#: The registry's entries (:mod:`tconv.methods`): torch's kernel, and the same kernel with the
#: bias added after, an execution only ``"auto"`` runs.
METHOD = MethodSpec("native", forward, "torch's kernel", candidate=True, benchmark=False)
BIAS_AFTER = MethodSpec(
    "native+bias",
    forward_bias_after,
    "torch's kernel without the bias, the bias added after",
    public=False,
    candidate=True,
    needs_bias=True,
    benchmark=False,
)
