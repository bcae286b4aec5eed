"""GEMM into columns, then col2im scatter-add: how CPU runtimes compute a transposed convolution.

Two steps, any rank:

1. **GEMM.** Per group ``g``, one matrix product gives the columns ``W_gᵀ @ x_g`` of shape
   ``(C_out/g * prod(K), prod(I))``: entry ``(c, t, j)`` is the contribution of input position
   ``j`` through kernel tap ``t`` to output channel ``c``. It is computed as its transpose,
   ``x_gᵀ @ W_g`` with the weight's taps ahead of its channels, so that every ``(j, t)`` holds
   a contiguous vector of output channels (all groups in one batched product).
2. **col2im.** That contribution belongs at full-output position ``j * stride + t * dilation``
   (per dimension); every column entry is added there (``index_add`` with precomputed linear
   indices, whole channel vectors at a time). Entries that land in the crop ``[0, lo)`` or
   ``[L - hi, L)`` are dropped before the scatter, so the cropped border is never materialised.

In 1-D and 2-D the columns are laid out channel-major instead and the scatter-add is torch's
own col2im kernel, ``torch.nn.functional.fold`` (several times faster than ``index_add``, and
for depthwise layers the GEMM is an outer product); 3-D uses the ``index_add`` above.

Overlapping taps (kernel span > stride) add up; gaps (stride > kernel span) stay zero. The
adjoint of col2im is im2col (``torch.nn.functional.unfold`` in 2-D), which is why an ordinary
convolution is GEMM after im2col and its transpose is GEMM before col2im.

>>> import torch
>>> from tconv.shapes import Geometry
>>> g = Geometry.create(3, stride=2)
>>> col2im(torch.ones(1, 1, 3, 2), (2,), g).tolist()  # how many taps reach each position
[[[1.0, 1.0, 2.0, 1.0, 1.0]]]
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..shapes import Geometry
from .spec import MethodSpec

__all__ = ["col2im", "col2im_index", "forward"]

_HALF = (torch.float16, torch.bfloat16)


def col2im_index(
    input_size: tuple[int, ...], geom: Geometry, device: torch.device | None = None
) -> tuple[Tensor, Tensor | None]:
    """Where each column entry goes: ``(target, keep)`` for :func:`col2im`.

    Entries are numbered ``j * prod(K) + t`` (input position ``j``, then kernel tap ``t``, each
    row-major). Entry ``keep[m]`` goes to linear position ``target[m]`` of the cropped output;
    ``keep`` is None when no entry falls in the crop (then entry ``m`` goes to ``target[m]``).

    Shape:
        - target: ``(M,)`` with ``M = prod(I) * prod(K)`` when ``keep`` is None, else
          ``keep.shape``; values in ``[0, prod(O))``, ``O = geom.cropped_size(input_size)``

    Example:
        >>> from tconv.shapes import Geometry
        >>> # k3 s2 p1, 2 inputs: entry (j, t) lands at 2*j + t - 1 = [-1, 0, 1 | 1, 2, 3];
        >>> # the output has length 3, so entries 0 (at -1) and 5 (at 3) are cropped
        >>> target, keep = col2im_index((2,), Geometry.create(3, stride=2, padding=1))
        >>> target.tolist(), keep.tolist()
        ([0, 1, 1, 2], [1, 2, 3, 4])
    """
    rank = geom.rank
    out = geom.cropped_size(input_size)
    kernel = geom.kernel_size
    valid = torch.ones((1,) * (2 * rank), dtype=torch.bool, device=device)
    target = torch.zeros((1,) * (2 * rank), dtype=torch.long, device=device)
    for j in range(rank):
        i = torch.arange(input_size[j], device=device).view(-1, 1)
        t = torch.arange(kernel[j], device=device).view(1, -1)
        pos = i * geom.stride[j] + t * geom.dilation[j] - geom.crop[j][0]
        shape = [1] * (2 * rank)
        shape[j], shape[rank + j] = input_size[j], kernel[j]
        valid = valid & ((pos >= 0) & (pos < out[j])).view(shape)
        target = target + (pos * math.prod(out[j + 1 :])).view(shape)
    valid = valid.expand(*input_size, *kernel).reshape(-1)
    target = target.expand(*input_size, *kernel).reshape(-1)
    if bool(valid.all()):
        return target, None
    keep = valid.nonzero().squeeze(1)
    return target[keep], keep


def _scatter(entries: Tensor, input_size: tuple[int, ...], geom: Geometry) -> Tensor:
    """col2im on ``(B, prod(I) * prod(K), C)`` entries: the cropped output ``(B, prod(O), C)``."""
    out = geom.cropped_size(input_size)
    target, keep = col2im_index(input_size, geom, entries.device)
    if keep is not None:  # drop what lands in the crop before adding anything
        entries = entries.index_select(1, keep)
    zeros = entries.new_zeros((entries.shape[0], math.prod(out), entries.shape[2]))
    return zeros.index_add(1, target, entries)


def col2im(columns: Tensor, input_size: tuple[int, ...], geom: Geometry) -> Tensor:
    """Scatter-add columns to the cropped output: the second step of the scatter method.

    Entry ``(n, c, t, j)`` is added at output position ``j * stride + t * dilation - lo`` (per
    dimension; positions in the crop are dropped). The layout is that of
    ``torch.nn.functional.fold`` (torch's 2-D col2im) with the channels split from the taps.
    Differentiable in ``columns``.

    Shape:
        - columns: ``(N, C, prod(K), prod(I))``, ``K = geom.kernel_size``, ``I = input_size``
        - output: ``(N, C, *O)`` with ``O = geom.cropped_size(input_size)``

    Example:
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create((2, 2), stride=1)
        >>> col2im(torch.ones(1, 1, 4, 4), (2, 2), g)[0, 0]
        tensor([[1., 2., 1.],
                [2., 4., 2.],
                [1., 2., 1.]])
    """
    batch, channels, pk, pi = columns.shape
    entries = columns.permute(0, 3, 2, 1).reshape(batch, pi * pk, channels)
    y = _scatter(entries, input_size, geom)
    return y.transpose(1, 2).reshape(batch, channels, *geom.cropped_size(input_size))


def forward(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """Transposed convolution by GEMM into columns, then col2im (see module docstring).

    float16/bfloat16 are computed in float32 and the result is cast back.

    Shape:
        - x: ``(N, C_in, *I)``; weight: ``(C_in, C_out // groups, *K)``; bias: ``(C_out,)``
        - output: ``(N, C_out, *O)`` with ``O = geom.output_size(I)``

    Example:
        >>> from tconv.shapes import Geometry
        >>> g = Geometry.create(3, stride=2, padding=1, output_padding=1)
        >>> forward(torch.ones(1, 1, 2), torch.ones(1, 1, 3), None, g).tolist()
        [[[1.0, 2.0, 1.0, 1.0]]]
    """
    dtype = x.dtype
    if dtype in _HALF:
        x, weight = x.float(), weight.float()
        bias = None if bias is None else bias.float()
    batch, in_channels = x.shape[:2]
    size = tuple(x.shape[2:])
    groups, out_per_group = geom.groups, weight.shape[1]
    in_per_group = in_channels // groups
    pk, pi = math.prod(geom.kernel_size), math.prod(size)
    if geom.rank <= 2 and all(o > 0 for o in geom.cropped_size(size)):
        return _forward_fold(x, weight, bias, geom).to(dtype)
    # GEMM, all groups at once: (N, G, prod(I), C_in/g) @ (G, C_in/g, prod(K) * C_out/g)
    w = weight.reshape(groups, in_per_group, out_per_group, pk).transpose(2, 3)
    xt = x.reshape(batch, groups, in_per_group, pi).transpose(2, 3)
    columns = xt @ w.reshape(groups, in_per_group, pk * out_per_group)
    y = _scatter(columns.reshape(batch * groups, pi * pk, out_per_group), size, geom)
    out = geom.cropped_size(size)  # 0 where functional.apply crops it all away
    y = y.view(batch, groups, math.prod(out), out_per_group).transpose(2, 3)
    y = y.reshape(batch, groups * out_per_group, *out)
    if bias is not None:
        y = y + bias.view((1, -1) + (1,) * geom.rank)
    return y.to(dtype)


def _forward_fold(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """1-D and 2-D: the columns ``W_gᵀ @ x_g`` laid out as torch's ``fold`` reads them
    (channel-major, then taps), and ``fold`` (torch's col2im kernel) adds them up."""
    batch, in_channels = x.shape[:2]
    size = tuple(x.shape[2:])
    groups, out_per_group = geom.groups, weight.shape[1]
    in_per_group = in_channels // groups
    pk, pi = math.prod(geom.kernel_size), math.prod(size)
    # (G, C_out/g * prod(K), C_in/g) @ (N, G, C_in/g, prod(I)): entry (g, c * prod(K) + t, j)
    w = weight.reshape(groups, in_per_group, out_per_group * pk).transpose(1, 2)
    xg = x.reshape(batch, groups, in_per_group, pi)
    # depthwise-like (one input channel per group): an outer product, no batched reduction
    columns = w * xg if in_per_group == 1 else w @ xg
    columns = columns.reshape(batch, groups * out_per_group * pk, pi)
    pad = (1,) * (2 - geom.rank)  # 1-D as 2-D with a height of one
    full = pad + geom.full_size(size)
    y = F.fold(
        columns,
        full,
        pad + geom.kernel_size,
        dilation=pad + geom.dilation,
        stride=pad + geom.stride,
    )
    cut = tuple(slice(lo, n - hi) for (lo, hi), n in zip(geom.crop, full[-geom.rank :]))
    height: tuple[int, ...] = (0,) * (2 - geom.rank)  # drop the 1-D case's height
    index: tuple[Any, ...] = (slice(None), slice(None), *height, *cut)
    y = y[index]
    if bias is not None:
        y = y + bias.view((1, -1) + (1,) * geom.rank)
    return y


#: The registry's entry (:mod:`tconv.methods`).
METHOD = MethodSpec("scatter", forward, "GEMM + col2im", color="#6baed6")
