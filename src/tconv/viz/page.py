"""The interactive page: one self-contained HTML file, every number computed by tconv.

``write_page(path)`` computes the views of every 1-D setting in :data:`RANGES` with
:mod:`tconv.viz.data` (the matrix, zero-insertion and scatter views; sizes, crops and the
filled-in formula from :class:`~tconv.shapes.Geometry`; or the :class:`~tconv.ShapeError`
text of an invalid setting), and embeds them gzip-compressed in the template
``page_template.html`` (package data). The page's script only looks records up and draws
them: it never computes a size or a crop.

2-D: a 2-D transposed convolution acts on each dimension independently (the geometry is
per dimension), so with a separable example kernel ``w[a, b] = w0[a] * w1[b]`` and input
``x[i, j] = x0[i] * x1[j]`` its matrix is the Kronecker product ``C0 ⊗ C1``, its overlap map
the outer product of the per-dimension maps and its output ``y0 ⊗ y1``. The page combines the
two dimensions' records that way; the browser test checks every such number against tconv's
own 2-D computation.

Ranges embedded (each dimension): input 1..6, kernel 1..5, stride 1..3, padding 0..3 /
'same' / 'valid' / 'same_lower', output_padding 0..2, dilation 1..2: 3780 settings, about
150 KB compressed.

Example:
    >>> recs = page_records({"input": [2], "kernel": [3], "stride": [2],
    ...                      "padding": [1], "output_padding": [0, 1, 2], "dilation": [1]})
    >>> [r["o"] if isinstance(r, dict) else r[:40] for r in recs]
    [3, 4, 'output_padding=(2,) is invalid for strid']
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import os
from contextlib import contextmanager
from importlib import resources
from typing import Any

import torch

from ..shapes import ShapeError
from .data import Settings, scatter_data, zero_insertion_data

__all__ = ["RANGES", "page_html", "page_records", "write_page"]

#: the settings the page offers, per dimension, in the order of its records
RANGES: dict[str, list[Any]] = {
    "input": list(range(1, 7)),
    "kernel": list(range(1, 6)),
    "stride": list(range(1, 4)),
    "padding": [0, 1, 2, 3, "same", "valid", "same_lower"],
    "output_padding": list(range(0, 3)),
    "dilation": list(range(1, 3)),
}


@contextmanager
def _one_thread() -> Any:
    """Tiny tensors: one thread is many times faster than a contended pool."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _taps(rows: list[list[int]]) -> list[str]:
    """Tap-index rows as strings: '.' none, else the tap index (kernels < 10 taps)."""
    return ["".join("." if t < 0 else str(t) for t in row) for row in rows]


def record(s: Settings) -> dict[str, Any]:
    """One 1-D setting's page record (kernel ``1..K``, input ``1..I``).

    Keys: ``o`` output length, ``L`` full length, ``c`` crop (lo, hi), ``e`` cells added by
    output_padding, ``f`` the formula filled in, ``t`` Cᵀ's taps (per output position, one
    character per input: '.' or the tap index), ``s`` the scatter taps (per input element,
    one character per full-output cell), ``v`` the full output, ``n`` the overlap (taps per
    full-output cell), ``y`` the output, ``k`` the padded cells' kinds (input index, -1
    inserted zero, -2 border), ``b`` the border (begin, end), ``r`` each output position's
    padded cells (flipped-kernel taps in order), ``w`` which output cells no input reaches
    (:meth:`~tconv.shapes.Geometry.coverage`; empty when every cell does).
    """
    from .data import matrix_data

    m = matrix_data(s)
    z = zero_insertion_data(s)
    sc = scatter_data(s)
    ct = [list(col) for col in zip(*m["taps"])]  # Cᵀ: output positions x inputs
    return {
        "o": s.output_size[0],
        "L": s.full_size[0],
        "c": sc["crop"][0],
        "e": sc["extra"][0],
        "f": s.geometry.explain(s.input_size)[0],
        "t": _taps(ct),
        "s": _taps(sc["taps"]),
        "v": [round(v) for v in sc["full"]],
        "n": sc["counts"],
        "y": [round(v) for v in m["y"]],
        "k": z["kind"],
        "b": z["border"][0],
        "r": z["reads"],
        "w": s.geometry.coverage(s.input_size).describe(),
    }


def page_records(ranges: dict[str, list[Any]] | None = None) -> list[dict[str, Any] | str]:
    """Every setting's record (or its ShapeError text), in ``itertools.product`` order of
    ``ranges``' values (keys as in :data:`RANGES`).

    Args:
        ranges: the values per setting (default :data:`RANGES`).

    Returns:
        One record per setting (see ``record``), or the ShapeError message of an invalid one.

    Example:
        >>> recs = page_records({"input": [4], "kernel": [3], "stride": [2],
        ...                      "padding": [1], "output_padding": [1], "dilation": [1]})
        >>> recs[0]["o"], recs[0]["y"]
        (8, [2, 5, 4, 9, 6, 13, 8, 12])"""
    ranges = RANGES if ranges is None else ranges
    out: list[dict[str, Any] | str] = []
    keys = ("input", "kernel", "stride", "padding", "output_padding", "dilation")
    with _one_thread():
        for i, k, st, p, op, d in itertools.product(*(ranges[key] for key in keys)):
            try:
                s = Settings.create(i, k, st, p, op, d)
            except ShapeError as err:
                out.append(str(err))
                continue
            out.append(record(s))
    return out


def page_html(ranges: dict[str, list[Any]] | None = None) -> str:
    """The page's HTML text (template + the embedded, gzip-compressed records).

    Args:
        ranges: the settings offered, per dimension (default :data:`RANGES`).

    Returns:
        The whole page, one self-contained HTML document.

    Example:
        >>> html = page_html({**RANGES, "input": [1, 2]})
        >>> html.startswith("<!DOCTYPE html>"), "/*TCONV_DATA*/null" in html
        (True, False)
    """
    ranges = RANGES if ranges is None else ranges
    records = page_records(ranges)
    raw = json.dumps(records, separators=(",", ":")).encode()
    blob = base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode()
    template = resources.files("tconv.viz").joinpath("page_template.html").read_text("utf-8")
    payload = json.dumps({"ranges": ranges, "records": blob}, separators=(",", ":"))
    return template.replace("/*TCONV_DATA*/null", payload)


def write_page(path: str | os.PathLike[str], ranges: dict[str, list[Any]] | None = None) -> int:
    """Write the page to ``path``; return its size in bytes.

    Args:
        path: the HTML file to write.
        ranges: the settings offered (default :data:`RANGES`).

    Returns:
        The number of bytes written.

    Example:
        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     n = write_page(os.path.join(tmp, "p.html"), {**RANGES, "input": [1, 2]})
        >>> 10_000 < n < 2_000_000
        True
    """
    text = page_html(ranges)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return len(text.encode())
