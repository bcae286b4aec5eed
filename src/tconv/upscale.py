"""Upscale real images with a trained SR model: any size (tiled), grey/RGB/RGBA, 8/16-bit.

- :func:`upscale` -- an array or tensor in, the same kind out, ``scale`` times larger.
- :func:`load_sr_model` -- a model from a ``tconv train sr`` checkpoint, or the shipped one
  (``tconv/weights/sr_x2.pt``, ``sr_x4.pt``: package data, trained by ``tconv train sr``; the
  command, seed and data are recorded inside), always with ``torch.load(weights_only=True)``.
- :func:`read_image` / :func:`write_image` -- Pillow I/O (PNG, JPEG, TIFF, WebP; 16-bit colour
  PNG/TIFF through pypng/tifffile, since Pillow reduces it to 8 bits); writing goes to a
  temporary file in the target folder and is renamed into place, so a failure leaves no
  partial file. 16-bit pixels are never silently reduced: :func:`check_depth` refuses them
  for JPEG/WebP unless asked.

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

import contextlib
import functools
import os
import tempfile
import zlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "DEEP_FORMATS",
    "DEFAULT_TILE",
    "IMAGE_SUFFIXES",
    "QUALITIES",
    "SHIPPED_SCALES",
    "SelfEnsemble",
    "TwoPathX4",
    "available_memory",
    "check_depth",
    "image_info",
    "load_sr_model",
    "memory_needed",
    "parse_size",
    "read_image",
    "select_model",
    "shipped_checkpoint",
    "shipped_model",
    "tile_slowdown",
    "upscale",
    "upscale_file",
    "write_image",
]

#: Scales with a shipped model (package data ``tconv/weights/sr_x{scale}.pt``).
SHIPPED_SCALES: tuple[int, ...] = (2, 4)
#: The quality settings of the shipped models (:func:`shipped_model`): ``"fast"`` is the
#: model of the scale; ``"best"`` (x4 only) is :class:`TwoPathX4`.
QUALITIES: tuple[str, ...] = ("fast", "best")
#: File suffixes read and written (via Pillow).
IMAGE_SUFFIXES: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is in the 'image' and 'train' extras
        raise ImportError(
            "reading and writing images needs Pillow: pip install 'tconv[image]'"
        ) from None
    return Image


# ---------------------------------------------------------------------------------------------
# models


def shipped_checkpoint(scale: int) -> Path:
    """Path of the shipped checkpoint for ``scale``.

    Args:
        scale: 2 or 4.

    Returns:
        The path of ``tconv/weights/sr_x{scale}.pt`` (package data).

    Raises:
        ValueError: no model is shipped for ``scale``.

    >>> shipped_checkpoint(2).name
    'sr_x2.pt'
    """
    if scale not in SHIPPED_SCALES:
        raise ValueError(
            f"scale={scale!r} has no shipped model: shipped scales are {SHIPPED_SCALES} "
            "(pass --checkpoint with a model trained by 'tconv train sr --scale N')"
        )
    return Path(str(resources.files("tconv") / "weights" / f"sr_x{scale}.pt"))


@functools.lru_cache(maxsize=8)
def _cached_model(path: str, mtime: float) -> tuple[nn.Module, int, dict[str, Any]]:
    from .train.sr import model_from_config
    from .train.trainer import load_checkpoint

    ckpt = load_checkpoint(path, task="sr")
    cfg = ckpt.get("config", {})
    try:
        model = model_from_config(cfg)
        if "model" in ckpt["models"]:
            model.load_state_dict(ckpt["models"]["model"])
    except (KeyError, RuntimeError, TypeError) as err:
        first = str(err).strip().splitlines()[0][:200]
        raise ValueError(f"checkpoint {path!r} does not hold an SR model: {first}") from None
    model.eval()
    return model, int(cfg["scale"]), ckpt


def load_sr_model(
    scale: int | None = 2, checkpoint: str | os.PathLike[str] | None = None
) -> tuple[nn.Module, int, dict[str, Any]]:
    """The SR model of ``checkpoint`` (default: the shipped one for ``scale``).

    Args:
        scale: the wanted scale; ``None`` accepts the checkpoint's.
        checkpoint: a ``model.pt``/``last.pt`` of ``tconv train sr``.

    Returns:
        ``(model, scale, checkpoint dict)``; the model is in eval mode.

    Raises:
        OSError: the checkpoint file is missing.
        ValueError: no shipped model for ``scale``; not a tconv checkpoint, corrupt, not plain
            weights, of another task, or of another scale.

    >>> model, s, ckpt = load_sr_model(2)
    >>> s, ckpt["task"], ckpt["provenance"]["command"].startswith("tconv train sr")
    (2, 'sr', True)
    """
    if scale is not None and (not isinstance(scale, int) or isinstance(scale, bool)):
        raise TypeError(f"scale={scale!r} is invalid: it must be an int")
    if checkpoint is None:
        if scale is None:
            raise ValueError("pass a scale or a checkpoint")
        path = shipped_checkpoint(scale)
    else:
        path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    model, found, ckpt = _cached_model(str(path), path.stat().st_mtime)
    if scale is not None and found != scale:
        raise ValueError(
            f"checkpoint {str(path)!r} is a x{found} model, not x{scale}: pass --scale {found} "
            "or a checkpoint trained with --scale " + str(scale)
        )
    return model, found, ckpt


def _layout(x: Tensor) -> torch.memory_format:
    """``x``'s memory format: channels-last when it is that and not also standard."""
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.contiguous_format if x.is_contiguous() else torch.channels_last
    return torch.contiguous_format


class SelfEnsemble(nn.Module):
    """The mean of a model's outputs over the 8 flips/rotations of its input (``--ensemble``).

    For each symmetry ``T`` of the square (a left-right flip or not, then 0-3 quarter turns)
    the model runs on ``T(x)`` and its output is mapped back by ``T``'s inverse; the result is
    the mean of the 8 (Lim et al. 2017, "geometric self-ensemble"). It costs 8 model runs.

    Args:
        model: a module mapping ``(N, C, h, w)`` to ``(N, C', h * s, w * s)`` for any ``h, w``.

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: the model's output shape

    Example:
        >>> import torch
        >>> double = torch.nn.Upsample(scale_factor=2)  # already symmetric: unchanged
        >>> x = torch.rand(1, 3, 5, 7)
        >>> torch.allclose(SelfEnsemble(double)(x), double(x))
        True
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        # rot90 and flip return standard-layout tensors: keep a channels-last input's layout
        # (the fast path of the CPU convolutions, see _bands) for each of the 8 runs
        layout = _layout(x)
        total: Tensor | None = None
        for t in range(8):
            y = x.flip(-1) if t & 4 else x
            y = y.rot90(t & 3, (-2, -1)).contiguous(memory_format=layout)
            z = self.model(y).rot90(-(t & 3), (-2, -1))
            z = z.flip(-1) if t & 4 else z
            total = z if total is None else total + z
        assert total is not None
        return total / 8


class TwoPathX4(nn.Module):
    """x4 as the mean of two paths: an x4 model, and an x2 model applied twice.

    The shipped ``quality="best"`` at x4 (:func:`shipped_model`). The two paths err
    differently (the x2 model is the stronger of the two shipped models, the x4 model was
    trained for this degradation), so their mean beats either alone: on the held-out photos
    +1.21 dB PSNR-Y over Pillow's bicubic against +1.10 for the x4 model, and on photos outside
    the project too (docs/results.md). Between the two x2 runs the image is clamped to
    ``[0, 1]`` and keeps a channels-last input's layout. About 3 times the time of the x4
    model alone (``benchmarks/upscale.py --best``).

    Args:
        x4: a module mapping ``(N, 3, h, w)`` to ``(N, 3, 4h, 4w)``.
        x2: a module mapping ``(N, 3, h, w)`` to ``(N, 3, 2h, 2w)``.

    Shape:
        - Input: ``(N, 3, H, W)``
        - Output: ``(N, 3, 4H, 4W)``

    Example:
        >>> import torch
        >>> up = lambda s: torch.nn.Upsample(scale_factor=s)
        >>> x = torch.rand(1, 3, 5, 7)
        >>> torch.equal(TwoPathX4(up(4), up(2))(x), up(4)(x))
        True
    """

    def __init__(self, x4: nn.Module, x2: nn.Module) -> None:
        super().__init__()
        self.x4 = x4
        self.x2 = x2

    def forward(self, x: Tensor) -> Tensor:
        layout = _layout(x)
        mid = self.x2(x).clamp(0, 1).contiguous(memory_format=layout)
        return (self.x4(x) + self.x2(mid)) / 2


def shipped_model(scale: int = 2, quality: str = "fast") -> nn.Module:
    """The shipped SR model for ``scale`` at a quality setting (eval mode).

    Args:
        scale: 2 or 4 (:data:`SHIPPED_SCALES`).
        quality: ``"fast"``: the shipped model of that scale (as :func:`load_sr_model`);
            ``"best"`` (x4 only): :class:`TwoPathX4` of the two shipped models, +0.11 dB over
            ``"fast"`` on the held-out photos for about 3 times the time.

    Returns:
        The model, mapping ``(N, 3, h, w)`` to ``(N, 3, h * scale, w * scale)``.

    Raises:
        ValueError: an unknown quality, ``"best"`` at a scale other than 4, or a scale without
            a shipped model.

    Example:
        >>> import torch
        >>> shipped_model(4, "best")(torch.rand(1, 3, 6, 5)).shape
        torch.Size([1, 3, 24, 20])
    """
    if quality not in QUALITIES:
        raise ValueError(f"quality={quality!r} is invalid: valid qualities are {QUALITIES}")
    if quality == "best" and scale != 4:
        raise ValueError(
            f"quality='best' is invalid at scale {scale!r}: it exists for scale 4 (the x4 model "
            "averaged with the x2 model applied twice); at x2 the shipped model is the best "
            "one ('fast'), and --ensemble (ensemble=True) adds about +0.09 dB"
        )
    model = load_sr_model(scale)[0]
    if quality == "best":
        model = TwoPathX4(model, load_sr_model(2)[0]).eval()
    return model


# ---------------------------------------------------------------------------------------------
# the array interface


def _tiles(size: int, tile: int) -> list[tuple[int, int]]:
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


def _to_float(arr: np.ndarray) -> tuple[np.ndarray, float]:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0, 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0, 65535.0
    if arr.dtype == bool:
        return arr.astype(np.float32), 0.0
    if np.issubdtype(arr.dtype, np.floating):
        return arr.astype(np.float32), 1.0
    raise TypeError(
        f"image dtype {arr.dtype} is not supported: use uint8, uint16 or float in [0, 1]"
    )


def _from_float(data: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """float32 in [0, 1] back to ``dtype`` (integers rounded and clipped; floats stay float32).

    ``data`` may be overwritten.
    """
    if np.dtype(dtype) == np.bool_:
        return data >= 0.5
    for kind, top in ((np.uint8, 255.0), (np.uint16, 65535.0)):
        if dtype == kind:  # in place: a band is large
            np.multiply(data, top, out=data)
            np.rint(data, out=data)
            np.clip(data, 0, top, out=data)
            return data.astype(kind)
    return data


def _bands(
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
    rows, cols = _tiles(h, size), _tiles(w, size)
    bar = _progress_bar(len(rows) * len(cols)) if progress else None
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        for r0, r1 in rows:
            band = np.empty(((r1 - r0) * scale, w * scale, c), dtype=np.float32)
            for c0, c1 in cols:
                a0, a1 = max(r0 - overlap, 0), min(r1 + overlap, h)
                b0, b1 = max(c0 - overlap, 0), min(c1 + overlap, w)
                data, _ = _to_float(image[a0:a1, b0:b1])
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
            yield r0 * scale, _from_float(band, image.dtype)
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
    data, _ = _to_float(image[a0:a1])
    x = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1)))[None]
    y = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    out: np.ndarray = y[0, :, (r0 - a0) * scale : (r1 - a0) * scale].clamp(0, 1).numpy()
    return out.transpose(1, 2, 0)


def _bicubic_bands(image: np.ndarray, scale: int, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """Like :func:`_bands`, for bicubic interpolation (the ``--compare`` baseline)."""
    for r0, r1 in _tiles(image.shape[0], rows):
        yield r0 * scale, _from_float(_bicubic_rows(image, scale, r0, r1), image.dtype)


def upscale(
    image: Any,
    scale: int = 2,
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
        scale: 2 or 4 (the shipped models), or the scale of ``checkpoint``/``model``.
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
            ``"best"`` at x4 (about 3 times the time, +0.11 dB on the held-out photos).

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


def select_model(
    scale: int = 2,
    checkpoint: str | os.PathLike[str] | None = None,
    quality: str = "fast",
    model: nn.Module | None = None,
) -> tuple[nn.Module, int]:
    """The model :func:`upscale` runs, and its scale, from the ways of naming one.

    Args:
        scale: the wanted scale (a checkpoint's must match it).
        checkpoint: a ``tconv train sr`` checkpoint (see :func:`load_sr_model`).
        quality: the shipped model's setting (:func:`shipped_model`); only ``"fast"`` goes
            with ``checkpoint`` or ``model``.
        model: a module to use as it is.

    Returns:
        ``(model, scale)``.

    Raises:
        ValueError: an unknown quality, one other than ``"fast"`` with a checkpoint or a
            model, or what :func:`load_sr_model` and :func:`shipped_model` raise.

    Example:
        >>> select_model(4, quality="best")[0].__class__.__name__
        'TwoPathX4'
    """
    if quality not in QUALITIES:
        raise ValueError(f"quality={quality!r} is invalid: valid qualities are {QUALITIES}")
    if quality != "fast":
        if checkpoint is not None or model is not None:
            raise ValueError(
                f"quality={quality!r} (--quality {quality}) is invalid with a checkpoint or a "
                "model: the quality settings are of the shipped models (drop one of them)"
            )
        return shipped_model(scale, quality), scale
    if model is None:
        model, scale, _ = load_sr_model(scale, checkpoint)
    return model, scale


def _check_tiling(tile: Any, overlap: Any) -> None:
    if not isinstance(tile, int) or isinstance(tile, bool) or tile < 0:
        raise ValueError(f"tile={tile!r} is invalid: it must be an int >= 0 (0 = no tiling)")
    if not isinstance(overlap, int) or isinstance(overlap, bool) or overlap < 0:
        raise ValueError(f"overlap={overlap!r} is invalid: it must be an int >= 0")


def _check_tensor(image: Tensor) -> None:
    from .shapes import ShapeError

    if image.dim() not in (3, 4) or image.shape[-3] not in (1, 3, 4):
        raise ShapeError(
            f"image tensor of shape {tuple(image.shape)} is invalid: expected (C, H, W) or "
            "(N, C, H, W) with C in 1, 3 or 4"
        )
    if not image.is_floating_point():
        raise TypeError(f"image tensor dtype {image.dtype} is invalid: use a float tensor")


def _check_array(image: Any) -> None:
    from .shapes import ShapeError

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
    _to_float(image[:0, :0])  # the dtype check


def _assemble(
    image: np.ndarray, model: nn.Module, scale: int, tile: int, overlap: int, progress: bool
) -> np.ndarray:
    """The whole ``(H * s, W * s, C)`` output of :func:`_bands`, in the image's dtype."""
    h, w, c = image.shape
    dtype = np.float32 if np.issubdtype(image.dtype, np.floating) else image.dtype
    out = np.empty((h * scale, w * scale, c), dtype=dtype)
    for y0, band in _bands(image, model, scale, tile, overlap, progress):
        out[y0 : y0 + band.shape[0]] = band
    return out


def bicubic_array(image: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic upscaling of an image array (the ``--compare`` baseline), dtype kept.

    >>> bicubic_array(np.zeros((4, 5), np.uint8), 2).shape
    (8, 10)
    """
    _check_array(image)
    squeeze = image.ndim == 2
    arr = image[..., None] if squeeze else image
    h, w, c = arr.shape
    dtype = np.float32 if np.issubdtype(arr.dtype, np.floating) else arr.dtype
    out = np.empty((h * scale, w * scale, c), dtype=dtype)
    for y0, band in _bicubic_bands(arr, scale, 256):
        out[y0 : y0 + band.shape[0]] = band
    return out[..., 0] if squeeze else out


# ---------------------------------------------------------------------------------------------
# files


def read_image(path: str | os.PathLike[str], *, limit_pixels: bool = True) -> np.ndarray:
    """Read an image file with Pillow into ``(H, W)`` or ``(H, W, C)`` uint8/uint16.

    Palette and other modes are converted to RGB/RGBA (L/LA for grey ones). 16-bit images
    stay uint16: greyscale through Pillow, 16-bit colour (RGB, RGBA, grey + alpha) PNG through
    pypng and TIFF through tifffile, because Pillow would reduce them to 8 bits.

    Args:
        path: a PNG, JPEG, TIFF, WebP (or any other Pillow-readable) file.
        limit_pixels: keep Pillow's guard against decompression bombs (an image of more
            than ``PIL.Image.MAX_IMAGE_PIXELS`` pixels warns, twice that is refused); False
            for a caller that checked the memory the size needs (as :func:`upscale_file`).

    Returns:
        The pixels: ``(H, W)`` grey, ``(H, W, 2)`` grey + alpha, ``(H, W, 3)`` RGB or
        ``(H, W, 4)`` RGBA.

    Raises:
        OSError: missing or unreadable file.
        ValueError: not an image Pillow can decode (corrupt or unsupported).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     write_image(np.zeros((3, 4, 3), np.uint8), Path(folder) / "a.png")
        ...     read_image(Path(folder) / "a.png").shape
        (3, 4, 3)
    """
    Image = _pil()
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image {str(p)!r} does not exist")
    if p.is_dir():
        raise IsADirectoryError(f"image {str(p)!r} is a folder")
    deep = _read_16bit_colour(p)
    if deep is not None:
        return deep
    try:
        with _pixel_limit(Image, limit_pixels), Image.open(p) as im:
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
                return np.asarray(im).astype(np.uint16)
            if mode == "I":
                return np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
            if mode == "F":
                return np.clip(np.asarray(im), 0, 1).astype(np.float32)
            if mode in ("1", "L"):
                return np.asarray(im.convert("L"))
            if mode in ("LA", "La"):
                return np.asarray(im.convert("LA"))
            if mode in ("RGBA", "RGBa") or (mode == "P" and "transparency" in im.info):
                return np.asarray(im.convert("RGBA"))
            return np.asarray(im.convert("RGB"))
    except (Image.UnidentifiedImageError, Image.DecompressionBombError) as err:
        raise ValueError(f"image {str(p)!r} cannot be read: {err}") from None
    except (SyntaxError, ValueError, OSError) as err:  # truncated/corrupt data
        if isinstance(err, (FileNotFoundError, PermissionError)):
            raise
        raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None


@contextlib.contextmanager
def _pixel_limit(Image: Any, keep: bool) -> Iterator[None]:
    """Pillow's decompression-bomb limit as it is (``keep``), or lifted for the block."""
    saved = Image.MAX_IMAGE_PIXELS
    if not keep:
        Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


# 16-bit colour: Pillow has no 16-bit RGB/RGBA mode (it reduces such files to 8 bits), so PNG
# goes through pypng and TIFF through tifffile (the 'image' extra). Which files need them is
# decided from the file's own header, not from Pillow's mode.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: formats that hold 16-bit colour (and 16-bit grey) when written by :func:`write_image`
DEEP_FORMATS: tuple[str, ...] = ("PNG", "TIFF")


def _png_ihdr(p: Path) -> tuple[int, int] | None:
    """``(bit depth, colour type)`` from a PNG's IHDR chunk, or None if not a PNG."""
    with open(p, "rb") as f:
        head = f.read(26)
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _read_16bit_colour(p: Path) -> np.ndarray | None:
    """A 16-bit colour PNG or TIFF at full depth, or None for everything else (Pillow's)."""
    with open(p, "rb") as f:
        magic = f.read(8)
    if magic == _PNG_SIGNATURE:
        ihdr = _png_ihdr(p)
        # colour types: 2 RGB, 4 grey + alpha, 6 RGBA (0 = grey and 3 = palette: Pillow's)
        if ihdr is None or ihdr[0] != 16 or ihdr[1] not in (2, 4, 6):
            return None
        try:
            import png
        except ImportError:  # pragma: no cover - pypng is in the 'image' and 'train' extras
            raise ImportError(
                "reading 16-bit colour PNG needs pypng: pip install 'tconv[image]'"
            ) from None
        try:
            with open(p, "rb") as f:  # pypng's own filename= leaves the file open
                width, height, rows, info = png.Reader(file=f).asDirect()
                planes = int(info["planes"])
                arr = np.vstack([np.asarray(r, dtype=np.uint16) for r in rows])
        except (png.Error, ValueError, EOFError, zlib.error) as err:
            raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None
        return arr.reshape(height, width, planes)
    if magic[:4] in _TIFF_SIGNATURES:
        tifffile = _tifffile()
        try:
            with tifffile.TiffFile(p) as tif:
                page = tif.pages[0]
                if page.dtype != np.uint16 or page.samplesperpixel not in (2, 3, 4):
                    return None
                arr = page.asarray()
                if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE:
                    arr = np.moveaxis(arr, 0, -1)
        except (
            tifffile.TiffFileError,
            ValueError,
            OSError,
            KeyError,
            IndexError,
            zlib.error,
        ) as err:
            if isinstance(err, (FileNotFoundError, PermissionError)):
                raise
            raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None
        if arr.ndim != 3 or arr.shape[2] not in (2, 3, 4):
            raise ValueError(
                f"image {str(p)!r} has an unsupported 16-bit layout {arr.shape}: expected "
                "(H, W, C) with C in 2, 3 or 4"
            )
        return np.ascontiguousarray(arr, dtype=np.uint16)
    return None


def check_depth(
    dtype: np.dtype[Any] | type, path: str | os.PathLike[str], *, to_8bit: bool = False
) -> None:
    """Refuse to write 16-bit pixels to a format that holds only 8 bits (unless ``to_8bit``).

    Args:
        dtype: the dtype of the pixels to be written.
        path: the output file; its suffix picks the format.
        to_8bit: allow reducing uint16 to 8 bits (the high byte) for JPEG/WebP.

    Raises:
        ValueError: uint16 pixels for a JPEG or WebP file without ``to_8bit``, or an
            unsupported suffix.

    >>> check_depth(np.uint16, "big.png")
    >>> check_depth(np.uint16, "big.jpg")
    Traceback (most recent call last):
    ...
    ValueError: 'big.jpg': JPEG holds only 8 bits per channel, the image has 16: write PNG ...
    """
    fmt = image_format(path)
    if np.dtype(dtype) == np.uint16 and fmt not in DEEP_FORMATS and not to_8bit:
        raise ValueError(
            f"{str(path)!r}: {fmt} holds only 8 bits per channel, the image has 16: write PNG "
            "or TIFF (16-bit), or pass --to-8-bit (to_8bit=True) to reduce it to 8 bits"
        )


def _save_16bit_colour(arr: np.ndarray, fmt: str, f: Any) -> None:
    """Write uint16 ``(H, W, C)`` (C in 2, 3, 4) to the open file ``f`` as 16-bit PNG/TIFF."""
    h, w, c = arr.shape
    if fmt == "PNG":
        import png

        writer = png.Writer(width=w, height=h, greyscale=c == 2, alpha=c in (2, 4), bitdepth=16)
        writer.write(f, arr.reshape(h, w * c))
    else:
        import io

        import tifffile

        buffer = io.BytesIO()  # tifffile wants a named file or a BytesIO, not an fd's file
        tifffile.imwrite(
            buffer,
            arr,
            photometric="minisblack" if c == 2 else "rgb",
            planarconfig="contig",
            extrasamples=("unassalpha",) if c in (2, 4) else None,
            compression="zlib",
        )
        f.write(buffer.getvalue())


def image_format(path: str | os.PathLike[str]) -> str:
    """Pillow's format name for ``path``'s suffix.

    Raises:
        ValueError: an unsupported suffix.

    >>> image_format("a/b.JPG")
    'JPEG'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(
            f"{str(path)!r}: unsupported image type {suffix or '(no suffix)'!r}: supported "
            f"are {', '.join(sorted(IMAGE_SUFFIXES))}"
        )
    return IMAGE_SUFFIXES[suffix]


def write_image(array: np.ndarray, path: str | os.PathLike[str], *, to_8bit: bool = False) -> None:
    """Write ``array`` to ``path`` (format from the suffix) via a temporary file + rename.

    uint16 is written at 16 bits: greyscale through Pillow, colour (grey + alpha, RGB, RGBA)
    PNG through pypng and TIFF through tifffile. JPEG and WebP hold only 8 bits, so uint16 is
    refused for them unless ``to_8bit`` (then the high byte is kept). Formats without alpha
    (JPEG) drop it.

    Args:
        array: ``(H, W)`` or ``(H, W, C)`` with C in 1 to 4; uint8, uint16, bool or float in
            [0, 1].
        path: the file to write; its suffix picks the format.
        to_8bit: allow reducing uint16 to 8 bits for JPEG/WebP (see :func:`check_depth`).

    Raises:
        ValueError: an unsupported suffix, or uint16 for JPEG/WebP without ``to_8bit``.
        OSError: the folder is missing or not writable.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     write_image(np.full((2, 2), 65535, np.uint16), Path(folder) / "g.png")
        ...     int(read_image(Path(folder) / "g.png").max())
        65535
    """
    Image = _pil()
    p = Path(path)
    fmt = image_format(p)
    check_depth(array.dtype, p, to_8bit=to_8bit)
    arr = array
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        arr = np.clip(np.rint(arr * 255), 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.dtype == np.uint16 and fmt not in DEEP_FORMATS:  # to_8bit was asked for
        arr = (arr >> 8).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] in (2, 4) and fmt == "JPEG":
        arr = arr[..., :-1] if arr.shape[2] == 4 else arr[..., 0]
    deep = arr.dtype == np.uint16 and arr.ndim == 3
    im = None if deep else Image.fromarray(np.ascontiguousarray(arr))

    def save(f: Any) -> None:
        if im is None:
            _save_16bit_colour(np.ascontiguousarray(arr), fmt, f)
        else:
            im.save(f, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))

    _write_atomically(p, save)


def _write_atomically(p: Path, save: Any) -> None:
    """``save(binary file)`` into a temporary file beside ``p``, renamed to ``p`` when done."""
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"output folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"output folder {str(folder)!r} is not writable")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            save(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# whole files within a memory budget

#: the tile size the time estimate of :func:`tile_slowdown` compares with (the CLI's default)
DEFAULT_TILE = 256
_GiB = 1024**3


def image_info(path: str | os.PathLike[str]) -> tuple[int, int, int, np.dtype[Any]]:
    """``(height, width, channels, dtype)`` of an image file from its header, decoding nothing.

    The values :func:`read_image` will return (``channels`` 1 for grey), so the memory a run
    needs is known before the work.

    Args:
        path: the image file.

    Returns:
        ``(height, width, channels, dtype)``.

    Raises:
        OSError: missing or unreadable file.
        ValueError: not an image Pillow can decode.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_image(np.zeros((3, 4, 4), np.uint8), Path(folder) / "a.png")
    ...     image_info(Path(folder) / "a.png")
    (3, 4, 4, dtype('uint8'))
    """
    Image = _pil()
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image {str(p)!r} does not exist")
    if p.is_dir():
        raise IsADirectoryError(f"image {str(p)!r} is a folder")
    with open(p, "rb") as f:
        head = f.read(26)
    ihdr = _png_ihdr(p)
    if ihdr is not None and ihdr[0] == 16 and ihdr[1] in (2, 4, 6):
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        return height, width, {2: 3, 4: 2, 6: 4}[ihdr[1]], np.dtype(np.uint16)
    if head[:4] in _TIFF_SIGNATURES:
        deep = _tiff_16bit_colour_info(p)
        if deep is not None:
            return deep
    try:
        with _pixel_limit(Image, False), Image.open(p) as im:
            mode, (width, height) = im.mode, im.size
            alpha_palette = mode == "P" and "transparency" in im.info
    except Image.UnidentifiedImageError as err:
        raise ValueError(f"image {str(p)!r} cannot be read: {err}") from None
    except (SyntaxError, ValueError, OSError) as err:
        if isinstance(err, (FileNotFoundError, PermissionError)):
            raise
        raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return height, width, 1, np.dtype(np.uint16)
    if mode == "F":
        return height, width, 1, np.dtype(np.float32)
    channels = {"1": 1, "L": 1, "LA": 2, "La": 2, "RGBA": 4, "RGBa": 4}.get(mode, 3)
    return height, width, 4 if alpha_palette else channels, np.dtype(np.uint8)


def _tifffile() -> Any:
    """The tifffile module, or an ImportError naming the extra that brings it."""
    try:
        import tifffile
    except ImportError:  # pragma: no cover - tifffile is in the 'image' and 'train' extras
        raise ImportError(
            "reading 16-bit colour TIFF needs tifffile: pip install 'tconv[image]'"
        ) from None
    return tifffile


def _tiff_16bit_colour_info(p: Path) -> tuple[int, int, int, np.dtype[Any]] | None:
    tifffile = _tifffile()
    try:
        with tifffile.TiffFile(p) as tif:
            page = tif.pages[0]
            if page.dtype != np.uint16 or page.samplesperpixel not in (2, 3, 4):
                return None
            return (
                int(page.imagelength),
                int(page.imagewidth),
                int(page.samplesperpixel),
                (np.dtype(np.uint16)),
            )
    except (tifffile.TiffFileError, ValueError, KeyError, IndexError) as err:
        raise ValueError(f"image {str(p)!r} is corrupt or unsupported: {err}") from None


def available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable, capped by a cgroup limit), or None.

    Returns:
        The bytes, or ``None`` where the system does not say (then no budget is enforced
        unless one is given).

    >>> available_memory() is None or available_memory() > 0
    True
    """
    found: list[int] = []
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            found.append(max(int(limit) - int(used), 0))
    if not found:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return min(found) if found else None


def parse_size(text: str) -> int:
    """Bytes from ``"8G"``, ``"500M"``, ``"1.5GiB"``, ``"2048k"`` or plain ``"1000000"``.

    Units are powers of 1024 (K, M, G, T; an optional ``B``/``iB``).

    Args:
        text: the size as written on the command line.

    Returns:
        The size in bytes.

    Raises:
        ValueError: not a positive size in these units (the message names the text).

    >>> parse_size("8G"), parse_size("512m"), parse_size("1000")
    (8589934592, 536870912, 1000)
    """
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", str(text).lower())
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(
            f"memory size {text!r} is invalid: expected a positive number with an optional "
            "unit K, M, G or T (powers of 1024), e.g. 8G or 500M"
        )
    return int(float(match.group(1)) * 1024 ** " kmgt".index(match.group(2) or " "))


def _gib(n: float) -> str:
    return f"{n / _GiB:.2f} GiB" if n >= 0.1 * _GiB else f"{n / 1024**2:.0f} MiB"


def memory_needed(
    height: int,
    width: int,
    channels: int,
    dtype: Any,
    scale: int,
    fmt: str,
    *,
    tile: int = DEFAULT_TILE,
    overlap: int = 16,
    features: int = 64,
    streamed: bool | None = None,
) -> int:
    """Estimated peak bytes :func:`upscale_file` needs beyond the running interpreter.

    The input (twice while it is decoded), one row of tiles in float and in the output dtype,
    one tile's model activations (``features`` channels), and the whole output in its own
    dtype with the encoder's copy -- except for PNG, which is streamed to the file row of
    tiles by row of tiles (``streamed``, default: PNG), so the output is never held.

    Args:
        height: the input's height (as :func:`image_info` gives it).
        width: the input's width.
        channels: the input's channels (1 for grey).
        dtype: the input's dtype (the output keeps it).
        scale: the upscaling factor.
        fmt: the output format (``"PNG"``, ``"TIFF"``, ...; see :func:`image_format`).
        tile: the tile side of :func:`upscale`.
        overlap: the context around each tile, as in :func:`upscale`.
        features: the model's widest activation, in channels.
        streamed: whether the output is written row of tiles by row of tiles (default: PNG).

    Returns:
        The estimated peak, in bytes.

    >>> memory_needed(12000, 12000, 1, np.uint8, 4, "PNG") < 2 * 1024**3
    True
    >>> memory_needed(12000, 12000, 1, np.uint8, 4, "TIFF") > 2 * 48000**2
    True
    """
    item = np.dtype(dtype).itemsize
    pixels = height * width
    size = tile if tile else max(height, width)
    band_rows = min(size, height) * scale
    band_px = band_rows * width * scale
    th, tw = min(size, height) + 2 * overlap, min(size, width) + 2 * overlap
    model = th * tw * 4 * (4 * features + 3 * 3 * scale * scale)
    alpha = (band_rows + 6 * scale) * width * scale * 4 * 2 if channels in (2, 4) else 0
    out_item = 2 if item == 2 else 1  # what is written: uint16, else 8 bits
    band = band_px * channels * (4 + item) + alpha
    if streamed is None:
        streamed = fmt == "PNG"
    if streamed:
        write = band_px * channels * out_item * 3
        return pixels * channels * item + model + band + write
    out = pixels * scale * scale * channels
    whole = out * item
    save = out * 4 + out * out_item  # the encoder's copy (4 bytes a pixel) and a contiguous one
    work = max(model + band, save)
    return max(2 * pixels * channels * item, pixels * channels * item + whole + work)


def tile_slowdown(
    height: int, width: int, tile: int, overlap: int = 16, default: int = DEFAULT_TILE
) -> float:
    """How many times the model's work with ``tile`` is that with the ``default`` tile.

    Each tile is run with ``overlap`` pixels of context on each side, so small tiles repeat
    much of the work (plus a fixed cost per tile, counted as 32 x 32 pixels).

    Args:
        height: the input's height.
        width: the input's width.
        tile: the tile side asked for.
        overlap: the context around each tile.
        default: the tile it is compared with.

    Returns:
        The ratio of the work (1.0: the same).

    >>> round(tile_slowdown(1000, 1000, 8), 1)
    33.3
    >>> tile_slowdown(1000, 1000, 256)
    1.0
    """

    def work(size: int) -> float:
        size = size if size else max(height, width)

        def span(n: int) -> int:
            return sum(min(b + overlap, n) - max(a - overlap, 0) for a, b in _tiles(n, size))

        tiles = len(_tiles(height, size)) * len(_tiles(width, size))
        return float(span(height) * span(width) + tiles * 32 * 32)

    return work(tile) / work(default)


def _features(model: nn.Module) -> int:
    """The widest layer's channels (for the memory estimate); :class:`TwoPathX4`'s second x2
    run works on an image of 4 times the area, counted as 4 times its channels, beside the
    x4 path's."""
    two = next((m for m in model.modules() if isinstance(m, TwoPathX4)), None)
    if two is not None:
        return _features(two.x4) + 4 * _features(two.x2)  # the x4 path's output is held
    weights = [getattr(m, "weight", None) for m in model.modules()]
    widths = [int(w.shape[0]) for w in weights if isinstance(w, Tensor) and w.dim() >= 2]
    return max(widths, default=64)


def upscale_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    scale: int = 2,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    model: nn.Module | None = None,
    tile: int = DEFAULT_TILE,
    overlap: int = 16,
    progress: bool = False,
    to_8bit: bool = False,
    compare: str | os.PathLike[str] | None = None,
    max_memory: int | None = None,
    quality: str = "fast",
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Upscale the image file ``src`` into ``dst``, within a memory budget checked first.

    Before any decoding, the peak memory is estimated from the header (:func:`memory_needed`)
    and a run that would need more than ``max_memory`` (default: the memory available now) is
    refused. PNG output is streamed to the file one row of tiles at a time, so memory is
    bounded by the input and one row of tiles; other formats hold the output in its own dtype
    (never in float). Writing goes through a temporary file renamed into place.

    Args:
        src: the image file.
        dst: the output file; its suffix picks the format.
        scale: the upscaling factor, as in :func:`upscale`.
        checkpoint: as in :func:`upscale`.
        model: as in :func:`upscale`.
        tile: as in :func:`upscale`.
        overlap: as in :func:`upscale`.
        progress: as in :func:`upscale`.
        to_8bit: allow a 16-bit image in a JPEG/WebP file (see :func:`check_depth`).
        compare: also write the bicubic upscaling there (the baseline).
        max_memory: the budget in bytes (``None``: the available memory, when known).
        quality: as in :func:`upscale`.

    Returns:
        ``(input shape, output shape)`` as :func:`read_image` and :func:`upscale` give them.

    Raises:
        MemoryError: the estimate exceeds the budget (nothing was read or written).
        OSError, ValueError, TypeError: as :func:`read_image`, :func:`write_image`,
            :func:`upscale`.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     write_image(np.zeros((40, 30, 3), np.uint8), Path(folder) / "a.png")
        ...     upscale_file(Path(folder) / "a.png", Path(folder) / "b.png", 2, tile=16)
        ((40, 30, 3), (80, 60, 3))
    """
    _check_tiling(tile, overlap)
    model, scale = select_model(scale, checkpoint, quality, model)
    src, dst = Path(src), Path(dst)
    outputs = [dst] if compare is None else [dst, Path(compare)]
    height, width, channels, dtype = image_info(src)
    for out in outputs:
        check_depth(dtype, out, to_8bit=to_8bit)
    limit = available_memory() if max_memory is None else max_memory
    need = max(
        memory_needed(
            height,
            width,
            channels,
            dtype,
            scale,
            image_format(out),
            tile=tile,
            overlap=overlap,
            features=_features(model),
        )
        for out in outputs
    )
    if limit is not None and need > limit:
        where = "set by --max-memory" if max_memory is not None else "available"
        streamed = memory_needed(
            height,
            width,
            channels,
            dtype,
            scale,
            "PNG",
            tile=tile,
            overlap=overlap,
            features=_features(model),
        )
        hint = "" if need == streamed else f"; PNG output is streamed (needs {_gib(streamed)})"
        raise MemoryError(
            f"upscaling {str(src)!r} ({width}x{height}) x{scale} needs about {_gib(need)} of "
            f"memory, more than the {_gib(limit)} {where}{hint}; set the limit with "
            "--max-memory (max_memory=) or use a smaller image"
        )
    image = read_image(src, limit_pixels=False)
    arr = image[..., None] if image.ndim == 2 else image
    jobs: list[tuple[Path, Any]] = [
        (dst, lambda: _bands(arr, model, scale, tile, overlap, progress))
    ]
    if compare is not None:
        jobs.append((Path(compare), lambda: _bicubic_bands(arr, scale, tile or height)))
    for out, bands in jobs:
        if image_format(out) == "PNG":
            _write_atomically(out, functools.partial(_write_png_bands, arr.shape, scale, bands()))
        else:
            h, w, c = arr.shape
            kind = np.float32 if np.issubdtype(arr.dtype, np.floating) else arr.dtype
            whole = np.empty((h * scale, w * scale, c), dtype=kind)
            for y0, band in bands():
                whole[y0 : y0 + band.shape[0]] = band
            write_image(whole if image.ndim == 3 else whole[..., 0], out, to_8bit=to_8bit)
            del whole
    return image.shape, (image.shape[0] * scale, image.shape[1] * scale, *image.shape[2:])


def _write_png_bands(
    shape: tuple[int, ...], scale: int, bands: Iterator[tuple[int, np.ndarray]], f: Any
) -> None:
    """Write the bands of an ``(H, W, C)`` image upscaled ``scale`` times as a PNG to ``f``.

    8 bits for uint8/bool/float (floats rounded), 16 bits for uint16; each row with PNG's
    "Up" filter, compressed as it comes (zlib level 6, like Pillow's default).
    """
    import struct

    h, w, c = shape[0] * scale, shape[1] * scale, shape[2]

    def chunk(kind: bytes, data: bytes | memoryview) -> None:
        f.write(struct.pack(">I", len(data)) + kind)
        f.write(data)
        f.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF))

    first = True
    prev: np.ndarray | None = None
    z = zlib.compressobj(6)
    rows = 0
    for _, band in bands:
        if band.dtype == bool:
            band = band.astype(np.uint8) * 255
        elif np.issubdtype(band.dtype, np.floating):
            band = _from_float(band, np.dtype(np.uint8))
        depth = 16 if band.dtype == np.uint16 else 8
        if first:
            f.write(_PNG_SIGNATURE)
            colour = {1: 0, 2: 4, 3: 2, 4: 6}[c]
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))
            first = False
        raw = np.ascontiguousarray(band, dtype=">u2" if depth == 16 else np.uint8)
        raw = raw.reshape(band.shape[0], -1).view(np.uint8)
        up = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
        up[:, 0] = 2  # filter type "Up": each byte minus the one above (mod 256)
        np.subtract(raw[0], 0 if prev is None else prev, out=up[0, 1:])
        np.subtract(raw[1:], raw[:-1], out=up[1:, 1:])
        prev = raw[-1].copy()
        rows += raw.shape[0]
        data = z.compress(up.tobytes())
        if data:
            chunk(b"IDAT", data)
    assert rows == h, (rows, h)
    chunk(b"IDAT", z.flush())
    chunk(b"IEND", b"")
