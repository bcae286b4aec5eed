"""The three views drawn in a terminal: Unicode grids, with colour when the terminal has it.

Without colour every mark is a character: cropped cells show ``░``, cells added by
output_padding / output_size end in ``*``, border zeros show ``·`` and inserted zeros ``0``,
and the kernel window of the chosen output position is in ``[ ]``.

Example:
    >>> from tconv.viz.data import Settings, explain_data
    >>> print(render(explain_data(Settings.create(2, 3, stride=2, padding=1, output_padding=1))))
    ... # doctest: +NORMALIZE_WHITESPACE
    input 2, kernel 3, stride 2, padding 1, output_padding 1 -> output 4
    output size: (2 - 1)*2 - 1 - 0 + 1*(3 - 1) + 1 = 4
    <BLANKLINE>
    scatter view: each input element paints x[j]*w into the full output (length 5)
      x[0]=1 │ 1 2 3 · ·
      x[1]=2 │ · · 2 4 6
      full   │ 1 2 5 4 6
      taps   │ 1 1 2 1 1
      output │ ░ 2 5 4 6*
      crop (lo, hi) = (1, 0): ░ cropped, * added by output_padding/output_size
    ...
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

__all__ = ["render", "supports_color"]

_RESET = "\033[0m"
_STYLE = {
    "input": "\033[33m",  # yellow
    "border": "\033[2m",  # dim
    "cropped": "\033[2;9m",  # dim, struck through
    "extra": "\033[1;31m",  # bold red
    "window": "\033[1;34m",  # bold blue
    "head": "\033[1m",
}


def supports_color(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (default stdout) is a terminal that takes colour codes.

    Follows https://no-color.org: a non-empty ``NO_COLOR`` turns colour off; ``TERM=dumb`` too.

    Args:
        stream: the stream to be written (default ``sys.stdout``).

    Returns:
        Whether to colour.

    Example:
        >>> import io
        >>> supports_color(io.StringIO())
        False
    """
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v - round(v)) > 1e-9 else str(round(v))


class _Cells:
    def __init__(self, color: bool) -> None:
        self.color = color

    def cell(self, text: str, width: int, style: str | None = None) -> str:
        body = text.rjust(width)
        if self.color and style:
            return _STYLE[style] + body + _RESET
        return body

    def head(self, text: str) -> str:
        return _STYLE["head"] + text + _RESET if self.color else text

    def warn(self, text: str) -> str:
        return _STYLE["extra"] + text + _RESET if self.color else text


def _row(label: str, cells: Sequence[str], lw: int) -> str:
    return f"  {label.ljust(lw)} │ " + " ".join(cells)


def render(data: dict[str, Any], color: bool = False, position: int | None = None) -> str:
    """The views of :func:`tconv.viz.data.explain_data` as text (Unicode, optional colour).

    Args:
        data: :func:`~tconv.viz.data.explain_data`'s result.
        color: use ANSI colours (see :func:`supports_color`).
        position: output position (flat) whose kernel window the zero-insertion view marks
            (default: the middle one).

    Returns:
        The drawing, lines of text.

    Example:
        >>> from tconv.viz import Settings, explain_data
        >>> text = render(explain_data(Settings.create(4, 3, stride=2, padding=1)))
        >>> "output" in text
        True
    """
    c = _Cells(color)
    lines = [c.head(data["settings"])]
    lines += ["output size: " + "; ".join(data["formula"])]
    warning = data.get("coverage", {}).get("warning")
    if warning:  # cells no input reaches: they hold only the bias
        lines.append(c.warn(f"warning: {warning}"))
    lines.append("")
    if len(data["input_size"]) == 1:
        lines += [*_scatter_1d(data, c), "", *_zero_1d(data, c, position), ""]
        lines += _matrix(data, c)
    else:
        lines += [*_scatter_2d(data, c), "", *_zero_2d(data, c, position), ""]
        lines += _matrix(data, c)
    return "\n".join(lines)


def _marks_1d(data: dict[str, Any]) -> tuple[int, int, int, int]:
    sc = data["scatter"]
    (lo, hi), L, extra = sc["crop"][0], sc["full_size"][0], sc["extra"][0]
    return lo, hi, L, extra


def _scatter_1d(data: dict[str, Any], c: _Cells) -> list[str]:
    sc = data["scatter"]
    lo, hi, L, extra = _marks_1d(data)
    start, stop = min(0, lo), max(L, L - hi)  # columns: the full output and any zero extension
    full = np.array(sc["full"])
    taps = np.array(sc["taps"])
    fps = np.array(sc["footprints"])
    values = [_fmt(v) for v in np.concatenate([fps.ravel(), full])] + ["░"]
    w = max(len(v) for v in values)
    lw = max(6, max(len(f"x[{j}]={_fmt(v)}") for j, v in enumerate(sc["x"])))
    lines = [
        c.head(f"scatter view: each input element paints x[j]*w into the full output (length {L})")
    ]

    def at(arr: np.ndarray, p: int, blank: str = "·") -> str:
        return _fmt(arr[p]) if 0 <= p < L else blank

    for j, (fp, tp) in enumerate(zip(fps, taps)):
        cells = [
            c.cell(_fmt(fp[p]) if 0 <= p < L and tp[p] >= 0 else "·", w) for p in range(start, stop)
        ]
        lines.append(_row(f"x[{j}]={_fmt(sc['x'][j])}", cells, lw))
    counts = np.array(sc["counts"])
    lines.append(_row("full", [c.cell(at(full, p, " "), w) for p in range(start, stop)], lw))
    lines.append(_row("taps", [c.cell(at(counts, p, " "), w) for p in range(start, stop)], lw))
    out_cells = []
    end = L - hi
    for p in range(start, stop):
        if p < lo or p >= end:
            out_cells.append(c.cell("░", w, "cropped"))
        elif p >= end - extra:
            out_cells.append(c.cell(at(full, p, "0"), w, "extra") + ("" if c.color else "*"))
        else:
            out_cells.append(c.cell(at(full, p, "0"), w))
    lines.append(_row("output", out_cells, lw))
    lines.append(
        f"  crop (lo, hi) = ({lo}, {hi}): ░ cropped, "
        + ("red" if c.color else "*")
        + " added by output_padding/output_size"
        + ("; cells beyond the full output are zeros" if lo < 0 or hi < 0 else "")
    )
    return lines


def _zero_1d(data: dict[str, Any], c: _Cells, position: int | None) -> list[str]:
    z = data["zero_insertion"]
    padded, kind = z["padded"], z["kind"]
    n_out = len(z["output"])
    position = n_out // 2 if position is None else position
    reads = set(z["reads"][position])
    w = max(len(_fmt(v)) for v in [*padded, *z["output"]]) + 2
    lines = [
        c.head(
            "zero-insertion view: stride - 1 zeros between inputs, border "
            f"(begin, end) = {tuple(z['border'][0])}, then the flipped kernel "
            f"{[_fmt(v) for v in z['flipped']]}"
        )
    ]
    cells = []
    for p, (v, k) in enumerate(zip(padded, kind)):
        text = "·" if k == -2 else _fmt(v)
        style = "window" if p in reads else ("input" if k >= 0 else "border" if k == -2 else None)
        if p in reads and not c.color:
            text = f"[{text}]"
        cells.append(c.cell(text, w, style))
    lines.append(_row("padded", cells, 6))
    out = []
    for o, v in enumerate(z["output"]):
        text = _fmt(v)
        if o == position and not c.color:
            text = f"[{text}]"
        out.append(c.cell(text, w, "window" if o == position else None))
    lines.append(_row("output", out, 6))
    fl = np.array(z["flipped"]).ravel()
    terms = " + ".join(
        f"{_fmt(fl[t])}*{_fmt(padded[p])}" for t, p in enumerate(z["reads"][position])
    )
    lines.append(
        f"  output[{position}] = {terms} = {_fmt(z['output'][position])}  "
        "(· border zero, [ ] kernel window)"
    )
    return lines


def _matrix(data: dict[str, Any], c: _Cells) -> list[str]:
    m = data["matrix"]
    CT = np.array(m["CT"])
    rows, cols = CT.shape
    if rows * cols > 400:
        return [
            c.head("matrix view: ")
            + f"Cᵀ is {rows} x {cols}, too large for the terminal (use --out or --json)"
        ]
    w = max(len(_fmt(v)) for v in [*CT.ravel(), *m["x"], *m["y"]])
    lines = [c.head(f"matrix view: y = Cᵀ x, Cᵀ is {rows} x {cols} (C is the convolution)")]
    x = m["x"]
    for r in range(rows):
        cells = [c.cell(_fmt(v) if v else "·", w) for v in CT[r]]
        xv = c.cell(_fmt(x[r]), w) if r < len(x) else " " * w
        lines.append(
            f"  y[{r}]".ljust(8)
            + f"= {c.cell(_fmt(m['y'][r]), w)} │ "
            + " ".join(cells)
            + f" │ {xv if r < len(x) else ''}"
        )
    lines.append("  (rows: output positions; columns: input positions; last column: x)")
    return lines


def _grid_lines(
    values: np.ndarray, c: _Cells, styles: np.ndarray | None = None, texts: np.ndarray | None = None
) -> list[str]:
    texts = np.vectorize(_fmt)(values) if texts is None else texts
    w = max(len(t) for t in texts.ravel())
    lines = []
    for r in range(values.shape[0]):
        cells = [
            c.cell(texts[r, k], w, None if styles is None else styles[r, k] or None)
            for k in range(values.shape[1])
        ]
        lines.append("    " + " ".join(cells))
    return lines


def _scatter_2d(data: dict[str, Any], c: _Cells) -> list[str]:
    sc = data["scatter"]
    full = np.array(sc["full"])
    counts = np.array(sc["counts"])
    (lo0, hi0), (lo1, hi1) = sc["crop"]
    H, W = full.shape
    e0, e1 = sc["extra"]
    texts = np.vectorize(_fmt)(full).astype(object)
    styles = np.full(full.shape, "", dtype=object)
    for r in range(H):
        for k in range(W):
            if not (lo0 <= r < H - hi0 and lo1 <= k < W - hi1):
                texts[r, k], styles[r, k] = "░", "cropped"
            elif r >= H - hi0 - e0 or k >= W - hi1 - e1:
                styles[r, k] = "extra"
                if not c.color:
                    texts[r, k] = texts[r, k] + "*"
    lines = [
        c.head(
            f"scatter view: the full output ({H} x {W}), cropped by (lo, hi) = rows "
            f"({lo0}, {hi0}), columns ({lo1}, {hi1})"
        )
    ]
    lines += _grid_lines(full, c, styles, texts)
    lines.append(
        "  ░ cropped, "
        + ("red" if c.color else "*")
        + " added by output_padding/output_size"
        + (
            "; a negative crop extends with zeros (not drawn)"
            if min(lo0, hi0, lo1, hi1) < 0
            else ""
        )
    )
    lines.append(c.head("overlap: kernel taps reaching each full-output cell"))
    lines += _grid_lines(counts, c)
    lines.append(c.head(f"output ({' x '.join(map(str, data['output_size']))})"))
    lines += _grid_lines(np.array(sc["output"]), c)
    return lines


def _zero_2d(data: dict[str, Any], c: _Cells, position: int | None) -> list[str]:
    z = data["zero_insertion"]
    padded, kind = np.array(z["padded"]), np.array(z["kind"])
    out = np.array(z["output"])
    n_out = math.prod(out.shape)
    position = n_out // 2 if position is None else position
    reads = set(z["reads"][position])
    texts = np.vectorize(_fmt)(padded).astype(object)
    styles = np.full(padded.shape, "", dtype=object)
    for idx in np.ndindex(*padded.shape):
        flat = idx[0] * padded.shape[1] + idx[1]
        if kind[idx] == -2:
            texts[idx], styles[idx] = "·", "border"
        elif kind[idx] >= 0:
            styles[idx] = "input"
        if flat in reads:
            styles[idx] = "window"
            if not c.color:
                texts[idx] = f"[{texts[idx]}]"
    r, k = divmod(position, out.shape[1])
    lines = [
        c.head(
            "zero-insertion view: inputs with stride - 1 zeros between them, border zeros (·) "
            "(begin, end) = rows ({}, {}), columns ({}, {})".format(
                *z["border"][0], *z["border"][1]
            )
            + "; [ ] the flipped kernel's window for output "
            f"({r}, {k}) = {_fmt(out[r, k])}"
        )
    ]
    lines += _grid_lines(padded, c, styles, texts)
    return lines
