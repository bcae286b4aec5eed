"""Figures and animations of the three views, drawn with matplotlib (the ``plots`` extra).

Every function returns a :class:`Drawing`: the matplotlib figure and ``data``, the numbers it
drew (from :mod:`tconv.viz.data`), so a test can compare every number shown with tconv.
matplotlib is imported inside the functions; figures are built without pyplot (no window,
no global state).

Example:
    >>> from tconv.viz import Settings
    >>> d = scatter_figure(Settings.create(2, 3, stride=2))
    >>> d.data["full"]
    [1.0, 2.0, 5.0, 4.0, 6.0]
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from .data import (
    Settings,
    checkerboard_data,
    matrix_data,
    scatter_data,
    zero_insertion_data,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "VIEWS",
    "Drawing",
    "animate",
    "checkerboard_figure",
    "matrix_figure",
    "save",
    "scatter_figure",
    "zero_insertion_figure",
]

#: names of the views that have a figure and an animation
VIEWS = ("matrix", "zero_insertion", "scatter")

# colours (colour-blind safe: Okabe-Ito)
INPUT = "#E69F00"  # input cells (orange)
INSERTED = "#FFFFFF"  # inserted zeros (white, dotted)
BORDER = "#D9D9D9"  # border zeros (grey)
CROPPED = "#BBBBBB"  # cropped away (grey shade)
EXTRA = "#D55E00"  # output_padding / output_size cells (vermilion outline)
KERNEL = "#0072B2"  # kernel window (blue)
CMAP = "Blues"


class Drawing(NamedTuple):
    """A figure and the numbers it shows.

    Every figure function returns one; ``save`` writes its figure, and ``data`` is what the
    tests and ``docs/generate.py`` check.

    Attributes:
        figure: the matplotlib figure.
        data: the numbers drawn (the view's data from :mod:`tconv.viz.data`).

    Example:
        >>> d = matrix_figure(Settings.create(3, 2, stride=2))
        >>> type(d.figure).__name__, sorted(d.data)[:3]
        ('Figure', ['C', 'CT', 'input_size'])"""

    figure: Figure
    data: dict[str, Any]


#: the largest figure, in inches (a screen at 100 dpi); larger ones are scaled down to it
MAX_FIGURE = (15.0, 11.0)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shrink = min(1.0, MAX_FIGURE[0] / width, MAX_FIGURE[1] / height)
    width, height = width * shrink, height * shrink
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v - round(v)) > 1e-9 else str(round(v))


def _grid(
    ax: Axes,
    values: np.ndarray,
    *,
    colors: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    vmax: float | None = None,
    fontsize: float = 9,
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
    ticks: bool = True,
    x0: int = 0,
    y0: int = 0,
    lines: bool = True,
    aspect: Literal["equal", "auto"] = "equal",
) -> None:
    """Draw a 2-D array as labelled cells: a heatmap of ``values`` (or given RGBA ``colors``)."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    rows, cols = values.shape
    if colors is None:
        top = vmax if vmax is not None else max(float(np.abs(values).max()), 1e-9)
        colors = _value_colors(values, top)
    extent = (x0 - 0.5, x0 + cols - 0.5, y0 + rows - 0.5, y0 - 0.5)
    ax.imshow(colors, extent=extent, interpolation="nearest", aspect=aspect)
    if lines:  # cell borders (left out where cells are too small to see them)
        for r in range(rows + 1):
            ax.axhline(y0 + r - 0.5, color="#999999", lw=0.5)
        for c in range(cols + 1):
            ax.axvline(x0 + c - 0.5, color="#999999", lw=0.5)
    if labels is None:
        labels = np.vectorize(_fmt)(values) if values.size else values
    if rows * cols <= 900:
        for r in range(rows):
            for c in range(cols):
                text = labels[r, c]
                if text:
                    ax.text(
                        x0 + c,
                        y0 + r,
                        text,
                        ha="center",
                        va="center",
                        fontsize=fontsize,
                        color=_text_color(colors[r, c], values[r, c]),
                    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    if ticks:
        step_x = max(1, cols // 12)
        step_y = max(1, rows // 12)
        ax.set_xticks(range(x0, x0 + cols, step_x))
        ax.set_yticks(range(y0, y0 + rows, step_y))
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.tick_params(labelsize=7, length=0)


def _value_colors(values: np.ndarray, top: float) -> np.ndarray:
    """RGBA of each value on the blue scale up to ``top`` (zeros white)."""
    import matplotlib
    from matplotlib.colors import Normalize

    colors = matplotlib.colormaps[CMAP](Normalize(-0.15 * top, top)(np.abs(values)))
    colors[values == 0] = (1, 1, 1, 1)
    return np.asarray(colors)


def _text_color(rgba: Sequence[float], value: float) -> str:
    dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5
    return "white" if dark else ("#AAAAAA" if value == 0 else "black")


def _as2d(values: Any) -> np.ndarray:
    return np.atleast_2d(np.asarray(values, dtype=float))


def _title(fig: Figure, s: Settings, view: str) -> None:
    formula = "; ".join(s.geometry.explain(s.input_size))
    fig.suptitle(f"{view}: {s.describe()}\noutput size: {formula}", fontsize=10)


# ---------------------------------------------------------------------------------------------
# the matrix view


def matrix_figure(
    s: Settings, weight: Tensor | None = None, x: Tensor | None = None, *, row: int | None = None
) -> Drawing:
    """The convolution matrix ``C``, its transpose and ``y = Cᵀ x``, numbers in the cells.

    Args:
        s: the settings (:meth:`Settings.create`).
        weight: the kernel drawn (default ``1, 2, 3, ...``).
        x: the input drawn (default ``1, 2, 3, ...``).
        row: highlight this output position (a row of ``Cᵀ``), as the animation does.

    Returns:
        the figure and :func:`~tconv.viz.data.matrix_data`.

    Shape:
        - weight: ``(*K)``, the kernel of one channel (default ``1, 2, 3, ...``)
        - x: ``(*I)``, the input of one channel (default ``1, 2, 3, ...``)

    Example:
        >>> d = matrix_figure(Settings.create(3, 2, stride=2))
        >>> d.data["y"]
        [1.0, 2.0, 2.0, 4.0, 3.0, 6.0]
    """
    data = matrix_data(s, weight, x)
    _, fig = _draw_matrix(s, data, row)
    return Drawing(fig, data)


def _draw_matrix(s: Settings, data: dict[str, Any], row: int | None) -> tuple[list[Axes], Figure]:
    C, CT = _as2d(data["C"]), _as2d(data["CT"])
    n_in, n_out = C.shape
    # cells sized for a screen: about 14 x 11 inches at most (numbers drawn up to 900 cells)
    cell = 0.32 if n_in * n_out <= 600 else 0.14
    cell = min(cell, 10.0 / (n_out + n_in), 8.0 / max(n_in, n_out))
    # the vectors' cells: 3 matrix cells wide (room for their numbers), 0.6 inch at least
    wide = max(3, math.ceil(0.6 / cell))
    width = max(8.0, cell * (n_out + n_in + 2 * wide) + 3.5)
    height = max(3.6, cell * max(n_in, n_out) + 2.7)
    fig = _figure(width, height)
    fig.get_layout_engine().set(w_pad=0.12)  # type: ignore[union-attr, call-arg]
    # cells square without a fixed aspect (which would shrink the axes after the layout and
    # cut their titles): C and Cᵀ get heights in proportion to their rows
    low, high = sorted((n_in, n_out))
    if low == high:
        grid = fig.add_gridspec(1, 4, width_ratios=[n_out, n_in, wide, wide])
        spans = [grid[0, 0], grid[0, 1], grid[0, 2], grid[0, 3]]
    else:
        grid = fig.add_gridspec(
            2, 4, width_ratios=[n_out, n_in, wide, wide], height_ratios=[low, high - low]
        )
        spans = (
            [grid[0, 0], grid[:, 1], grid[:, 2], grid[:, 3]]
            if n_in < n_out
            else [grid[:, 0], grid[0, 1], grid[0, 2], grid[0, 3]]
        )
    axes = [fig.add_subplot(span) for span in spans]
    top = max(float(np.abs(C).max()), 1e-9)
    fs = 8 if cell > 0.2 else 5
    lines = cell >= 0.07
    _grid(
        axes[0],
        C,
        vmax=top,
        lines=lines,
        aspect="auto",
        fontsize=fs,
        title=f"C ({n_in} x {n_out}): the convolution",
        xlabel="output position (its input)",
        ylabel="input position (its output)",
    )
    _grid(
        axes[1],
        CT,
        vmax=top,
        lines=lines,
        aspect="auto",
        fontsize=fs,
        title="Cᵀ: the transposed convolution",
        xlabel="input position",
        ylabel="output position",
    )
    # x and y on Cᵀ's scale: y's rows beside Cᵀ's rows
    labelled = cell >= 0.09
    rows = max(n_in, n_out) if n_in < n_out else n_out
    _column(axes[2], np.asarray(data["x"], dtype=float), rows, wide, fs, "x", labelled)
    _column(axes[3], np.asarray(data["y"], dtype=float), rows, wide, fs, "y = Cᵀx", labelled)
    if row is not None:
        from matplotlib.patches import Rectangle

        for ax, width_ in ((axes[1], n_in), (axes[3], wide)):
            ax.add_patch(
                Rectangle((-0.5, row - 0.5), width_, 1, fill=False, ec=EXTRA, lw=2.5, zorder=5)
            )
    _title(fig, s, "matrix view")
    return axes, fig


def _column(
    ax: Axes, values: np.ndarray, rows: int, wide: int, fontsize: float, title: str, labelled: bool
) -> None:
    """A vector drawn down a column of cells ``wide`` units wide, on a scale of ``rows`` rows."""
    n = len(values)
    colors = _value_colors(values[:, None], max(float(np.abs(values).max()), 1e-9))
    ax.imshow(
        colors, extent=(-0.5, wide - 0.5, n - 0.5, -0.5), interpolation="nearest", aspect="auto"
    )
    ax.set_xlim(-0.5, wide - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    if labelled:
        for r in range(n + 1):
            ax.plot([-0.5, wide - 0.5], [r - 0.5, r - 0.5], color="#999999", lw=0.5)
        for r, v in enumerate(values):
            ax.text(
                (wide - 1) / 2,
                r,
                _fmt(v),
                ha="center",
                va="center",
                fontsize=fontsize,
                color=_text_color(colors[r, 0], v),
            )
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.plot([-0.5, -0.5, wide - 0.5, wide - 0.5, -0.5], [-0.5, n - 0.5, n - 0.5, -0.5, -0.5],
            color="black", lw=0.8, clip_on=False)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)


# ---------------------------------------------------------------------------------------------
# the zero-insertion view


def _kind_colors(kind: np.ndarray) -> np.ndarray:
    from matplotlib.colors import to_rgba

    colors = np.empty((*kind.shape, 4))
    colors[kind >= 0] = to_rgba(INPUT, 0.55)
    colors[kind == -1] = to_rgba(INSERTED)
    colors[kind == -2] = to_rgba(BORDER)
    return colors


def zero_insertion_figure(
    s: Settings,
    weight: Tensor | None = None,
    x: Tensor | None = None,
    *,
    position: int | None = None,
) -> Drawing:
    """Zero insertion, the implicit border, the flipped kernel at one output position, output.

    Args:
        s: the settings.
        weight: the kernel drawn (default ``1, 2, 3, ...``).
        x: the input drawn (default ``1, 2, 3, ...``).
        position: the output position (flat, row-major) whose kernel window is drawn
            (default: the middle one).

    Returns:
        the figure and :func:`~tconv.viz.data.zero_insertion_data` plus ``position``.

    Shape:
        - weight: ``(*K)``, the kernel of one channel (default ``1, 2, 3, ...``)
        - x: ``(*I)``, the input of one channel (default ``1, 2, 3, ...``)

    Raises:
        ValueError: for a position outside the output.

    Example:
        >>> d = zero_insertion_figure(Settings.create(2, 3, stride=2, padding=1))
        >>> d.data["kind"], d.data["output"]
        ([-2, 0, -1, 1, -2], [2.0, 5.0, 4.0])
    """
    data = zero_insertion_data(s, weight, x)
    n_out = math.prod(s.output_size)
    position = n_out // 2 if position is None else position
    if not 0 <= position < n_out:
        raise ValueError(f"position={position} is invalid: valid positions are 0..{n_out - 1}")
    data["position"] = position
    fig = _draw_zero_insertion(s, data, position)
    return Drawing(fig, data)


def _draw_zero_insertion(
    s: Settings, data: dict[str, Any], position: int, into: Any = None, *, moving: bool = False
) -> Figure:
    fig, _ = _zero_insertion_parts(s, data, position, into, moving)
    return fig


def _zero_insertion_parts(
    s: Settings, data: dict[str, Any], position: int, into: Any = None, moving: bool = False
) -> tuple[Figure, Callable[[int], list[Any]]]:
    """The figure without the kernel window, and a function that draws the window of one
    output position (returning its artists; the previous window's are removed)."""
    from matplotlib.patches import Patch, Rectangle

    padded, kind = _as2d(data["padded"]), np.atleast_2d(np.array(data["kind"]))
    out = _as2d(data["output"])
    inp = _as2d(np.array(data["x"]).reshape(s.input_size))
    xin = _as2d(np.array(data["inserted"]))
    fl = np.array(data["flipped"], dtype=float)
    cols = padded.shape[1]
    rank = s.rank
    shown: list[Any] = []

    def frame(ax: Axes, r: int, c: int, lw: float = 2.5) -> Any:
        return ax.add_patch(
            Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec=KERNEL, lw=lw, zorder=5)
        )

    if rank == 1:
        fig = into or _figure(max(7.0, 0.42 * cols + 2.5), 4.6)
        axes = fig.subplots(4, 1, height_ratios=[1, 1, 1, 1])
        axes[0].set_title("1. zero insertion: stride - 1 zeros between inputs", fontsize=10)
        begin = data["border"][0][0]
        _grid(
            axes[0],
            xin,
            colors=_kind_colors(np.where(xin != 0, 0, -1)),
            ticks=False,
            x0=begin,
        )
        _grid(
            axes[1],
            padded,
            colors=_kind_colors(kind),
            title="2. + border zeros: (begin, end) = ({}, {}) = span - 1 - crop".format(
                *data["border"][0]
            ),
            ticks=False,
        )
        _grid(axes[2], _as2d(np.zeros(cols)), labels=np.full((1, cols), ""), ticks=False)
        axes[2].set_title("3. × the flipped kernel under the window, summed:", fontsize=10)
        _grid(axes[3], out, title=" ", ticks=False)
        axes[3].set_xlim(-0.5, cols - 0.5)
        axes[0].set_xlim(-0.5, cols - 0.5)
        o = out.shape[1]

        def window(n: int) -> list[Any]:
            reads = data["reads"][n]
            new = [frame(axes[1], 0, c) for c in reads]
            # the flipped kernel drawn under the cells it reads
            for t, c in enumerate(reads):
                new.append(
                    axes[2].add_patch(Rectangle((c - 0.5, -0.5), 1, 1, color=KERNEL, alpha=0.25))
                )
                new.append(axes[2].text(c, 0, _fmt(fl[t]), ha="center", va="center", fontsize=9))
            axes[3].set_title(
                f"4. output (length {o}); cell {n} = "
                + " + ".join(f"{_fmt(fl[t])}·{_fmt(padded[0, c])}" for t, c in enumerate(reads))
                + f" = {_fmt(out[0, n])}",
                fontsize=10,
            )
            new += [axes[3].title, frame(axes[3], 0, n)]
            return new

        legend_ax = axes[0]
        where = str(position)
    else:
        fig = into or _figure(max(9.0, 0.3 * (cols + out.shape[1] + inp.shape[1]) + 5), 4.6)
        k = s.geometry.kernel_size[1]
        axes = fig.subplots(1, 4, width_ratios=[xin.shape[1], cols, max(k, 5), out.shape[1]])
        _grid(
            axes[0],
            xin,
            colors=_kind_colors(np.where(xin != 0, 0, -1)),
            title="1. zeros inserted",
            fontsize=7,
        )
        _grid(
            axes[1],
            padded,
            colors=_kind_colors(kind),
            title="2. + border " + _pairs(data["border"]),
            fontsize=7,
        )
        _grid(axes[2], _as2d(data["flipped"]), title="3. kernel,\nflipped", fontsize=8)
        _grid(axes[3], out, title="4. output", fontsize=7)
        width, out_width = padded.shape[1], out.shape[1]

        def window(n: int) -> list[Any]:
            new = [frame(axes[1], c // width, c % width, lw=2) for c in data["reads"][n]]
            return [*new, frame(axes[3], n // out_width, n % out_width, lw=2)]

        legend_ax = axes[1]
        where = "({}, {})".format(*divmod(position, out_width))

    def draw_window(n: int) -> list[Any]:
        for artist in shown:
            if artist not in (getattr(a, "title", None) for a in axes):
                artist.remove()
        shown[:] = window(n)
        return shown

    draw_window(position)
    legend_ax.legend(
        handles=[
            Patch(fc=INPUT, alpha=0.55, label="input"),
            Patch(fc=INSERTED, ec="#999999", label="inserted zero"),
            Patch(fc=BORDER, label="border zero"),
            Patch(
                fill=False,
                ec=KERNEL,
                lw=2,
                label="kernel window of the outlined output"
                if moving
                else f"kernel window of output {where}",
            ),
        ],
        loc="lower left",
        bbox_to_anchor=(0, 1.25) if rank == 1 else (0, -0.45),
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    _title(fig, s, "zero-insertion view")
    return fig, draw_window


# ---------------------------------------------------------------------------------------------
# the scatter view


def scatter_figure(
    s: Settings, weight: Tensor | None = None, x: Tensor | None = None, *, upto: int | None = None
) -> Drawing:
    """Each input element paints ``x[j] * w`` into the full output; overlaps add; then the crop.

    1-D: one row per input element, the full output (their sum), the tap-count (overlap)
    map, and the output with the crop ``(lo, hi)`` shaded and output_padding cells outlined.
    2-D: the full output, the overlap map and the output, the same marks.

    Args:
        s: the settings.
        weight: the kernel drawn (default ``1, 2, 3, ...``).
        x: the input drawn (default ``1, 2, 3, ...``).
        upto: draw only the first ``upto`` input elements' footprints (the animation's frames).

    Returns:
        the figure and :func:`~tconv.viz.data.scatter_data`.

    Shape:
        - weight: ``(*K)``, the kernel of one channel (default ``1, 2, 3, ...``)
        - x: ``(*I)``, the input of one channel (default ``1, 2, 3, ...``)

    Example:
        >>> d = scatter_figure(Settings.create(2, 3, stride=2, padding=1, output_padding=1))
        >>> d.data["counts"], d.data["crop"], d.data["extra"]
        ([1, 1, 2, 1, 1], [[1, 0]], [1])
    """
    data = scatter_data(s, weight, x)
    fig = _draw_scatter(s, data, upto)
    return Drawing(fig, data)


def _mark_crop(ax: Axes, s: Settings, data: dict[str, Any], rows: int | None = None) -> None:
    """Shade the cropped cells, dash the zero-extended ones, outline output_padding cells."""
    from matplotlib.patches import Rectangle

    full = data["full_size"]
    crop = data["crop"]
    extra = data["extra"]
    if s.rank == 1:
        (lo, hi), L, e = crop[0], full[0], extra[0]
        height = rows if rows is not None else 1
        for a, b in ((0, lo), (L - hi, L)):
            if b > a:
                ax.add_patch(
                    Rectangle((a - 0.5, -0.5), b - a, height, color=CROPPED, alpha=0.6, zorder=4)
                )
        end = L - hi
        if e > 0:
            ax.add_patch(
                Rectangle((end - e - 0.5, -0.5), e, height, fill=False, ec=EXTRA, lw=2.5, zorder=6)
            )
        for a, b in ((lo, 0), (L, end)):
            if b > a:
                ax.add_patch(
                    Rectangle(
                        (a - 0.5, -0.5), b - a, height, fill=False, ec="black", ls="--", zorder=6
                    )
                )
        return
    (lo0, hi0), (lo1, hi1) = crop
    H, W = full
    ax.add_patch(
        Rectangle(
            (lo1 - 0.5, lo0 - 0.5),
            W - hi1 - lo1,
            H - hi0 - lo0,
            fill=False,
            ec="black",
            lw=2,
            ls="--",
            zorder=6,
        )
    )
    mask = np.ones((H, W), dtype=bool)
    mask[max(lo0, 0) : H - max(hi0, 0), max(lo1, 0) : W - max(hi1, 0)] = False
    shade = np.zeros((H, W, 4))
    shade[mask] = (0.55, 0.55, 0.55, 0.55)
    ax.imshow(shade, extent=(-0.5, W - 0.5, H - 0.5, -0.5), zorder=4, interpolation="nearest")
    for axis, e in enumerate(extra):
        if e > 0:
            end0, end1 = H - hi0, W - hi1
            if axis == 0:
                ax.add_patch(
                    Rectangle(
                        (lo1 - 0.5, end0 - e - 0.5),
                        end1 - lo1,
                        e,
                        fill=False,
                        ec=EXTRA,
                        lw=2.5,
                        zorder=7,
                    )
                )
            else:
                ax.add_patch(
                    Rectangle(
                        (end1 - e - 0.5, lo0 - 0.5),
                        e,
                        end0 - lo0,
                        fill=False,
                        ec=EXTRA,
                        lw=2.5,
                        zorder=7,
                    )
                )


def _extended_limits(ax: Axes, data: dict[str, Any], axis_map: Sequence[int]) -> None:
    """Widen the axes to show zero-extended cells beyond the full output."""
    full, crop = data["full_size"], data["crop"]
    for axis, (lo, hi) in zip(axis_map, crop):
        L = full[axis] if len(full) > 1 else full[0]
        a, b = min(0, lo) - 0.5, max(L, L - hi) - 0.5
        if len(full) == 1 or axis == 1:
            ax.set_xlim(a, b)
        else:
            ax.set_ylim(b, a)


def _draw_scatter(s: Settings, data: dict[str, Any], upto: int | None, into: Any = None) -> Figure:
    fig, _ = _scatter_parts(s, data, upto, into)
    return fig


class _Cell(NamedTuple):
    """One cell an animation frame repaints: its axes, row, column, value, whether it is
    labelled, its label's size and the shade over it (None: not cropped)."""

    ax: Axes
    row: int
    col: int
    value: float
    labelled: bool
    fontsize: float
    shade: Any


class _Paint(NamedTuple):
    """What changes from frame ``n - 1`` to frame ``n`` of the scatter animation."""

    titles: list[Any]  # the axes titles that change
    title_texts: Callable[[int], list[str]]
    cells: Callable[[int], list[_Cell]]
    marks: list[Any]  # drawn again over repainted cells (the crop's outlines)
    top: float


def _scatter_parts(
    s: Settings, data: dict[str, Any], upto: int | None, into: Any = None
) -> tuple[Figure, _Paint]:
    """The figure with the first ``upto`` footprints painted, and what each further footprint
    changes (for the animation, which repaints only those cells)."""
    from matplotlib.patches import Patch

    full = np.array(data["full"], dtype=float)
    counts = np.array(data["counts"], dtype=float)
    footprints = np.array(data["footprints"], dtype=float)
    taps = np.array(data["taps"])
    n_in = len(footprints)
    shown = n_in if upto is None else upto
    legend = [
        Patch(fc=CROPPED, alpha=0.6, label="cropped: (lo, hi) = " + _pairs(data["crop"])),
        Patch(fill=False, ec=EXTRA, lw=2, label="added by output_padding / output_size"),
        Patch(
            fill=False, ec="black", ls="--", label="output (dashes beyond the full output: zeros)"
        ),
    ]
    partial = footprints[:shown].sum(0)
    sums = np.cumsum(np.concatenate([np.zeros_like(footprints[:1]), footprints]), axis=0)
    crop = data["crop"]
    full_size = data["full_size"]
    keep = [
        (max(lo, 0), n - max(hi, 0)) for (lo, hi), n in zip(crop, full_size)
    ]  # the full cells the output keeps

    def cropped(index: Sequence[int]) -> bool:
        return any(not a <= i < b for i, (a, b) in zip(index, keep))

    cells: Callable[[int], list[_Cell]]
    title_texts: Callable[[int], list[str]]
    if s.rank == 1:
        L = full.shape[0]
        fig = into or _figure(
            max(7.0, 0.42 * (L + 2 * max(0, -min(crop[0]))) + 2.5), 1.6 + 0.42 * (n_in + 4)
        )
        axes = fig.subplots(4, 1, height_ratios=[n_in, 1, 1, 1])
        top = max(float(np.abs(full).max()), float(np.abs(footprints).max()), 1e-9)
        fp = footprints.copy()
        fp[shown:] = 0
        labels = np.where(taps >= 0, np.vectorize(_fmt)(fp), "")
        labels[shown:] = ""
        _grid(
            axes[0],
            fp,
            labels=labels,
            vmax=top,
            ylabel="input j",
            title="footprints x[j]·w at j·stride + t·dilation",
        )
        axes[0].set_yticks(range(n_in))
        axes[0].set_yticklabels([f"x[{j}]={_fmt(v)}" for j, v in enumerate(data["x"])], fontsize=7)

        def title_texts(n: int) -> list[str]:
            return [
                "full output = sum of footprints"
                + ("" if n == n_in else f" (the first {n} of {n_in})")
            ]

        _grid(axes[1], _as2d(partial), vmax=top, title=title_texts(shown)[0], ticks=False)
        _grid(
            axes[2],
            _as2d(counts),
            title="overlap: taps per cell",
            ticks=False,
            colors=_count_colors(counts),
        )
        (lo, hi), L = crop[0], full_size[0]
        _grid(
            axes[3],
            _as2d(partial),
            vmax=top,
            title=f"output = full[lo : L - hi] = full[{lo} : {L} - {hi}]",
            ticks=True,
        )
        axes[3].set_yticks([])
        _mark_crop(axes[3], s, data)
        for ax in axes:
            _extended_limits(ax, data, [0])
        axes[3].legend(
            handles=legend,
            loc="upper left",
            bbox_to_anchor=(0, -0.6),
            ncol=1,
            fontsize=8,
            frameon=False,
        )
        titles = [axes[1].title]
        marks = [p for p in axes[3].patches if not p.get_fill()]
        small = L <= 900

        def cells(n: int) -> list[_Cell]:
            j = n - 1
            out = []
            for c in map(int, np.flatnonzero(taps[j] >= 0)):
                v = sums[n][c]
                out.append(_Cell(axes[0], j, c, footprints[j][c], n_in * L <= 900, 9, None))
                out.append(_Cell(axes[1], 0, c, v, small, 9, None))
                shade = (*_rgb(CROPPED), 0.6) if cropped([c]) else None
                out.append(_Cell(axes[3], 0, c, v, small, 9, shade))
            return out

    else:
        H, W = full.shape
        fig = into or _figure(max(10.0, 0.33 * 3 * W + 3), max(4.2, 0.33 * H + 3.4))
        axes = fig.subplots(1, 3)
        top = max(float(np.abs(full).max()), 1e-9)

        def title_texts(n: int) -> list[str]:
            return [f"full output: {n} of {n_in} footprints"]

        fp = partial.reshape(H, W)
        _grid(axes[0], fp, vmax=top, title=title_texts(shown)[0], fontsize=7)
        _grid(
            axes[1],
            counts,
            colors=_count_colors(counts),
            title="overlap: taps per cell",
            fontsize=7,
        )
        _grid(
            axes[2],
            fp,
            vmax=top,
            title="output = full[lo : L - hi] (inside the dashes)",
            fontsize=7,
        )
        _mark_crop(axes[2], s, data)
        for ax in axes:
            _extended_limits(ax, data, [0, 1])
        axes[2].legend(
            handles=legend, loc="upper left", bbox_to_anchor=(0, -0.08), fontsize=8, frameon=False
        )
        titles = [axes[0].title]
        marks = [p for p in axes[2].patches if not p.get_fill()]
        small = H * W <= 900

        def cells(n: int) -> list[_Cell]:
            out = []
            for flat in np.flatnonzero(taps[n - 1] >= 0):
                r, c = divmod(int(flat), W)
                v = sums[n][flat]
                out.append(_Cell(axes[0], r, c, v, small, 7, None))
                shade = (0.55, 0.55, 0.55, 0.55) if cropped([r, c]) else None
                out.append(_Cell(axes[2], r, c, v, small, 7, shade))
            return out

    _title(fig, s, "scatter view")
    return fig, _Paint(titles, title_texts, cells, marks, top)


def _rgb(color: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def _scatter_frames(
    s: Settings, data: dict[str, Any], steps: Sequence[int], recorder: _Recorder
) -> None:
    """The scatter animation's pixels: the figure with no footprint drawn once; each frame then
    repaints only the cells the next footprint changes (and the title that counts them)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import Bbox

    if list(steps) != list(range(steps[0], steps[0] + len(steps))):
        raise ValueError(f"the scatter frames paint one footprint each; got steps {steps}")
    fig, paint = _scatter_parts(s, data, steps[0])
    canvas: Any = fig.canvas
    _freeze_layout(fig)
    renderer = canvas.get_renderer()
    regions = []
    titles = []  # a figure text in each changing title's place (drawn alone, frame by frame)
    for title in paint.titles:
        title.set_text(max(paint.title_texts(steps[-1]) + paint.title_texts(0), key=len) + "  ")
        box = title.get_window_extent(renderer)
        axbox = title.axes.get_window_extent(renderer)
        regions.append(
            Bbox.from_extents(
                min(box.x0, axbox.x0) - 8, box.y0 - 2, max(box.x1, axbox.x1) + 8, box.y1 + 2
            )
        )
        title.set_visible(False)
        middle = ((box.x0 + box.x1) / 2 / fig.bbox.width, (box.y0 + box.y1) / 2 / fig.bbox.height)
        titles.append(
            fig.text(*middle, "", ha="center", va="center", fontsize=title.get_fontsize())
        )
    canvas.draw()
    saved = [canvas.copy_from_bbox(box) for box in regions]
    for n in steps:
        if n > steps[0]:
            cells = paint.cells(n)
            colors = _value_colors(np.array([c.value for c in cells]), paint.top)
            for ax in dict.fromkeys(c.ax for c in cells):  # one collection per axes
                mine = [(c, color) for c, color in zip(cells, colors) if c.ax is ax]
                boxes = [Rectangle((c.col - 0.5, c.row - 0.5), 1, 1) for c, _ in mine]
                new: list[Any] = [
                    PatchCollection(
                        boxes,
                        facecolors=[color for _, color in mine],
                        edgecolors="#999999",
                        linewidths=0.5,
                    )
                ]
                shaded = [(box, c.shade) for box, (c, _) in zip(boxes, mine) if c.shade is not None]
                if shaded:
                    new.append(
                        PatchCollection(
                            [Rectangle(box.get_xy(), 1, 1) for box, _ in shaded],
                            facecolors=[shade for _, shade in shaded],
                            linewidths=0,
                        )
                    )
                for artist in new:
                    ax.add_collection(artist, autolim=False)
                for c, color in mine:
                    if c.labelled:
                        new.insert(
                            len(new) - (1 if shaded else 0),
                            ax.text(
                                c.col,
                                c.row,
                                _fmt(c.value),
                                ha="center",
                                va="center",
                                fontsize=c.fontsize,
                                color=_text_color(color, c.value),
                            ),
                        )
                for artist in new:
                    fig.draw_artist(artist)
            for mark in paint.marks:
                fig.draw_artist(mark)
        for region, title, text in zip(saved, titles, paint.title_texts(n)):
            canvas.restore_region(region)
            title.set_text(text)
            fig.draw_artist(title)
        recorder.add(canvas)


def _pairs(pairs: Sequence[Sequence[int]]) -> str:
    """``[[0, 1]]`` as ``(0, 1)``; ``[[0, 1], [1, 1]]`` as ``rows (0, 1), columns (1, 1)``.

    >>> _pairs([[0, 1], [1, 1]])
    'rows (0, 1), columns (1, 1)'
    """
    text = [f"({', '.join(map(str, p))})" for p in pairs]
    if len(text) == 2:
        return f"rows {text[0]}, columns {text[1]}"
    return ", ".join(text)


def _count_colors(counts: np.ndarray) -> np.ndarray:
    import matplotlib
    from matplotlib.colors import Normalize

    counts = np.atleast_2d(counts)
    cmap = matplotlib.colormaps["Oranges"]
    colors = cmap(Normalize(-1.0, max(float(counts.max()), 4.0) * 1.25)(counts))
    colors[counts == 0] = (1, 1, 1, 1)
    return colors


# ---------------------------------------------------------------------------------------------
# all views at once, saving, animations


def save(drawing: Drawing | Figure, path: str | os.PathLike[str]) -> str:
    """Write a figure to ``path`` (PNG or SVG by its suffix) without timestamps in the file.

    Args:
        drawing: a :class:`Drawing` or a matplotlib figure.
        path: the file to write, ``.png`` or ``.svg``.

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: for a suffix other than .png or .svg.

    Example:
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     drawing = matrix_figure(Settings.create(3, 2, stride=2))
        ...     out = save(drawing, os.path.join(tmp, "m.png"))
        ...     with open(out, "rb") as f:
        ...         f.read(4)
        b'\\x89PNG'

    """
    fig = drawing.figure if isinstance(drawing, Drawing) else drawing
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".png":
        fig.savefig(path, dpi=110, metadata={"Software": None})
    elif suffix == ".svg":
        fig.savefig(path, metadata={"Date": None, "Creator": None}, dpi=100)
    else:
        raise ValueError(f"{path!r}: valid figure suffixes are .png and .svg")
    return path


def animate(
    view: str,
    s: Settings,
    path: str | os.PathLike[str],
    weight: Tensor | None = None,
    x: Tensor | None = None,
    *,
    fps: int = 2,
) -> dict[str, Any]:
    """Write a GIF of one view (with Pillow, which matplotlib depends on).

    ``"matrix"`` and ``"zero_insertion"``: one frame per output position (the row of ``Cᵀ`` /
    the kernel window that makes it), at most :data:`MAX_FRAMES` (a larger 2-D output shows
    its first rows); ``"scatter"``: one frame per input element painting its footprint
    (then the crop). The figure is drawn once; each frame redraws only what moves.

    Args:
        view: ``"matrix"``, ``"zero_insertion"`` or ``"scatter"`` (:data:`VIEWS`).
        s: the settings (:meth:`Settings.create`).
        path: the GIF to write (``.gif``).
        weight: the kernel drawn (default ``1, 2, 3, ...``).
        x: the input drawn (default ``1, 2, 3, ...``).
        fps: frames per second.

    Returns:
        the view's data (as its figure function) plus ``frames``, the number of frames.

    Shape:
        - weight: ``(*K)``, the kernel of one channel (default ``1, 2, 3, ...``)
        - x: ``(*I)``, the input of one channel (default ``1, 2, 3, ...``)

    Raises:
        ValueError: for an unknown view or a path not ending in .gif.

    Example:
        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     s = Settings.create(3, 2, stride=2)
        ...     info = animate("scatter", s, os.path.join(tmp, "a.gif"))
        >>> info["frames"]
        4
    """
    if view not in VIEWS:
        raise ValueError(f"view={view!r} is invalid: valid views are {VIEWS}")
    path = os.fspath(path)
    if not path.lower().endswith(".gif"):
        raise ValueError(f"{path!r}: an animation is written as .gif")
    steps = frame_steps(view, s)
    recorder = _Recorder()
    if view == "matrix":
        data = matrix_data(s, weight, x)
        axes, fig = _draw_matrix(s, data, steps[0])
        marks: list[Any] = [axes[1].patches[-1], axes[3].patches[-1]]

        def move_row(n: int) -> Sequence[Any]:
            for mark in marks:
                mark.set_y(n - 0.5)
            return marks

        _frames(fig, move_row, steps, recorder)
    elif view == "zero_insertion":
        data = zero_insertion_data(s, weight, x)
        fig, window = _zero_insertion_parts(s, data, steps[0], moving=True)
        _frames(fig, window, steps, recorder)
    else:
        data = scatter_data(s, weight, x)
        _scatter_frames(s, data, steps, recorder)
    recorder.save(path, fps)
    data = dict(data)
    data["frames"] = len(steps)
    return data


class _Recorder:
    """An animation's frames kept as what changed from the frame before (one full frame in
    memory), written as a GIF with one palette."""

    def __init__(self) -> None:
        self.first: np.ndarray | None = None
        self.now: np.ndarray | None = None  # the latest frame, one uint32 per pixel
        self.changes: list[tuple[tuple[int, int, int, int], np.ndarray] | None] = []

    def add(self, canvas: Any) -> None:
        """Record the canvas as the next frame."""
        rgba = np.asarray(canvas.buffer_rgba())
        packed = rgba.view(np.uint32)[..., 0]
        if self.now is None:
            self.first = rgba[..., :3].copy()
            self.now = packed.copy()
            self.changes.append(None)
            return
        diff = packed != self.now
        rows = np.flatnonzero(diff.any(1))
        if rows.size == 0:
            self.changes.append(None)
            return
        cols = np.flatnonzero(diff.any(0))
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        self.now[r0:r1, c0:c1] = packed[r0:r1, c0:c1]
        self.changes.append(((r0, r1, c0, c1), rgba[r0:r1, c0:c1, :3].copy()))

    def save(self, path: str, fps: int) -> int:
        """Write the GIF; return the number of frames."""
        from PIL import Image

        assert self.first is not None and self.now is not None
        last = self.now.view(np.uint8).reshape(*self.now.shape, 4)[..., :3]

        # the palette: the 256 commonest colours of the first and the last frame, exactly
        # (between them they hold every colour: the scatter view paints from empty to full,
        # the others move an outline); the rest (antialiasing) take the nearest of them
        def pack(rgb: np.ndarray) -> np.ndarray:
            flat = rgb.reshape(-1, 3).astype(np.int64)
            return (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]

        colours, counts = np.unique(
            np.concatenate([pack(self.first), pack(last)]), return_counts=True
        )
        packed_palette = colours[np.argsort(-counts, kind="stable")[:256]]
        chosen = np.stack(
            [packed_palette >> 16, (packed_palette >> 8) & 255, packed_palette & 255], 1
        )
        order = np.argsort(packed_palette)
        sorted_palette = packed_palette[order]

        def indices(rgb: np.ndarray) -> np.ndarray:
            """Each pixel's palette entry: its own colour, or else the nearest."""
            flat = rgb.reshape(-1, 3).astype(np.int64)
            packed = pack(rgb)
            at = np.minimum(np.searchsorted(sorted_palette, packed), len(order) - 1)
            out = order[at]
            other = sorted_palette[at] != packed
            if other.any():
                unique, inverse = np.unique(flat[other], axis=0, return_inverse=True)
                distance = ((unique[:, None, :] - chosen[None, :, :]) ** 2).sum(-1)
                out[other] = distance.argmin(1)[inverse.reshape(-1)]
            return out.reshape(rgb.shape[:2]).astype(np.uint8)

        colours_bytes = chosen.astype(np.uint8).tobytes()
        index = indices(self.first)

        def frames() -> Iterator[Any]:
            for change in self.changes:
                if change is not None:
                    (r0, r1, c0, c1), rgb = change
                    index[r0:r1, c0:c1] = indices(rgb)
                frame = Image.fromarray(index.copy())
                frame.putpalette(colours_bytes)
                yield frame

        sequence = frames()
        first = next(sequence)
        first.save(
            path,
            save_all=True,
            append_images=sequence,
            duration=round(1000 / fps),
            loop=0,
            optimize=False,
        )
        return len(self.changes)


#: most frames a GIF shows (a larger 2-D output steps through its first rows)
MAX_FRAMES = 64


def frame_steps(view: str, s: Settings) -> list[int]:
    """What each frame of ``view``'s animation shows: output positions (flat) or, for the
    scatter view, how many input elements have painted (0 to all).

    >>> frame_steps("scatter", Settings.create(3, 2, stride=2))
    [0, 1, 2, 3]
    >>> len(frame_steps("matrix", Settings.create((6, 6), 3, stride=2, padding=1)))
    55
    """
    if view == "scatter":
        return list(range(math.prod(s.input_size) + 1))
    n = math.prod(s.output_size)
    if n <= MAX_FRAMES:
        return list(range(n))
    width = s.output_size[-1]
    return list(range(max(width, MAX_FRAMES // width * width)))


def _freeze_layout(fig: Figure) -> None:
    """Lay the figure out once (with every artist in place) and keep that layout."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
    fig.set_layout_engine("none")
    for ax in fig.axes:  # where drawing puts the axes of a fixed aspect
        ax.apply_aspect()


def _frames(
    fig: Figure,
    update: Callable[[int], Sequence[Any]],
    steps: Sequence[int],
    recorder: _Recorder,
) -> None:
    """Each frame's pixels: the figure drawn once without what moves, then per frame only the
    moving artists drawn over a copy of it (matplotlib's blitting on the Agg canvas)."""
    canvas: Any = fig.canvas
    _freeze_layout(fig)
    moving = list(update(steps[0]))
    for artist in moving:
        artist.set_visible(False)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    for artist in moving:
        artist.set_visible(True)
    for n in steps:
        canvas.restore_region(background)
        for artist in update(n):
            artist.set_visible(True)
            fig.draw_artist(artist)
        recorder.add(canvas)


# ---------------------------------------------------------------------------------------------
# checkerboards


def checkerboard_figure(
    modules: Mapping[str, torch.nn.Module | Callable[[Tensor], Tensor]] | None = None,
    size: int | Sequence[int] = 12,
) -> Drawing:
    """Side by side: each upsampler's response to a constant input and to a smooth image.

    Args:
        modules: name -> module or function of ``(N, 1, *S)`` (default: four 2x upsamplers,
            transposed k3 s2 and k4 s2, resize-conv, ICNR sub-pixel).
        size: the input's spatial size (an int: square 2-D).

    Returns:
        the figure and :func:`checkerboard_data`.

    Shape:
        - each module: ``(1, 1, *S)`` -> ``(1, 1, *S_out)``

    Example:
        >>> d = checkerboard_figure(size=8)
        >>> for name, layer in d.data["layers"].items():
        ...     print(f"{name}: {layer['score']:.3f}")
        transposed k3 s2 (uneven overlap): 1.333
        transposed k4 s2 (even overlap): 0.000
        resize-conv (nearest + 3x3): 0.000
        sub-pixel, ICNR init: 0.000
    """
    data = checkerboard_data(modules, size)
    layers = data["layers"]
    n = len(layers)
    fig = _figure(2.6 * n + 0.8, 6.0)
    axes = fig.subplots(2, n, squeeze=False)
    for c, (name, d) in enumerate(layers.items()):
        for r, key in enumerate(("constant", "smooth")):
            img = np.array(d[key])
            h, w = img.shape
            level = img[h // 4 : h - h // 4, w // 4 : w - w // 4].mean()
            ax = axes[r, c]
            # each response divided by its mean over the central half: one grey scale for all
            ax.imshow(img / (level or 1.0), cmap="gray", vmin=0, vmax=2, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"{name}\nscore {d['score']:.3f}", fontsize=9)
            else:
                ax.set_xlabel(f"spectrum share {d['spectrum']:.4f}", fontsize=9)
        axes[0, 0].set_ylabel("response to\na constant input", fontsize=9)
        axes[1, 0].set_ylabel("response to\na smooth image", fontsize=9)
    fig.suptitle(
        "2x upsamplers: checkerboard = differences between the output phases "
        "(score 0 = none; docs/artifacts.md)\neach response divided by its mean over the "
        "central half, grey scale 0 (black) .. 2 (white)",
        fontsize=10,
    )
    return Drawing(fig, data)
