"""Real photographs that ship inside scikit-image, split by image, and the SR degradation.

Only images bundled in scikit-image's wheel are used (no download at run time). The split is
by image, never by patch: a held-out photo is never seen in training.

- :data:`TRAIN_PHOTOS`, :data:`HELD_OUT_PHOTOS`: the names (``skimage.data.<name>()``);
  :data:`PAIRED_PHOTOS`: the two views of ``skimage.data.stereo_motorcycle()``, which a run can
  add (``tconv train sr --photos``); :func:`check_train_photos` refuses a held-out one.
- :func:`load_photo`: one photo as a float32 ``(3, H, W)`` tensor in ``[0, 1]`` (greyscale
  photos are repeated to three channels).
- :func:`degrade`: the low-resolution input: antialiased bicubic downscaling by ``scale``
  (``torch.nn.functional.interpolate(..., mode="bicubic", antialias=True)``, the same filter
  as Pillow's ``Image.resize(..., BICUBIC)``), after cropping the photo to a multiple of
  ``scale``.
- :func:`bicubic`: the no-learning baseline (bicubic interpolation, ``align_corners=False``).

The textures of the segmentation and generator tasks (``tconv train seg`` / ``gan``):

- :data:`TEXTURES`: the texture images bundled with scikit-image (brick, grass, gravel), split
  by columns: :data:`TEXTURE_COLUMNS` for the segmentation composites, :data:`PATCH_COLUMNS`
  for the generator's patches (of the images downscaled by 2); training and held-out columns
  share no pixel.
- :func:`load_texture`, :func:`region_labels`, :func:`composites`: texture composites under
  random region masks, with exact per-pixel labels.
- :func:`texture_patches`: 32x32 patches in ``[-1, 1]``.

Example:
    >>> import torch
    >>> hr = torch.rand(3, 33, 40)
    >>> degrade(hr, 2).shape, crop_to_multiple(hr, 2).shape
    (torch.Size([3, 16, 20]), torch.Size([3, 32, 40]))
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..shapes import ShapeError

__all__ = [
    "HELD_OUT_PHOTOS",
    "PAIRED_PHOTOS",
    "PATCH",
    "PATCH_COLUMNS",
    "TEXTURES",
    "TEXTURE_COLUMNS",
    "TRAIN_PHOTOS",
    "bicubic",
    "check_train_photos",
    "composites",
    "crop_to_multiple",
    "degrade",
    "load_photo",
    "load_texture",
    "region_labels",
    "texture_patches",
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
#: Photos that are one half of a ``skimage.data`` loader returning several images: the
#: stereo pair of a motorcycle (a detailed natural scene, 500x741; bundled, no download).
PAIRED_PHOTOS: dict[str, tuple[str, int]] = {
    "motorcycle_left": ("stereo_motorcycle", 0),
    "motorcycle_right": ("stereo_motorcycle", 1),
}
#: ``skimage.data`` loaders that return one of the held-out photos under another name.
_ALIASES: dict[str, str] = {"cat": "chelsea"}


def check_train_photos(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Check a list of training photos: known names, no repeats, none held out.

    Args:
        names: photo names for :func:`load_photo`.

    Returns:
        The names as a tuple.

    Raises:
        ValueError: an empty list, a repeated name, or a held-out photo (also under an alias,
            such as ``cat`` for ``chelsea``).

    Example:
        >>> check_train_photos(["astronaut", "motorcycle_left"])
        ('astronaut', 'motorcycle_left')
    """
    names = tuple(names)
    if not names:
        raise ValueError("photos=() is invalid: train on at least one photo")
    for name in names:
        if _ALIASES.get(name, name) in HELD_OUT_PHOTOS:
            raise ValueError(
                f"photo {name!r} is invalid for training: it is held out (held-out photos: "
                f"{', '.join(HELD_OUT_PHOTOS)}), and training on it would void every metric"
            )
        if names.count(name) > 1:
            raise ValueError(f"photo {name!r} is listed twice: list each photo once")
    return names


@functools.lru_cache(maxsize=32)
def _load_array(name: str) -> np.ndarray:
    import skimage.data

    loader_name, index = PAIRED_PHOTOS.get(name, (name, None))
    loader = getattr(skimage.data, loader_name, None)
    if loader is None or not callable(loader) or name.startswith("_"):
        raise ValueError(
            f"photo {name!r} is not in skimage.data: use a loader's name (e.g. astronaut, "
            f"rocket) or one of {', '.join(PAIRED_PHOTOS)}"
        )
    out = loader()
    return np.asarray(out if index is None else out[index])


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


# ---------------------------------------------------------------------------------------------
# textures (tconv train seg, tconv train gan)

#: The texture images of scikit-image that load offline (``skimage.data.<name>()``).
TEXTURES: tuple[str, ...] = ("brick", "grass", "gravel")
#: Columns of each (512-wide) texture image for the training and held-out composites.
TEXTURE_COLUMNS: dict[str, tuple[int, int]] = {"train": (0, 320), "held_out": (336, 512)}
#: Side of the generator's patches.
PATCH = 32
#: Columns of each downscaled (256-wide) texture for the training and held-out patches.
PATCH_COLUMNS: dict[str, tuple[int, int]] = {"train": (0, 160), "held_out": (168, 256)}


@functools.lru_cache(maxsize=8)
def load_texture(name: str) -> Tensor:
    """``skimage.data.<name>()`` as float32 ``(H, W)``, standardised to mean 0, std 1.

    Shape:
        - Output: ``(H, W)``

    Raises:
        ValueError: ``name`` is not a texture in :data:`TEXTURES`.

    Example:
        >>> t = load_texture("grass")
        >>> t.shape, abs(round(t.mean().item(), 4)), round(t.std().item(), 4)
        (torch.Size([512, 512]), 0.0, 1.0)
    """
    if name not in TEXTURES:
        raise ValueError(f"texture={name!r} is invalid: valid textures are {TEXTURES}")
    import skimage.data

    x = torch.from_numpy(np.asarray(getattr(skimage.data, name)(), dtype=np.float32))
    return (x - x.mean()) / x.std()


def region_labels(
    n: int, size: tuple[int, int], classes: int, generator: torch.Generator, scale: float = 0.1
) -> Tensor:
    """Random region masks: the argmax over ``classes`` smooth random fields.

    Each field is white Gaussian noise low-passed (circularly, by FFT) with a Gaussian of
    standard deviation ``scale * min(size)`` pixels, so regions are blobs about that wide.

    Args:
        n: number of masks.
        size: ``(H, W)``.
        classes: number of regions kinds (labels ``0 .. classes - 1``).
        generator: the seeded generator.
        scale: blob width as a fraction of the shorter side.

    Shape:
        - Output: ``(n, H, W)`` int64

    Example:
        >>> y = region_labels(2, (99, 101), 3, torch.Generator().manual_seed(0))
        >>> y.shape, sorted(y.unique().tolist())
        (torch.Size([2, 99, 101]), [0, 1, 2])
    """
    h, w = size
    noise = torch.randn(n, classes, h, w, generator=generator, dtype=torch.float64)
    sigma = scale * min(h, w)
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    gain = torch.exp(-2 * math.pi**2 * sigma**2 * (fy**2 + fx**2))
    fields = torch.fft.ifft2(torch.fft.fft2(noise) * gain).real
    return fields.argmax(dim=1)


def composites(
    n: int,
    size: tuple[int, int],
    part: str,
    seed: int,
    textures: tuple[str, ...] = TEXTURES,
) -> tuple[Tensor, Tensor]:
    """``n`` texture composites with exact per-pixel labels.

    Label ``c`` pixels show texture ``textures[c]``; each composite takes one random crop
    (random flips and transposition when square) of every texture from its ``part``.

    Args:
        n: number of composites.
        size: ``(H, W)`` of each.
        part: ``"train"`` or ``"held_out"`` (the columns :data:`TEXTURE_COLUMNS` names).
        seed: the seed (same seed, same composites).
        textures: the texture names, one class each.

    Shape:
        - images: ``(n, 1, H, W)`` float32; labels: ``(n, H, W)`` int64

    Raises:
        ValueError: an unknown ``part`` or texture.
        ShapeError: ``size`` larger than the part.

    Example:
        >>> x, y = composites(2, (99, 101), "held_out", seed=0)
        >>> x.shape, y.shape, y.dtype
        (torch.Size([2, 1, 99, 101]), torch.Size([2, 99, 101]), torch.int64)
    """
    if part not in TEXTURE_COLUMNS:
        raise ValueError(f"part={part!r} is invalid: valid parts are {tuple(TEXTURE_COLUMNS)}")
    lo, hi = TEXTURE_COLUMNS[part]
    h, w = size
    images = [load_texture(t)[:, lo:hi] for t in textures]
    for name, img in zip(textures, images):
        if h > img.shape[0] or w > img.shape[1] or h < 8 or w < 8:
            raise ShapeError(
                f"size={size} is invalid for the {part} part of {name!r}: each side must be "
                f"from 8 to {tuple(img.shape)}"
            )
    gen = torch.Generator().manual_seed(seed)
    labels = region_labels(n, size, len(textures), gen)
    out = torch.empty(n, 1, h, w)
    for i in range(n):
        crops = []
        for img in images:
            top = int(torch.randint(img.shape[0] - h + 1, (1,), generator=gen))
            left = int(torch.randint(img.shape[1] - w + 1, (1,), generator=gen))
            crop = img[top : top + h, left : left + w]
            flips = torch.randint(2, (2,), generator=gen).tolist()
            if flips[0]:
                crop = crop.flip(0)
            if flips[1]:
                crop = crop.flip(1)
            crops.append(crop)
        stack = torch.stack(crops)  # (K, H, W)
        out[i, 0] = torch.gather(stack, 0, labels[i][None]).squeeze(0)
    return out, labels


@functools.lru_cache(maxsize=4)
def _texture_half(name: str) -> Tensor:
    import skimage.data

    x = torch.from_numpy(np.asarray(getattr(skimage.data, name)(), dtype=np.float32) / 255)
    return F.avg_pool2d(x[None, None], 2)[0, 0] * 2 - 1


def texture_patches(n: int, part: str, seed: int) -> Tensor:
    """``n`` random 32x32 patches (equal shares of each texture) from ``part``, in ``[-1, 1]``.

    Args:
        n: number of patches.
        part: ``"train"`` or ``"held_out"``.
        seed: the seed of the positions and flips.

    Shape:
        - Output: ``(n, 1, 32, 32)``

    Raises:
        ValueError: an unknown part.

    Example:
        >>> p = texture_patches(6, "held_out", 0)
        >>> p.shape, bool(p.min() >= -1), bool(p.max() <= 1)
        (torch.Size([6, 1, 32, 32]), True, True)
    """
    if part not in PATCH_COLUMNS:
        raise ValueError(f"part={part!r} is invalid: valid parts are {tuple(PATCH_COLUMNS)}")
    lo, hi = PATCH_COLUMNS[part]
    gen = torch.Generator().manual_seed(seed)
    out = torch.empty(n, 1, PATCH, PATCH)
    images = [_texture_half(t)[:, lo:hi] for t in TEXTURES]
    for i in range(n):
        img = images[i % len(images)]
        top = int(torch.randint(img.shape[0] - PATCH + 1, (1,), generator=gen))
        left = int(torch.randint(img.shape[1] - PATCH + 1, (1,), generator=gen))
        p = img[top : top + PATCH, left : left + PATCH]
        f = torch.randint(2, (3,), generator=gen).tolist()
        if f[0]:
            p = p.flip(0)
        if f[1]:
            p = p.flip(1)
        if f[2]:
            p = p.transpose(0, 1)
        out[i, 0] = p
    return out
