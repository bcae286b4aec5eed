"""Functional transposed convolution: validate once, then dispatch to a method.

Every method computes the same thing, ``full[lo : L - hi]`` of the geometry in
:mod:`tconv.shapes`; they differ only in how (see :mod:`tconv.methods`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from . import methods as _methods
from .shapes import Geometry, IntOrTuple, PaddingSpec, ShapeError, as_tuple

__all__ = ["METHODS", "Method", "conv_transpose", "pixel_shuffle", "pixel_unshuffle"]

Method = Literal["native", "matrix", "dilate", "scatter", "subpixel", "auto"]
METHODS: tuple[str, ...] = get_args(Method)


def conv_transpose(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: PaddingSpec = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
    *,
    output_size: Sequence[int] | None = None,
    padding_mode: str = "zeros",
    allow_crop: bool = False,
    method: str = "native",
) -> Tensor:
    """Transposed convolution in 1, 2 or 3 spatial dimensions, computed by any exact method.

    The spatial rank is ``weight.dim() - 2``. Arguments mean what they mean in
    ``torch.nn.functional.conv_transpose{1,2,3}d``, plus:

    Args:
        padding: an int or tuple (crop ``p`` at both ends, as in PyTorch), ``"valid"`` (the
            full output), ``"same"`` (output = input * stride, odd extra crop at the end, as in
            TensorFlow/Keras/JAX and ONNX SAME_UPPER), ``"same_lower"`` (odd extra crop at the
            start, ONNX SAME_LOWER) or ``(begin, end)`` pairs per dimension (negative values
            extend with zeros).
        output_size: the exact spatial output size (the trailing ``rank`` entries are used);
            chooses the output_padding (replacing the ``output_padding`` argument, as PyTorch's
            modules do), or with ``allow_crop=True`` crops/extends the end.
        padding_mode: ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"``; a non-zeros
            mode is the exact adjoint of ``torch.nn.ConvNd`` with that padding and mode.
        method: one of :data:`METHODS`: ``"native"`` (torch), ``"matrix"`` (the transposed
            convolution matrix), ``"dilate"`` (zero insertion + convolution), ``"scatter"``
            (GEMM + col2im), ``"subpixel"`` (phase decomposition), ``"auto"``.

    Shape:
        - input: ``(N, C_in, *I)`` or unbatched ``(C_in, *I)``
        - weight: ``(C_in, C_out // groups, *K)``
        - bias: ``(C_out,)``
        - output: ``(N, C_out, *O)``,
          ``O = (I - 1) * stride - lo - hi + dilation * (K - 1) + 1`` (see :mod:`tconv.shapes`)

    Raises:
        ShapeError: on invalid settings or shapes, naming the bad value and the valid range.

    Example:
        >>> x = torch.randn(1, 3, 16, 16)
        >>> w = torch.randn(3, 3, 3, 3)
        >>> conv_transpose(x, w, stride=2, padding=1, output_padding=1).shape
        torch.Size([1, 3, 32, 32])
        >>> conv_transpose(x, w, stride=2, padding="same", method="subpixel").shape
        torch.Size([1, 3, 32, 32])
        >>> y = conv_transpose(x, w, stride=2, padding=1, method="matrix")
        >>> torch.allclose(y, torch.nn.functional.conv_transpose2d(x, w, stride=2, padding=1),
        ...                atol=1e-5)
        True
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(
            f"input and weight must be tensors, got {type(input).__name__} and "
            f"{type(weight).__name__}"
        )
    if method not in METHODS:
        raise ValueError(f"method={method!r} is invalid: valid methods are {METHODS}")
    rank = weight.dim() - 2
    if rank not in (1, 2, 3):
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} is invalid: expected 3, 4 or 5 dimensions "
            "(in_channels, out_channels // groups, *kernel_size) for 1-, 2- or 3-D"
        )
    geom = Geometry.create(
        tuple(weight.shape[2:]),
        stride,
        padding,
        output_padding,
        dilation,
        groups,
        padding_mode,
        rank=rank,
    )
    if output_size is not None:  # as in PyTorch, output_size takes output_padding's place
        geom = Geometry.create(
            tuple(weight.shape[2:]), stride, padding, 0, dilation, groups, padding_mode, rank=rank
        )
    bias_shape = None if bias is None else tuple(bias.shape)
    if output_size is not None:
        size = tuple(int(v) for v in output_size)
        if len(size) < rank:
            raise ShapeError(
                f"output_size={tuple(output_size)} is invalid: expected at least {rank} entries "
                "(the trailing ones are the spatial size)"
            )
        spatial = tuple(input.shape[-rank:]) if input.dim() >= rank else ()
        geom.check_call(input.shape, weight.shape, bias_shape, check_output=False)
        geom = geom.with_output_size(spatial, size[-rank:], allow_crop=allow_crop)
    batched, _ = geom.check_call(input.shape, weight.shape, bias_shape)
    x = input if batched else input.unsqueeze(0)
    y = apply(x, weight, bias, geom, method)
    return y if batched else y.squeeze(0)


def apply(x: Tensor, weight: Tensor, bias: Tensor | None, geom: Geometry, method: str) -> Tensor:
    """Run ``method`` on validated, batched input for any crops and padding mode.

    Methods themselves only see non-negative crops and the zeros mode; zero extension,
    border folding (non-zeros ``padding_mode``) and the bias of extended regions are done here.
    """
    impl = _methods.get(method, x, weight, geom)
    if geom.padding_mode == "zeros" and all(lo >= 0 and hi >= 0 for lo, hi in geom.crop):
        return impl(x, weight, bias, geom)
    if geom.padding_mode != "zeros":
        inner = [(0, 0)] * geom.rank  # the full output, folded below
    else:  # crop the non-negative parts, keeping at least one element to crop/extend below
        inner = []
        for (lo, hi), length in zip(geom.crop, geom.full_size(x.shape[2:])):
            a, b = max(lo, 0), max(hi, 0)
            while length - a - b < 1:
                a, b = (a - 1, b) if a > 0 else (a, b - 1)
            inner.append((a, b))
    y = impl(x, weight, None, geom.with_crop(tuple(inner)))
    if geom.padding_mode == "zeros":
        # the rest of each crop: extend with zeros (positive) or crop (negative); F.pad takes
        # the last dimension first
        rest = [
            v
            for (lo, hi), (a, b) in zip(reversed(geom.crop), reversed(inner))
            for v in (a - lo, b - hi)
        ]
        if any(v > 0 for v in rest):  # extend first, so that a crop never exceeds the length
            y = F.pad(y, [max(v, 0) for v in rest])
        if any(v < 0 for v in rest):
            y = F.pad(y, [min(v, 0) for v in rest])
    else:
        ext = [v for lo, hi in reversed(geom.crop) for v in (max(-lo, 0), max(-hi, 0))]
        if any(ext):
            y = F.pad(y, ext)
        y = _fold_border(y, geom)
    if bias is not None:
        y = y + bias.reshape((1, -1) + (1,) * geom.rank)
    return y


def _fold_border(y: Tensor, geom: Geometry) -> Tensor:
    """Adjoint of ``F.pad(x, crops, mode)``: add the border outside the crop back in.

    ``y`` holds the full output, extended so that every crop is non-negative; the result has
    the geometry's output size.
    """
    for j, (lo, hi) in enumerate(geom.crop):
        dim = 2 + j
        a, b = max(lo, 0), max(hi, 0)
        n = y.shape[dim] - a - b
        t = torch.arange(-a, n + b, device=y.device)
        if geom.padding_mode == "circular":
            src = t.remainder(n)
        elif geom.padding_mode == "reflect":
            src = torch.where(t < 0, -t, torch.where(t >= n, 2 * (n - 1) - t, t))
        else:  # replicate
            src = t.clamp(0, n - 1)
        shape = list(y.shape)
        shape[dim] = n
        y = y.new_zeros(shape).index_add(dim, src, y)
    return y


# ---------------------------------------------------------------------------------------------
# pixel shuffle (N-d): the interleave of the sub-pixel view


def _shuffle_scale(x: Tensor, scale: IntOrTuple, name: str) -> tuple[int, ...]:
    """Validate a batched ``(N, C, *S)`` input and return the per-dimension scale."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a tensor, got {type(x).__name__}")
    rank = x.dim() - 2
    if rank not in (1, 2, 3):
        raise ShapeError(
            f"input of shape {tuple(x.shape)} is invalid: {name} expects batched (N, C, *spatial) "
            "input with 1, 2 or 3 spatial dimensions (3, 4 or 5 dimensions in all)"
        )
    r = as_tuple(scale, rank, "scale")
    if any(v < 1 for v in r):
        raise ShapeError(f"scale={r} is invalid: each scale factor must be >= 1")
    return r


def pixel_shuffle(x: Tensor, scale: IntOrTuple) -> Tensor:
    """Move channel blocks into space: ``(N, C * prod(r), *S) -> (N, C, *(S * r))``, any rank.

    Input channel ``c * prod(r) + p``, where ``p`` is the row-major index of the phase
    ``(i_1, ..., i_n)`` (``0 <= i_j < r_j``), goes to
    ``output[:, c, s_1 * r_1 + i_1, ..., s_n * r_n + i_n]`` from ``input[:, ., s_1, ..., s_n]``.
    In 2-D this is exactly :func:`torch.nn.functional.pixel_shuffle`. The inverse is
    :func:`pixel_unshuffle`.

    Args:
        x: batched input ``(N, C, *S)`` with 1, 2 or 3 spatial dimensions (unbatched input is
            not accepted: add the batch dimension with ``x.unsqueeze(0)``).
        scale: the upscale factor ``r``, an int or one int per spatial dimension.

    Shape:
        - x: ``(N, C * prod(r), *S)``
        - output: ``(N, C, *(S * r))``

    Raises:
        ShapeError: if the channel count is not a multiple of ``prod(r)``, if ``x`` is not 3-,
            4- or 5-D, or if a scale factor is < 1.

    Example:
        >>> x = torch.arange(8.0).reshape(1, 4, 2)
        >>> pixel_shuffle(x, 2).tolist()        # 1-D: 2 output channels of length 4
        [[[0.0, 2.0, 1.0, 3.0], [4.0, 6.0, 5.0, 7.0]]]
        >>> pixel_shuffle(torch.zeros(2, 2 * 12, 3, 4, 5), (1, 3, 4)).shape
        torch.Size([2, 2, 3, 12, 20])
        >>> x = torch.randn(1, 18, 4, 5)
        >>> torch.equal(pixel_shuffle(x, 3), torch.nn.functional.pixel_shuffle(x, 3))
        True
    """
    r = _shuffle_scale(x, scale, "pixel_shuffle")
    rank = len(r)
    n, c, *size = x.shape
    p = math.prod(r)
    if c % p:
        raise ShapeError(
            f"input has {c} channels, which pixel_shuffle with scale={r} cannot split: the "
            f"channel count must be a multiple of prod(scale)={p} (e.g. {max(c // p, 1) * p} or "
            f"{(c // p + 1) * p})"
        )
    y = x.reshape(n, c // p, *r, *size)
    perm = [0, 1] + [d for j in range(rank) for d in (2 + rank + j, 2 + j)]
    return y.permute(perm).reshape(n, c // p, *(sz * f for sz, f in zip(size, r, strict=True)))


def pixel_unshuffle(x: Tensor, scale: IntOrTuple) -> Tensor:
    """Move space into channel blocks: ``(N, C, *(S * r)) -> (N, C * prod(r), *S)``, any rank.

    The inverse of :func:`pixel_shuffle`: ``output[:, c * prod(r) + p, s_1, ..., s_n] =
    input[:, c, s_1 * r_1 + i_1, ..., s_n * r_n + i_n]`` with ``p`` the row-major index of
    ``(i_1, ..., i_n)``. In 2-D this is exactly :func:`torch.nn.functional.pixel_unshuffle`.

    Args:
        x: batched input ``(N, C, *S)`` with 1, 2 or 3 spatial dimensions.
        scale: the downscale factor ``r``, an int or one int per spatial dimension.

    Shape:
        - x: ``(N, C, *(S * r))``
        - output: ``(N, C * prod(r), *S)``

    Raises:
        ShapeError: if a spatial length is not a multiple of its scale factor, if ``x`` is not
            3-, 4- or 5-D, or if a scale factor is < 1.

    Example:
        >>> pixel_unshuffle(torch.tensor([[[0.0, 2.0, 1.0, 3.0]]]), 2).tolist()
        [[[0.0, 1.0], [2.0, 3.0]]]
        >>> pixel_unshuffle(torch.zeros(1, 3, 4, 6, 8), 2).shape
        torch.Size([1, 24, 2, 3, 4])
        >>> x = torch.randn(2, 3, 6, 4)
        >>> torch.equal(pixel_shuffle(pixel_unshuffle(x, 2), 2), x)
        True
    """
    r = _shuffle_scale(x, scale, "pixel_unshuffle")
    rank = len(r)
    n, c, *size = x.shape
    bad = [j for j, (sz, f) in enumerate(zip(size, r, strict=True)) if sz % f]
    if bad:
        raise ShapeError(
            f"input spatial size {tuple(size)} is invalid for pixel_unshuffle with scale={r}: "
            "each spatial length must be a multiple of its scale factor, but "
            + ", ".join(
                f"dimension {j} has length {size[j]} (nearest valid: "
                f"{max(size[j] // r[j], 1) * r[j]} or {(size[j] // r[j] + 1) * r[j]})"
                for j in bad
            )
        )
    inner = [sz // f for sz, f in zip(size, r, strict=True)]
    y = x.reshape(n, c, *(v for j in range(rank) for v in (inner[j], r[j])))
    perm = [0, 1] + [3 + 2 * j for j in range(rank)] + [2 + 2 * j for j in range(rank)]
    return y.permute(perm).reshape(n, c * math.prod(r), *inner)
