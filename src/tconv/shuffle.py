"""Pixel shuffle in 1, 2 or 3 dimensions: the interleave of the sub-pixel view.

A low module of its own: the sub-pixel method (:mod:`tconv.methods.subpixel`), the modules
(:class:`tconv.nn.PixelShuffle`) and the model rewrites (:mod:`tconv.convert`) all use it, and it
imports nothing of tconv but :mod:`tconv.shapes`.

>>> import torch
>>> pixel_shuffle(torch.zeros(1, 8, 5), 2).shape
torch.Size([1, 4, 10])
"""

from __future__ import annotations

import math

from torch import Tensor

from .shapes import IntOrTuple, ShapeError, as_tuple

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


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
        >>> import torch
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
        >>> import torch
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
