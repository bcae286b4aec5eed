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

    Greyscale photos are repeated to three channels, an alpha channel is dropped, and 8-bit,
    16-bit and boolean images are scaled to ``[0, 1]``.

    Args:
        name: the loader's name in ``skimage.data``, e.g. one of :data:`TRAIN_PHOTOS` or
            :data:`HELD_OUT_PHOTOS` (only photos bundled with scikit-image load offline).

    Returns:
        The photo as a contiguous float32 tensor.

    Shape:
        - Output: ``(3, H, W)``

    Raises:
        ValueError: ``name`` is not a function of ``skimage.data``.

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
    """Crop the last two dimensions down to multiples of ``scale`` (top-left kept).

    Args:
        x: an image or a batch of images.
        scale: the multiple; each of the last two sizes is rounded down to a multiple of it.

    Returns:
        A view of ``x`` (no copy), the bottom rows and right columns cut off.

    Shape:
        - Input: ``(..., H, W)``
        - Output: ``(..., H // scale * scale, W // scale * scale)``

    Example:
        >>> import torch
        >>> crop_to_multiple(torch.zeros(3, 33, 40), 4).shape
        torch.Size([3, 32, 40])
    """
    h, w = x.shape[-2] // scale * scale, x.shape[-1] // scale * scale
    return x[..., :h, :w]


def degrade(hr: Tensor, scale: int) -> Tensor:
    """Antialiased bicubic downscaling by ``scale`` (the SR degradation), clamped to [0, 1].

    The image is first cropped with :func:`crop_to_multiple`, so the low-resolution pixel grid
    lines up with the high-resolution one.

    Args:
        hr: the high-resolution image(s), values in ``[0, 1]``.
        scale: the integer downscaling factor.

    Returns:
        The low-resolution input of super-resolution.

    Shape:
        - Input: ``(C, H, W)`` or ``(N, C, H, W)``
        - Output: ``(..., H // scale, W // scale)``

    Example:
        >>> import torch
        >>> degrade(torch.rand(2, 3, 33, 40), 2).shape
        torch.Size([2, 3, 16, 20])
        >>> float(degrade(torch.full((3, 8, 8), 0.5), 4).max())
        0.5
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

    The no-learning baseline every trained upsampler is compared with.

    Args:
        lr: the low-resolution batch, values in ``[0, 1]``.
        scale: the integer upscaling factor.

    Returns:
        The bicubic interpolation of ``lr``.

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: ``(N, C, H * scale, W * scale)``

    Example:
        >>> import torch
        >>> bicubic(torch.rand(1, 3, 5, 7), 2).shape
        torch.Size([1, 3, 10, 14])
    """
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)


def to_y(rgb: Tensor) -> Tensor:
    """Luma Y of ITU-R BT.601 on the 8-bit scale ``[16, 235]`` (MATLAB ``rgb2ycbcr``).

    The SR convention (BasicSR, EDSR): PSNR and SSIM on Y. Input in ``[0, 1]``; the result
    is rounded to 8-bit levels first (outputs are saved as 8-bit images).

    Args:
        rgb: RGB image(s) in ``[0, 1]``, channels third from the end.

    Returns:
        The luma, float64, rounded to 4 decimals.

    Shape:
        - Input: ``(..., 3, H, W)``
        - Output: ``(..., H, W)``

    Example:
        >>> import torch
        >>> to_y(torch.ones(3, 1, 1)).item(), to_y(torch.zeros(3, 1, 1)).item()
        (235.0, 16.0)
    """
    q = (rgb.clamp(0, 1) * 255).round() / 255
    r, g, b = q.unbind(-3)
    return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b).to(torch.float64).round(decimals=4)
