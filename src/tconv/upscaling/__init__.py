"""Upscale real images with a super-resolution model: any size (tiled), grey/RGB/RGBA, 8/16-bit.

One module per job:

- :mod:`tconv.upscaling.tiles` -- :func:`upscale`: an array or tensor in, the same kind out,
  ``scale`` times larger, in overlapping tiles;
- :mod:`tconv.upscaling.io` -- :func:`read_image` / :func:`write_image` (Pillow; 16-bit colour
  PNG/TIFF through pypng/tifffile), :func:`image_info`, the streamed PNG writer;
- :mod:`tconv.upscaling.memory` -- :func:`memory_needed`, :func:`available_memory`,
  :func:`tile_slowdown`;
- :mod:`tconv.upscaling.job` -- :func:`upscale_file`: one file into another within a memory
  budget checked first.

The models come from :mod:`tconv.sr`; nothing here imports training code.

Example:
    >>> import numpy as np
    >>> upscale(np.zeros((10, 12, 3), dtype=np.uint8), 2).shape
    (20, 24, 3)
"""

from ..sr.ensembles import SelfEnsemble, TwoPathX4
from ..sr.shipped import (
    QUALITIES,
    SHIPPED_SCALES,
    load_sr_model,
    select_model,
    shipped_checkpoint,
    shipped_model,
)
from .io import (
    DEEP_FORMATS,
    IMAGE_SUFFIXES,
    check_depth,
    image_format,
    image_info,
    read_image,
    write_image,
)
from .job import upscale_file
from .memory import DEFAULT_TILE, available_memory, memory_needed, parse_size, tile_slowdown
from .tiles import bicubic_array, upscale

__all__ = [
    "DEEP_FORMATS",
    "DEFAULT_TILE",
    "IMAGE_SUFFIXES",
    "QUALITIES",
    "SHIPPED_SCALES",
    "SelfEnsemble",
    "TwoPathX4",
    "available_memory",
    "bicubic_array",
    "check_depth",
    "image_format",
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
