"""tconv: upsampling with transposed convolution, done right.

Exact in every view (matrix transpose, zero insertion + convolution, GEMM + col2im, sub-pixel
phases), exact in size (one geometry in :mod:`tconv.shapes`), and a drop-in for PyTorch.

>>> import torch, tconv
>>> tconv.output_size(16, 3, stride=2, padding=1, output_padding=1)
(32,)
>>> tconv.conv_transpose(torch.ones(1, 1, 2), torch.ones(1, 1, 3), stride=2).tolist()
[[[1.0, 1.0, 2.0, 1.0, 1.0]]]
"""

from . import artifacts, convert, init, nn

# the old module's names (from tconv.upscale import read_image, ...) keep working; imported
# first, so that the attribute tconv.upscale is the function below, not that module
from . import upscale as _upscale_names  # noqa: F401
from .functional import METHODS, conv_transpose, pixel_shuffle, pixel_unshuffle
from .methods.auto import set_autotune
from .methods.matrix import conv_matrix
from .planning import Plan, inverse_of, plan
from .shapes import (
    Geometry,
    ShapeError,
    output_padding_for,
    output_size,
    output_size_range,
)
from .upscaling.tiles import upscale

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "Geometry",
    "Plan",
    "ShapeError",
    "__version__",
    "artifacts",
    "conv_matrix",
    "conv_transpose",
    "convert",
    "init",
    "inverse_of",
    "nn",
    "output_padding_for",
    "output_size",
    "output_size_range",
    "pixel_shuffle",
    "pixel_unshuffle",
    "plan",
    "set_autotune",
    "upscale",
]
