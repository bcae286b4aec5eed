"""The one geometry of a transposed convolution: sizes, paddings, crops and their validation.

Every transposed convolution is "the full output, cropped". Per spatial dimension, with input
length ``i``, kernel ``k``, stride ``s`` and dilation ``d``::

    full length  L = (i - 1) * s + d * (k - 1) + 1
    result         = full[lo : L - hi]    (a negative lo or hi extends with zeros; bias added)

PyTorch's ``padding=p, output_padding=op`` is ``(lo, hi) = (p, p - op)``; ``"same"``,
``"valid"``, ``"same_lower"``, explicit ``(begin, end)`` pairs and ``output_size=`` targets are
other names for ``(lo, hi)``. Everything else in tconv reads sizes from this module; nothing
else re-derives them. This module imports nothing from the rest of the package (nor torch).

Shape:
    - Input: ``(N, C_in, *I)`` or ``(C_in, *I)``
    - Output: ``(N, C_out, *O)`` with, per dimension,
      ``O = (I - 1) * stride - lo - hi + dilation * (kernel - 1) + 1``

Examples:
    >>> output_size(16, 3, stride=2, padding=1, output_padding=1)
    (32,)
    >>> output_size((16, 12), 4, stride=2, padding="same")
    (32, 24)
    >>> Geometry.create(3, stride=2, padding="same").crop
    ((0, 1),)
"""

# ruff: noqa: F401  (the package's names, re-exported: `from tconv.shapes import X` for each)
from __future__ import annotations

from .conventions import _NAME_MEANS, _named_crop, conv_padding, spatial_index, spatial_size
from .coverage import (
    _DIM_NAMES,
    MAX_COVERAGE_CLASSES,
    Coverage,
    _coverage,
    _covered_between,
    _covered_q,
    _fold_source,
    _is_covered,
    _tap_classes,
    _Taps,
)
from .formula import _full, _full_length, _span, conv_output_size, full_size, kernel_span
from .geometry import (
    Geometry,
    _check_call,
    _create_cached,
    output_padding_for,
    output_size,
    output_size_range,
)
from .resize import RESIZE_MODES, resize_conv_geometry
from .validation import (
    _MODE_CODES,
    PADDING_MODES,
    PADDING_NAMES,
    Crop,
    IntOrTuple,
    PaddingMode,
    PaddingName,
    PaddingSpec,
    ShapeError,
    ShapeRuntimeError,
    _check_at_least,
    _ints,
    _is_int,
    _pairs,
    as_tuple,
    rank_of,
)

__all__ = [
    "PADDING_MODES",
    "RESIZE_MODES",
    "Coverage",
    "Geometry",
    "PaddingMode",
    "PaddingSpec",
    "ShapeError",
    "ShapeRuntimeError",
    "conv_output_size",
    "conv_padding",
    "full_size",
    "kernel_span",
    "output_padding_for",
    "output_size",
    "output_size_range",
    "resize_conv_geometry",
    "spatial_index",
    "spatial_size",
]

# the public classes and functions say they live here (reprs, pickles, tracebacks, the docs)
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__code__")):
        _obj.__module__ = __name__
del _name, _obj
