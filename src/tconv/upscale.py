"""Backwards-compatible names of :mod:`tconv.upscaling` and :mod:`tconv.sr` (import from there).

``tconv.upscale`` is the function (:func:`tconv.upscaling.upscale`); this module keeps
``from tconv.upscale import read_image, upscale_file, load_sr_model, ...`` working for code
written before the split into :mod:`tconv.sr` (models) and :mod:`tconv.upscaling` (applying
them to image files).

>>> from tconv.upscale import upscale_file
>>> upscale_file.__module__
'tconv.upscaling.job'
"""

from .upscaling import *  # noqa: F403  (the same names, one list: tconv.upscaling.__all__)
from .upscaling import __all__ as __all__
from .upscaling.memory import features

_features = features  # the name tests and scripts used before the split
