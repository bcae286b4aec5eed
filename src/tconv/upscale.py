"""Backwards-compatible names of :mod:`tconv.upscaling` and :mod:`tconv.sr` (import from there).

``tconv.upscale`` is the function (:func:`tconv.upscaling.upscale`); this module keeps
``from tconv.upscale import read_image, upscale_file, load_sr_model, ...`` working for code
written before the split into :mod:`tconv.sr` (models) and :mod:`tconv.upscaling` (applying
them to image files).

>>> from tconv.upscale import upscale_file
>>> upscale_file.__module__
'tconv.upscaling.job'
"""

from .sr.ensembles import SelfEnsemble, TwoPathX4
from .sr.shipped import (
    QUALITIES,
    SHIPPED_SCALES,
    load_sr_model,
    select_model,
    shipped_checkpoint,
    shipped_model,
)
from .upscaling.io import (
    DEEP_FORMATS,
    IMAGE_SUFFIXES,
    check_depth,
    image_format,
    image_info,
    read_image,
    write_image,
)
from .upscaling.job import upscale_file
from .upscaling.memory import (
    DEFAULT_TILE,
    available_memory,
    features,
    memory_needed,
    parse_size,
    tile_slowdown,
)
from .upscaling.tiles import bicubic_array, upscale

_features = features  # the name tests and scripts used before the split

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
