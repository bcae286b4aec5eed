"""See it: the mechanism of a transposed convolution drawn for any settings.

The numbers come from :mod:`tconv.viz.data` (tconv's own computations); the figures
(:mod:`tconv.viz.figures`, matplotlib, the ``plots`` extra, imported lazily), the terminal
drawing (:mod:`tconv.viz.terminal`) and the interactive page (:mod:`tconv.viz.page`) only draw
them. Every figure function returns a :class:`~tconv.viz.figures.Drawing`: the figure and the
numbers it drew.

>>> from tconv.viz import Settings, matrix_data
>>> matrix_data(Settings.create(2, 3, stride=2))["y"]
[1.0, 2.0, 5.0, 4.0, 6.0]
"""

from .data import (
    MAX_CELLS,
    MAX_INPUT,
    Settings,
    explain_data,
    matrix_data,
    scatter_data,
    zero_insertion_data,
)

__all__ = [
    "MAX_CELLS",
    "MAX_INPUT",
    "Settings",
    "explain_data",
    "matrix_data",
    "scatter_data",
    "zero_insertion_data",
]
