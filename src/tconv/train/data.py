"""Real photographs that ship inside scikit-image, split by image, and the SR degradation.

Only images bundled in scikit-image's wheel are used (no download at run time). The split is
by image, never by patch: a held-out photo is never seen in training.

- :data:`TRAIN_PHOTOS`, :data:`HELD_OUT_PHOTOS`: the names (``skimage.data.<name>()``).
- :func:`load_photo`: one photo as a float32 ``(3, H, W)`` tensor in ``[0, 1]`` (greyscale
  photos are repeated to three channels).
- :func:`degrade`: the low-resolution input: antialiased bicubic downscaling by ``scale``
  (``torch.nn.functional.interpolate(..., mode="bicubic", antialias=True)``, the same filter
  as Pillow's ``Image.resize(..., BICUBIC)``), after cropping the photo to a multiple of
  ``scale``.
- :func:`bicubic`: the no-learning baseline (bicubic interpolation, ``align_corners=False``).

Example:
    >>> import torch
    >>> hr = torch.rand(3, 33, 40)
    >>> degrade(hr, 2).shape, crop_to_multiple(hr, 2).shape
    (torch.Size([3, 16, 20]), torch.Size([3, 32, 40]))
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "HELD_OUT_PHOTOS",
    "TRAIN_PHOTOS",
    "bicubic",
    "crop_to_multiple",
    "degrade",
    "load_photo",
    "to_y",
]

#: Photos for training (scikit-image bundled, no download): natural scenes and objects.
TRAIN_PHOTOS: tuple[str, ...] = (
    "astronaut",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "coins",
    "moon",
    "clock",
    "cell",
    "text",
    "page",
    "brick",
    "grass",
    "gravel",
)
#: Photos never used in training: the held-out set every metric is computed on.
HELD_OUT_PHOTOS: tuple[str, ...] = ("chelsea", "coffee", "camera")


@functools.lru_cache(maxsize=32)
def _load_array(name: str) -> np.ndarray:
    import skimage.data

    try:
        loader = getattr(skimage.data, name)
    except AttributeError:
        raise ValueError(f"photo {name!r} is not in skimage.data") from None
    return np.asarray(loader())


def load_photo(name: str) -> Tensor:
    """``skimage.data.<name>()`` as float32 ``(3, H, W)`` in ``[0, 1]``.

    Shape:
        - Output: ``(3, H, W)``

    Example:
        >>> load_photo("chelsea").shape
        torch.Size([3, 300, 451])
    """
    arr = _load_array(name)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0 if arr.dtype == np.uint8 else 1.0
    x = torch.from_numpy(arr.astype(np.float32) / scale)
    x = x[None].expand(3, -1, -1) if x.dim() == 2 else x[..., :3].permute(2, 0, 1)
    return x.contiguous().clamp(0, 1)


def crop_to_multiple(x: Tensor, scale: int) -> Tensor:
    """Crop the last two dimensions down to multiples of ``scale`` (top-left kept)."""
    h, w = x.shape[-2] // scale * scale, x.shape[-1] // scale * scale
    return x[..., :h, :w]


def degrade(hr: Tensor, scale: int) -> Tensor:
    """Antialiased bicubic downscaling by ``scale`` (the SR degradation), clamped to [0, 1].

    Shape:
        - Input: ``(C, H, W)`` or ``(N, C, H, W)``
        - Output: ``(..., H // scale, W // scale)``
    """
    x = crop_to_multiple(hr, scale)
    batched = x.dim() == 4
    y = F.interpolate(
        x if batched else x[None],
        size=(x.shape[-2] // scale, x.shape[-1] // scale),
        mode="bicubic",
        antialias=True,
        align_corners=False,
    ).clamp(0, 1)
    return y if batched else y[0]


def bicubic(lr: Tensor, scale: int) -> Tensor:
    """Bicubic upscaling by ``scale`` (``align_corners=False``), clamped to [0, 1].

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: ``(N, C, H * scale, W * scale)``
    """
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)


def to_y(rgb: Tensor) -> Tensor:
    """Luma Y of ITU-R BT.601 on the 8-bit scale ``[16, 235]`` (MATLAB ``rgb2ycbcr``).

    The SR convention (BasicSR, EDSR): PSNR and SSIM on Y. Input in ``[0, 1]``; the result
    is rounded to 8-bit levels first (outputs are saved as 8-bit images).

    Shape:
        - Input: ``(..., 3, H, W)``
        - Output: ``(..., H, W)``

    >>> to_y(torch.ones(3, 1, 1)).item(), to_y(torch.zeros(3, 1, 1)).item()
    (235.0, 16.0)
    """
    q = (rgb.clamp(0, 1) * 255).round() / 255
    r, g, b = q.unbind(-3)
    return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b).to(torch.float64).round(decimals=4)
