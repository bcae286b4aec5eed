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
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

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


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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
) -> None:
    """Draw a 2-D array as labelled cells: a heatmap of ``values`` (or given RGBA ``colors``)."""
    from matplotlib.colors import Normalize

    values = np.atleast_2d(np.asarray(values, dtype=float))
    rows, cols = values.shape
    if colors is None:
        import matplotlib

        top = vmax if vmax is not None else max(float(np.abs(values).max()), 1e-9)
        cmap = matplotlib.colormaps[CMAP]
        colors = cmap(Normalize(-0.15 * top, top)(np.abs(values)))
        colors[values == 0] = (1, 1, 1, 1)
    extent = (x0 - 0.5, x0 + cols - 0.5, y0 + rows - 0.5, y0 - 0.5)
    ax.imshow(colors, extent=extent, interpolation="nearest", aspect="equal")
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
                    rgb = colors[r, c][:3]
                    dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.5
                    ax.text(
                        x0 + c,
                        y0 + r,
                        text,
                        ha="center",
                        va="center",
                        fontsize=fontsize,
                        color="white" if dark else ("#AAAAAA" if values[r, c] == 0 else "black"),
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
    cell = 0.32 if n_in * n_out <= 600 else 0.12
    width = max(8.0, cell * (n_out + n_in + 4) + 2.5)
    height = max(3.6, cell * max(n_in, n_out) + 2.7)
    fig = _figure(width, height)
    ratios = [n_out, n_in, 1, 1.4]
    axes = list(fig.subplots(1, 4, width_ratios=ratios))
    top = max(float(np.abs(C).max()), 1e-9)
    fs = 8 if cell > 0.2 else 5
    _grid(
        axes[0],
        C,
        vmax=top,
        fontsize=fs,
        title=f"C ({n_in} x {n_out}): the convolution",
        xlabel="output position (its input)",
        ylabel="input position (its output)",
    )
    _grid(
        axes[1],
        CT,
        vmax=top,
        fontsize=fs,
        title="Cᵀ: the transposed convolution",
        xlabel="input position",
        ylabel="output position",
    )
    x = _as2d(data["x"]).T
    y = _as2d(data["y"]).T
    _grid(axes[2], x, fontsize=fs, title="x", ticks=False)
    _grid(axes[3], y, fontsize=fs, title="y=Cᵀx", ticks=False)
    if row is not None:
        from matplotlib.patches import Rectangle

        for ax, width_ in ((axes[1], n_in), (axes[3], 1)):
            ax.add_patch(
                Rectangle((-0.5, row - 0.5), width_, 1, fill=False, ec=EXTRA, lw=2.5, zorder=5)
            )
    _title(fig, s, "matrix view")
    return axes, fig


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
    s: Settings, data: dict[str, Any], position: int, into: Any = None
) -> Figure:
    from matplotlib.patches import Patch, Rectangle

    padded, kind = _as2d(data["padded"]), np.atleast_2d(np.array(data["kind"]))
    out = _as2d(data["output"])
    inp = _as2d(np.array(data["x"]).reshape(s.input_size))
    xin = _as2d(np.array(data["inserted"]))
    reads = data["reads"][position]
    cols = padded.shape[1]
    rank = s.rank
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
        for c in reads:
            axes[1].add_patch(
                Rectangle((c - 0.5, -0.5), 1, 1, fill=False, ec=KERNEL, lw=2.5, zorder=5)
            )
        # the flipped kernel drawn under the cells it reads
        fl = np.array(data["flipped"], dtype=float)
        _grid(axes[2], _as2d(np.zeros(cols)), labels=np.full((1, cols), ""), ticks=False)
        for t, c in enumerate(reads):
            axes[2].add_patch(Rectangle((c - 0.5, -0.5), 1, 1, color=KERNEL, alpha=0.25))
            axes[2].text(c, 0, _fmt(fl[t]), ha="center", va="center", fontsize=9)
        axes[2].set_title("× flipped kernel, summed:", fontsize=10)
        o = out.shape[1]
        _grid(
            axes[3],
            out,
            title=f"4. output (length {o}); cell {position} = "
            + " + ".join(f"{_fmt(fl[t])}·{_fmt(padded[0, c])}" for t, c in enumerate(reads))
            + f" = {_fmt(out[0, position])}",
            ticks=False,
        )
        axes[3].add_patch(
            Rectangle((position - 0.5, -0.5), 1, 1, fill=False, ec=KERNEL, lw=2.5, zorder=5)
        )
        axes[3].set_xlim(-0.5, cols - 0.5)
        axes[0].set_xlim(-0.5, cols - 0.5)
        legend_ax = axes[0]
        where = str(position)
    else:
        fig = into or _figure(max(9.0, 0.3 * (cols + out.shape[1] + inp.shape[1]) + 4), 4.6)
        axes = fig.subplots(
            1, 4, width_ratios=[xin.shape[1], cols, s.geometry.kernel_size[1], out.shape[1]]
        )
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
            title=f"2. + border {[tuple(b) for b in data['border']]}",
            fontsize=7,
        )
        width = padded.shape[1]
        for c in reads:
            r, cc = divmod(c, width)
            axes[1].add_patch(
                Rectangle((cc - 0.5, r - 0.5), 1, 1, fill=False, ec=KERNEL, lw=2, zorder=5)
            )
        _grid(axes[2], _as2d(data["flipped"]), title="3. kernel, flipped", fontsize=8)
        _grid(axes[3], out, title="4. output", fontsize=7)
        r, cc = divmod(position, out.shape[1])
        axes[3].add_patch(
            Rectangle((cc - 0.5, r - 0.5), 1, 1, fill=False, ec=KERNEL, lw=2, zorder=5)
        )
        legend_ax = axes[1]
        where = f"({r}, {cc})"
    legend_ax.legend(
        handles=[
            Patch(fc=INPUT, alpha=0.55, label="input"),
            Patch(fc=INSERTED, ec="#999999", label="inserted zero"),
            Patch(fc=BORDER, label="border zero"),
            Patch(fill=False, ec=KERNEL, lw=2, label=f"kernel window of output {where}"),
        ],
        loc="lower left",
        bbox_to_anchor=(0, 1.25) if rank == 1 else (0, -0.45),
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    _title(fig, s, "zero-insertion view")
    return fig


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
    from matplotlib.patches import Patch

    full = np.array(data["full"], dtype=float)
    counts = np.array(data["counts"], dtype=float)
    footprints = np.array(data["footprints"], dtype=float)
    taps = np.array(data["taps"])
    n_in = len(footprints)
    shown = n_in if upto is None else upto
    legend = [
        Patch(
            fc=CROPPED,
            alpha=0.6,
            label="cropped: (lo, hi) = " + str([tuple(c) for c in data["crop"]]),
        ),
        Patch(fill=False, ec=EXTRA, lw=2, label="added by output_padding / output_size"),
        Patch(
            fill=False, ec="black", ls="--", label="output (dashes beyond the full output: zeros)"
        ),
    ]
    if s.rank == 1:
        L = full.shape[0]
        fig = into or _figure(
            max(7.0, 0.42 * (L + 2 * max(0, -min(data["crop"][0]))) + 2.5), 1.6 + 0.42 * (n_in + 4)
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
        partial = fp.sum(0)
        _grid(
            axes[1],
            _as2d(partial),
            vmax=top,
            title="full output = sum of footprints"
            + ("" if shown == n_in else f" (the first {shown} of {n_in})"),
            ticks=False,
        )
        _grid(
            axes[2],
            _as2d(counts),
            title="overlap: taps per cell",
            ticks=False,
            colors=_count_colors(counts),
        )
        (lo, hi), L = data["crop"][0], data["full_size"][0]
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
    else:
        H, W = full.shape
        fig = into or _figure(max(10.0, 0.33 * 3 * W + 3), max(4.2, 0.33 * H + 3.4))
        axes = fig.subplots(1, 3)
        fp = footprints[:shown].sum(0).reshape(H, W)
        top = max(float(np.abs(full).max()), 1e-9)
        _grid(axes[0], fp, vmax=top, title=f"full output: {shown} of {n_in} footprints", fontsize=7)
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
    _title(fig, s, "scatter view")
    return fig


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
    """Write a GIF of one view with matplotlib's animation writer (Pillow).

    ``"matrix"`` and ``"zero_insertion"``: one frame per output position (the row of ``Cᵀ`` /
    the kernel window that makes it); ``"scatter"``: one frame per input element painting
    its footprint (then the crop).

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
        >>> info["frames"] >= 3
        True
    """
    from matplotlib.animation import FuncAnimation, PillowWriter

    if view not in VIEWS:
        raise ValueError(f"view={view!r} is invalid: valid views are {VIEWS}")
    path = os.fspath(path)
    if not path.lower().endswith(".gif"):
        raise ValueError(f"{path!r}: an animation is written as .gif")
    draw: Callable[[int], Figure]
    if view == "matrix":
        data = matrix_data(s, weight, x)
        frames = math.prod(s.output_size)
        draw = lambda n: _draw_matrix(s, data, n)[1]  # noqa: E731
    elif view == "zero_insertion":
        data = zero_insertion_data(s, weight, x)
        frames = math.prod(s.output_size)
        draw = lambda n: _draw_zero_insertion(s, data, n)  # noqa: E731
    else:
        data = scatter_data(s, weight, x)
        frames = math.prod(s.input_size) + 1
        draw = lambda n: _draw_scatter(s, data, n)  # noqa: E731
    # each frame is a whole figure rendered to pixels; the animation shows them as images
    images = [_pixels(draw(n)) for n in range(frames)]
    height = max(im.shape[0] for im in images)
    width = max(im.shape[1] for im in images)
    fig = _figure(width / 100, height / 100)
    fig.set_layout_engine(None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    shown = ax.imshow(_pad_image(images[0], height, width))

    def update(n: int) -> list[Any]:
        shown.set_data(_pad_image(images[n], height, width))
        return [shown]

    anim = FuncAnimation(fig, update, frames=frames, blit=False)
    anim.save(path, writer=PillowWriter(fps=fps), dpi=100)
    data = dict(data)
    data["frames"] = frames
    return data


def _pixels(fig: Figure) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()  # type: ignore[attr-defined]


def _pad_image(im: np.ndarray, height: int, width: int) -> np.ndarray:
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    out[: im.shape[0], : im.shape[1]] = im
    return out


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
