"""Apply an SR model to an image array or tensor in overlapping tiles: :func:`upscale`.

Colour: RGB goes through the model; a grey image is run as RGB (three equal channels) and the
channels' mean is kept; alpha is upscaled by bicubic interpolation. Large images are processed
in overlapping tiles (``tile`` input pixels, ``overlap`` pixels of context per side, more than
the model's receptive field), so memory stays bounded and the result equals the untiled one
up to float rounding.

Example:
    >>> import numpy as np
    >>> img = np.zeros((10, 12, 3), dtype=np.uint8)
    >>> out = upscale(img, 2)
    >>> out.shape, out.dtype
    ((20, 24, 3), dtype('uint8'))
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..sr.ensembles import SelfEnsemble
from ..sr.shipped import select_model
from .io import from_float, to_float

__all__ = ["bands", "bicubic_array", "bicubic_bands", "tile_ranges", "upscale"]


def tile_ranges(size: int, tile: int) -> list[tuple[int, int]]:
    return [(a, min(a + tile, size)) for a in range(0, size, tile)]


def _progress_bar(total: int) -> Any:
    """A tqdm bar over ``total`` tiles on stderr, or None when tqdm is not installed.

    tqdm comes with the 'image' extra; without it the work runs the same, without a bar.
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="tiles", unit="tile", leave=False)


def bands(
    image: np.ndarray,
    model: nn.Module,
    scale: int,
    tile: int,
    overlap: int,
    progress: bool,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first output row, band)`` top to bottom for an ``(H, W, C)`` image.

    Each band is one row of tiles, ``tile * scale`` output rows (fewer at the bottom) by the
    full output width, in the image's own dtype (floats as float32). Tiles are converted to
    float one at a time, so memory is bounded by the input, one band and one tile's model
    activations -- never by the whole output in float.
    """
    h, w, c = image.shape
    size = tile if tile else max(h, w)
    rows, cols = tile_ranges(h, size), tile_ranges(w, size)
    bar = _progress_bar(len(rows) * len(cols)) if progress else None
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        for r0, r1 in rows:
            band = np.empty(((r1 - r0) * scale, w * scale, c), dtype=np.float32)
            for c0, c1 in cols:
                a0, a1 = max(r0 - overlap, 0), min(r1 + overlap, h)
                b0, b1 = max(c0 - overlap, 0), min(c1 + overlap, w)
                data, _ = to_float(image[a0:a1, b0:b1])
                colour = data[..., :3] if c >= 3 else np.repeat(data[..., :1], 3, axis=2)
                x = torch.from_numpy(np.ascontiguousarray(colour.transpose(2, 0, 1)))[None]
                if device.type == "cpu":
                    # oneDNN runs the shipped x2 model about 2x faster on a channels-last
                    # tile (benchmarks/upscale.py); a permuted (H, W, C) view is not enough:
                    # its batch stride does not look channels-last to the kernel choice.
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.no_grad():
                    y = model(x.to(device)).cpu()
                y = y[
                    0,
                    :,
                    (r0 - a0) * scale : (r1 - a0) * scale,
                    (c0 - b0) * scale : (c1 - b0) * scale,
                ]
                piece = y.clamp(0, 1).permute(1, 2, 0).numpy()
                if c >= 3:
                    band[:, c0 * scale : c1 * scale, :3] = piece
                else:
                    band[:, c0 * scale : c1 * scale, 0] = piece.mean(axis=2)
                if bar is not None:
                    bar.update(1)
            if c in (2, 4):  # alpha by bicubic interpolation (4 taps: 2 rows of context)
                band[..., c - 1] = _bicubic_rows(image[..., c - 1 :], scale, r0, r1)[..., 0]
            yield r0 * scale, from_float(band, image.dtype)
    finally:
        if bar is not None:
            bar.close()


def _bicubic_rows(image: np.ndarray, scale: int, r0: int, r1: int) -> np.ndarray:
    """Rows ``r0 * scale`` to ``r1 * scale`` of the bicubic upscaling of ``(H, W, C)``, float32.

    Computed from input rows ``r0 - 3`` to ``r1 + 3`` only: the four taps of these output rows
    lie inside, and torch's mapping moves by whole rows with the slab.
    """
    h = image.shape[0]
    a0, a1 = max(r0 - 3, 0), min(r1 + 3, h)
    data, _ = to_float(image[a0:a1])
    x = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1)))[None]
    y = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    out: np.ndarray = y[0, :, (r0 - a0) * scale : (r1 - a0) * scale].clamp(0, 1).numpy()
    return out.transpose(1, 2, 0)


def bicubic_bands(image: np.ndarray, scale: int, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """Like :func:`_bands`, for bicubic interpolation (the ``--compare`` baseline)."""
    for r0, r1 in tile_ranges(image.shape[0], rows):
        yield r0 * scale, from_float(_bicubic_rows(image, scale, r0, r1), image.dtype)


def upscale(
    image: Any,
    scale: int | None = 2,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    model: nn.Module | None = None,
    tile: int = 256,
    overlap: int = 16,
    progress: bool = False,
    ensemble: bool = False,
    quality: str = "fast",
) -> Any:
    """Upscale ``image`` by ``scale`` with the shipped (or a given) SR model.

    Args:
        image: a NumPy array ``(H, W)`` (grey), ``(H, W, C)`` with C in 1, 2 (grey + alpha),
            3 (RGB) or 4 (RGBA), of dtype uint8, uint16 or float (in [0, 1]); or a float
            tensor ``(C, H, W)`` / ``(N, C, H, W)`` with C in 1, 3, 4 and values in [0, 1].
        scale: 2 or 4 (the shipped models), or the scale of ``checkpoint``/``model``;
            ``None`` takes the checkpoint's.
        checkpoint: a ``tconv train sr`` checkpoint to use instead of the shipped model.
        model: a module mapping ``(1, 3, h, w)`` to ``(1, 3, h * scale, w * scale)``.
        tile: input tile size in pixels (the model's memory is bounded by it); ``0`` = one
            tile.
        overlap: context pixels on each side of a tile.
        progress: a progress bar over the tiles (stderr; needs tqdm, in the 'image' extra --
            without it there is no bar).
        ensemble: average the model over the 8 flips/rotations of each tile
            (:class:`SelfEnsemble`; 8 times the work).
        quality: the shipped model's setting (:func:`shipped_model`): ``"fast"``, or
            ``"best"`` at x4 (about 4 times the time, +0.11 dB on the held-out photos,
            +0.09 dB on photos outside the project).

    Returns:
        The same kind and dtype as ``image`` (integers rounded and clipped; float arrays as
        float32), ``scale`` times larger in each spatial dimension. Besides the input and the
        result, memory holds one row of tiles in float; :func:`upscale_file` does not even
        hold the result for PNG (it streams the rows to the file).

    Shape:
        - array: ``(H, W)`` or ``(H, W, C)`` -> ``(H * scale, W * scale[, C])``
        - tensor: ``([N,] C, H, W)`` -> ``([N,] C, H * scale, W * scale)``

    Raises:
        TypeError: an unsupported type or dtype.
        tconv.ShapeError: an unsupported number of channels or dimensions, or an empty image.
        ValueError: a scale without a model, a bad tile size, a bad checkpoint, or a bad
            quality (or one other than ``"fast"`` with ``checkpoint``/``model``).

    Example:
        >>> import torch
        >>> upscale(torch.rand(1, 3, 8, 9), 4).shape
        torch.Size([1, 3, 32, 36])
    """
    _check_tiling(tile, overlap)
    model, scale = select_model(scale, checkpoint, quality, model)
    if ensemble:
        model = SelfEnsemble(model)
    if isinstance(image, Tensor):
        _check_tensor(image)
        batch = image if image.dim() == 4 else image[None]
        arrays = [b.permute(1, 2, 0).detach().cpu().float().numpy() for b in batch]
        outs = [_assemble(a, model, scale, tile, overlap, progress) for a in arrays]
        out = torch.from_numpy(np.stack(outs)).permute(0, 3, 1, 2).to(image.dtype)
        return out if image.dim() == 4 else out[0]
    _check_array(image)
    squeeze = image.ndim == 2
    result = _assemble(
        image[..., None] if squeeze else image, model, scale, tile, overlap, progress
    )
    return result[..., 0] if squeeze else result


def _check_tiling(tile: Any, overlap: Any) -> None:
    if not isinstance(tile, int) or isinstance(tile, bool) or tile < 0:
        raise ValueError(f"tile={tile!r} is invalid: it must be an int >= 0 (0 = no tiling)")
    if not isinstance(overlap, int) or isinstance(overlap, bool) or overlap < 0:
        raise ValueError(f"overlap={overlap!r} is invalid: it must be an int >= 0")


def _check_tensor(image: Tensor) -> None:
    from ..shapes import ShapeError

    if image.dim() not in (3, 4) or image.shape[-3] not in (1, 3, 4):
        raise ShapeError(
            f"image tensor of shape {tuple(image.shape)} is invalid: expected (C, H, W) or "
            "(N, C, H, W) with C in 1, 3 or 4"
        )
    if not image.is_floating_point():
        raise TypeError(f"image tensor dtype {image.dtype} is invalid: use a float tensor")


def _check_array(image: Any) -> None:
    from ..shapes import ShapeError

    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"image of type {type(image).__name__} is invalid: pass a NumPy array or a tensor"
        )
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)):
        raise ShapeError(
            f"image of shape {image.shape} is invalid: expected (H, W) or (H, W, C) with C in "
            "1, 2, 3 or 4"
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ShapeError(f"image of shape {image.shape} is invalid: it is empty")
    to_float(image[:0, :0])  # the dtype check


def _assemble(
    image: np.ndarray, model: nn.Module, scale: int, tile: int, overlap: int, progress: bool
) -> np.ndarray:
    """The whole ``(H * s, W * s, C)`` output of :func:`_bands`, in the image's dtype."""
    h, w, c = image.shape
    dtype = np.float32 if np.issubdtype(image.dtype, np.floating) else image.dtype
    out = np.empty((h * scale, w * scale, c), dtype=dtype)
    for y0, band in bands(image, model, scale, tile, overlap, progress):
        out[y0 : y0 + band.shape[0]] = band
    return out


def bicubic_array(image: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic upscaling of an image array (the ``--compare`` baseline), dtype kept.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` with C in 1 to 4; uint8, uint16, bool or float in
            [0, 1].
        scale: the integer upscaling factor.

    Returns:
        ``(H * scale, W * scale)`` or ``(H * scale, W * scale, C)``, as ``image``; uint8,
        uint16 (rounded and clipped) and bool are kept, floats come back as float32.

    Raises:
        TypeError: ``image`` is not a NumPy array, or its dtype is not supported.
        ShapeError: (a ValueError) ``image`` is not ``(H, W)`` or ``(H, W, C)`` with C in 1
            to 4, or it is empty.

    Example:
        >>> out = bicubic_array(np.zeros((4, 5), np.uint8), 2)
        >>> out.shape, out.dtype
        ((8, 10), dtype('uint8'))
    """
    _check_array(image)
    squeeze = image.ndim == 2
    arr = image[..., None] if squeeze else image
    h, w, c = arr.shape
    dtype = np.float32 if np.issubdtype(arr.dtype, np.floating) else arr.dtype
    out = np.empty((h * scale, w * scale, c), dtype=dtype)
    for y0, band in bicubic_bands(arr, scale, 256):
        out[y0 : y0 + band.shape[0]] = band
    return out[..., 0] if squeeze else out
