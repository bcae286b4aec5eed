"""Benchmarks: a catalog of real upsampling layers, a runner, and the report behind BENCHMARKS.md.

Every figure is a median of repeated timings, and every speed is a median of per-round ratios
against torch timed in the same run (never a number from another machine or another day).
Run it with ``tconv bench`` or ``make bench``; see BENCHMARKS.md.

>>> from tconv.bench import CATALOG
>>> len(CATALOG) >= 17
True
"""

from __future__ import annotations

from .catalog import CATALOG, DEPTHWISE_LAYERS, QUICK_LAYERS, Layer, get
from .peers import PEERS, Unsupported
from .report import format_table, machine, markdown, plot, summary
from .runner import (
    DEFAULT_METHODS,
    DTYPES,
    LAYOUTS,
    PASSES,
    TCONV_METHODS,
    geometric_mean,
    run_catalog,
    timings,
)

__all__ = [
    "CATALOG",
    "DEFAULT_METHODS",
    "DEPTHWISE_LAYERS",
    "DTYPES",
    "LAYOUTS",
    "PASSES",
    "PEERS",
    "QUICK_LAYERS",
    "TCONV_METHODS",
    "Layer",
    "Unsupported",
    "format_table",
    "geometric_mean",
    "get",
    "machine",
    "markdown",
    "plot",
    "run_catalog",
    "summary",
    "timings",
]
