"""Modules: drop-in replacements for ``torch.nn.ConvTranspose{1,2,3}d``, pixel shuffles, Upsample,
resize-convolutions.

The public namespace of tconv's layers. The classes live in :mod:`tconv.modules` (the
transposed convolutions and pixel shuffles) and :mod:`tconv.blocks` (:class:`Upsample`, built on
them); this module only gathers them, so nothing below imports it.

They subclass torch's classes (same constructor, parameters, state_dict keys and default
initialisation) and add what the geometry in :mod:`tconv.shapes` allows: ``"same"``,
``"valid"``, ``"same_lower"`` and asymmetric ``(begin, end)`` padding, every
``padding_mode``, any reachable ``output_size`` and a choice of ``method``. ``forward`` is one
call into :func:`tconv.functional.conv_transpose`.

>>> import torch
>>> m = ConvTranspose2d(3, 8, kernel_size=3, stride=2, padding="same")
>>> m(torch.randn(1, 3, 16, 16)).shape
torch.Size([1, 8, 32, 32])
>>> m
ConvTranspose2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=same)
"""

from __future__ import annotations

from .blocks import Upsample
from .modules import (
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    PixelShuffle,
    PixelUnshuffle,
    ResizeConv1d,
    ResizeConv2d,
    ResizeConv3d,
    from_geometry,
    geometry_of,
)

__all__ = [
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "PixelShuffle",
    "PixelUnshuffle",
    "ResizeConv1d",
    "ResizeConv2d",
    "ResizeConv3d",
    "Upsample",
    "from_geometry",
    "geometry_of",
]
