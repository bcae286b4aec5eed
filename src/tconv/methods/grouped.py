"""Grouped and depthwise transposed convolutions with a backward pass of their own.

The forward is torch's kernel (the bias added after it). The backward computes

- the input gradient as the ordinary grouped convolution of the output gradient with the same
  weight (``conv{1,2,3}d(gy, w, stride, padding, dilation, groups)``: the transposed
  convolution's adjoint), which torch runs fast for every group count;
- the weight gradient as one batched matrix product per group: the output gradient, padded
  back to the full output, read in windows of the kernel's span (``unfold``, a view) at the
  stride, times the input (``gw[g] = x[g] @ windows[g]``);
- the bias gradient as the sum of the output gradient.

On CPU torch's own weight gradient of a depthwise transposed convolution runs far below the
machine's memory rate (a 4x96x64x64 k4 s2 layer: 22 ms forward + backward against 2.9 ms
forward). The result is the same up to float rounding; the backward is made of differentiable
operations, so gradients of gradients work too. ``method="auto"`` times this execution
(``"grouped"``) for calls with gradients on grouped layers.

Example:
    >>> import torch
    >>> from tconv.shapes import Geometry
    >>> g = Geometry.create((4, 4), stride=2, padding=1, groups=4)
    >>> x = torch.randn(2, 4, 5, 5, dtype=torch.float64, requires_grad=True)
    >>> w = torch.randn(4, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    >>> torch.autograd.gradcheck(lambda x, w: forward(x, w, None, g), (x, w))
    True
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..shapes import Geometry
from . import native
from .spec import MethodSpec

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
#: The windows of the weight gradient are built per chunk of samples of at most this many
#: elements (the windows repeat each output element once per kernel tap it meets).
_CHUNK_ELEMENTS = 1 << 25


class _Grouped(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
        ctx.geom = geom
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x, weight)
        return native.forward_bias_after(x, weight, bias, geom)

    @staticmethod
    def backward(ctx: Any, gy: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        geom: Geometry = ctx.geom
        full = _full(gy, geom)
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = input_grad(full, weight, geom, x.shape[2:])
        if ctx.needs_input_grad[1]:
            gw = weight_grad(x, full, weight.shape, geom)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = gy.sum(dim=(0, *range(2, gy.dim())))
        return gx, gw, gb, None


def _full(gy: Tensor, geom: Geometry) -> Tensor:
    """The output gradient zero-padded back to the full output (the crops are >= 0)."""
    pads = [v for lo, hi in reversed(geom.crop) for v in (lo, hi)]
    return F.pad(gy, pads) if any(pads) else gy


def input_grad(full: Tensor, weight: Tensor, geom: Geometry, size: Any) -> Tensor:
    """The input gradient from the full output gradient: the ordinary grouped convolution
    with the same weight (windows past the input's length are dropped)."""
    g = _CONV[geom.rank](full, weight, None, geom.stride, 0, geom.dilation, geom.groups)
    if tuple(g.shape[2:]) != tuple(size):
        index = (slice(None), slice(None), *[slice(0, n) for n in size])
        g = g[index]
    return g


def weight_grad(x: Tensor, full: Tensor, shape: Any, geom: Geometry) -> Tensor:
    """The weight gradient, ``(C_in, C_out // groups, *K)``: per group, the input times the
    full output gradient read in kernel windows at the stride."""
    n, cin = x.shape[:2]
    groups = geom.groups
    cin_g, cout_g = cin // groups, shape[1]
    ksize = math.prod(geom.kernel_size)
    per_sample = full.shape[1] * math.prod(x.shape[2:]) * ksize
    step = max(1, _CHUNK_ELEMENTS // max(per_sample, 1))
    total: Tensor | None = None
    for s in range(0, n, step):
        win = full[s : s + step]
        for j, (k, st, d) in enumerate(zip(geom.kernel_size, geom.stride, geom.dilation)):
            dim = 2 + j
            span = d * (k - 1) + 1
            win = win.unfold(dim, span, st)  # windows: a new last dimension
            if d > 1:
                win = win[..., ::d]
            win = win.narrow(dim, 0, x.shape[dim])  # one window per input position
        # win: (m, C_out, *I, *K) -> (G, m * prod(I), cout_g * prod(K))
        m = win.shape[0]
        spatial = math.prod(x.shape[2:])
        win = win.reshape(m, groups, cout_g, spatial, ksize)
        b = win.permute(1, 0, 3, 2, 4).reshape(groups, m * spatial, cout_g * ksize)
        a = x[s : s + step].reshape(m, groups, cin_g, spatial)
        a = a.permute(1, 2, 0, 3).reshape(groups, cin_g, m * spatial)
        part = torch.bmm(a, b)
        total = part if total is None else total + part
    assert total is not None
    return total.reshape(groups * cin_g, cout_g, *geom.kernel_size)


def forward(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry) -> Tensor:
    """torch's kernel forward, this module's backward (contract of :mod:`tconv.methods`)."""
    if rank_ok(geom):
        return _Grouped.apply(x, weight, bias, geom)
    return native.forward_bias_after(x, weight, bias, geom)


def rank_ok(geom: Geometry) -> bool:
    """Whether the geometry is one this backward is for (grouped); others run native."""
    return geom.groups > 1


#: The registry's entry (:mod:`tconv.methods`): an execution only ``"auto"`` runs, timed on
#: grouped layers whose gradients are recorded.
METHOD = MethodSpec(
    "grouped",
    forward,
    "torch's kernel forward; grouped convolution and batched-matmul backward",
    public=False,
    candidate=True,
    needs_groups=True,
    needs_grad=True,
    benchmark=False,
)
