"""One image file upscaled into another, within a memory budget checked first."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..sr.shipped import select_model
from .io import (
    check_depth,
    image_format,
    image_info,
    read_image,
    write_atomically,
    write_image,
    write_png_bands,
)
from .memory import DEFAULT_TILE, _gib, available_memory, features, memory_needed
from .tiles import _check_tiling, bands, bicubic_bands

__all__ = ["upscale_file"]


def upscale_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    scale: int | None = 2,
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
            features=features(model),
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
            features=features(model),
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
        (dst, lambda: bands(arr, model, scale, tile, overlap, progress))
    ]
    if compare is not None:
        jobs.append((Path(compare), lambda: bicubic_bands(arr, scale, tile or height)))
    for out, make_bands in jobs:
        if image_format(out) == "PNG":
            write_atomically(
                out, functools.partial(write_png_bands, arr.shape, scale, make_bands())
            )
        else:
            h, w, c = arr.shape
            kind = np.float32 if np.issubdtype(arr.dtype, np.floating) else arr.dtype
            whole = np.empty((h * scale, w * scale, c), dtype=kind)
            for y0, band in make_bands():
                whole[y0 : y0 + band.shape[0]] = band
            write_image(whole if image.ndim == 3 else whole[..., 0], out, to_8bit=to_8bit)
            del whole
    return image.shape, (image.shape[0] * scale, image.shape[1] * scale, *image.shape[2:])
