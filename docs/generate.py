"""Regenerate the tables and the figures in the docs from the library itself.

    python docs/generate.py          # rewrite the generated blocks and docs/figures/
    python docs/generate.py --check  # exit 1 if a generated block or figure is out of date
                                     # (tests run this)

A generated block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``.

Figures: PNG bytes differ between matplotlib versions, so each figure's NUMBERS (what
tconv.viz returned as the data it drew) are kept in docs/figures/figures.json; --check
recomputes them and compares, and checks that every PNG exists.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import re
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from tconv.shapes import Geometry
from tconv.viz import data as D
from tconv.viz import figures as F

DOCS = pathlib.Path(__file__).resolve().parent


def same_table() -> str:
    """Which (kernel, stride) pairs PyTorch's padding/output_padding cannot make 'same'."""
    rows = [
        "| kernel | stride | 'same' crop (lo, hi) | PyTorch padding, output_padding |",
        "|---:|---:|---|---|",
    ]
    for k in range(1, 8):
        for s in range(1, 5):
            g = Geometry.create(k, s, "same")
            torch_args = g.torch_padding()
            crop = g.crop[0]
            if torch_args is None:
                say = "**cannot express** (tconv crops/extends itself)"
            else:
                say = f"padding={torch_args[0][0]}, output_padding={torch_args[1][0]}"
            rows.append(f"| {k} | {s} | {crop} | {say} |")
    return "\n".join(rows)


def unexpressible_list() -> str:
    pairs = [
        (k, s)
        for k in range(1, 8)
        for s in range(1, 5)
        if Geometry.create(k, s, "same").torch_padding() is None
    ]
    return ", ".join(f"k{k} s{s}" for k, s in pairs)


def upsampler_scores() -> str:
    """The checkerboard picture's layers and their scores (tconv.viz.figures)."""
    from tconv.viz.data import checkerboard_data

    rows = [
        "| upsampler (2x, 12x12 input) | checkerboard_score | checkerboard_spectrum |",
        "|---|---:|---:|",
    ]
    for name, layer in checkerboard_data(size=12)["layers"].items():
        rows.append(f"| {name} | {layer['score']:.3f} | {layer['spectrum']:.4f} |")
    return "\n".join(rows)


def upsampler_costs() -> str:
    """What each mode of tconv.nn.Upsample(64, 64, 2, mode) costs on a 1x64x32x32 input: the
    multiply-adds `tconv inspect` counts (tconv.inspection.inspect_model) and its parameters."""
    import tconv
    from tconv.inspection import inspect_model

    rows = [
        "| mode | multiply-adds | parameters | layers (`tconv inspect`) |",
        "|---|---:|---:|---|",
    ]
    for mode in ("transposed", "subpixel", "resize_conv", "interpolate"):
        module = tconv.nn.Upsample(64, 64, 2, mode)
        report = inspect_model(module, (1, 64, 32, 32))
        params = sum(p.numel() for p in module.parameters())
        layers = ", ".join(f"{r.type} {r.settings}" for r in report.layers if r.macs)
        macs = report.total_macs or 0
        rows.append(f"| `{mode}` | {macs / 1e6:.1f} M | {params:,} | {layers or 'resize only'} |")
    return "\n".join(rows)


def plan_example() -> str:
    """What `tconv plan 16 100` prints, from the command itself."""
    import contextlib
    import io

    from tconv.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["plan", "16", "100"])
    return "```console\n$ tconv plan 16 100\n" + out.getvalue() + "```"


BLOCKS = {
    "plan-16-100": plan_example,
    "same-table": same_table,
    "same-unexpressible": unexpressible_list,
    "upsampler-scores": upsampler_scores,
    "upsampler-costs": upsampler_costs,
}


# ---------------------------------------------------------------------------------------------
# figures (tconv.viz; the numbers each one drew go to figures/figures.json)

FIGURES_DIR = DOCS / "figures"


# ---------------------------------------------------------------------------------------------
# composite figures drawn only for the docs (on tconv.viz's data and drawing helpers)


def two_views_figure(s: Any, weight: Any = None, x: Any = None) -> Any:
    """The seed article's two views of one layer side by side (1-D): zero insertion + a
    convolution (left) and every input painting its kernel footprint (right).

    Args:
        s: the 1-D settings.
        weight: the kernel drawn (default ``1, 2, 3, ...``).
        x: the input drawn (default ``1, 2, 3, ...``).

    Shape:
        - weight: ``(*K)``, the kernel of one channel (default ``1, 2, 3, ...``)
        - x: ``(*I)``, the input of one channel (default ``1, 2, 3, ...``)

    Raises:
        ValueError: for a setting that is not 1-D.

    Returns:
        the figure and ``{"zero_insertion": ..., "scatter": ...}``; both outputs are the
        transposed convolution.

    """
    if s.rank != 1:
        raise ValueError(f"two_views_figure draws 1-D settings; got rank {s.rank}")
    z = D.zero_insertion_data(s, weight, x)
    sc = D.scatter_data(s, weight, x)
    position = math.prod(s.output_size) // 2
    z["position"] = position
    cols = max(len(z["padded"]), sc["full_size"][0])
    fig = F._figure(2 * max(6.0, 0.42 * cols + 2.5), 1.6 + 0.42 * (len(sc["x"]) + 5))
    left, right = fig.subfigures(1, 2, wspace=0.04)  # type: ignore[misc]
    F._draw_zero_insertion(s, z, position, into=left)
    F._draw_scatter(s, sc, None, into=right)
    left.suptitle("view 1: insert zeros, pad, convolve with the flipped kernel", fontsize=11)
    right.suptitle("view 2: each input paints x[j]·w into the output (the transpose)", fontsize=11)
    fig.suptitle(
        f"two views, one result: {s.describe()}\n" + "; ".join(s.geometry.explain(s.input_size)),
        fontsize=11,
    )
    return F.Drawing(fig, {"zero_insertion": z, "scatter": sc})


def sizes_figure(cases: Sequence[Any], title: str = "") -> Any:
    """Output lengths of 1-D settings, each as its full output with the crop marked.

    One row per setting: the full output's cells (numbered), the cropped cells shaded, the
    cells that output_padding adds outlined, and the filled-in formula. Made for the seed
    article's example 2 (16 -> 32, not 33).

    Args:
        cases: the 1-D settings, one row each.
        title: the figure's title.

    Raises:
        ValueError: for a setting that is not 1-D.

    Returns:
        the figure and ``{"cases": [...]}``: per setting ``settings``, ``full_size``,
        ``crop``, ``extra``, ``output_size`` and ``formula``.

    """
    if any(s.rank != 1 for s in cases):
        raise ValueError("sizes_figure draws 1-D settings")
    rows = []
    for s in cases:
        sc = D.scatter_data(s)
        rows.append(
            {
                "settings": s.describe(),
                "full_size": sc["full_size"],
                "crop": sc["crop"],
                "extra": sc["extra"],
                "output_size": list(s.output_size),
                "formula": list(s.geometry.explain(s.input_size)),
                "_scatter": sc,
                "_s": s,
            }
        )
    cols = max(r["full_size"][0] - min(0, r["crop"][0][0], r["crop"][0][1]) for r in rows)
    fig = F._figure(max(8.0, 0.3 * cols + 1.5), 0.75 * len(rows) + 1.1)
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, r in zip(axes, rows):
        sc, st = r.pop("_scatter"), r.pop("_s")
        L = sc["full_size"][0]
        idx = np.arange(L, dtype=float)
        labels = np.array([[str(i) for i in range(L)]])
        colors = np.tile(np.array([0.85, 0.92, 1.0, 1.0]), (1, L, 1))
        F._grid(ax, F._as2d(idx), colors=colors, labels=labels, fontsize=7, ticks=False)
        F._mark_crop(ax, st, sc)
        F._extended_limits(ax, sc, [0])
        ax.set_title(f"{r['settings']}:   {r['formula'][0]}", fontsize=9, loc="left")
    from matplotlib.patches import Patch

    axes[-1].legend(
        handles=[
            Patch(fc=F.CROPPED, alpha=0.6, label="cropped by padding"),
            Patch(fill=False, ec=F.EXTRA, lw=2, label="given back by output_padding"),
        ],
        loc="upper left",
        bbox_to_anchor=(0, -0.2),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    fig.suptitle(
        (title + "\n" if title else "")
        + "the full output (cells numbered), then the crop (lo, hi)",
        fontsize=10,
    )
    return F.Drawing(fig, {"cases": rows})


def _figure_makers() -> dict:
    from tconv.viz import Settings

    return {
        # seed example 1: kernel 2, stride 2 doubles the size; every input paints its own block
        "seed-1-k2-s2": lambda: F.scatter_figure(Settings.create((4, 4), 2, stride=2)),
        # seed example 2: 16 -> 32, not 33
        "seed-2-why-32": lambda: sizes_figure(
            [
                Settings.create(16, 3, stride=2),
                Settings.create(16, 3, stride=2, padding=1),
                Settings.create(16, 3, stride=2, padding=1, output_padding=1),
            ],
            title="seed example 2: ConvTranspose2d(kernel_size=3, stride=2, padding=1, "
            "output_padding=1) on 16x16 gives 32x32, not 33x33",
        ),
        # seed example 3: the model's upsampling layer (k2 s2) as a matrix, y = Cᵀx
        "seed-3-matrix": lambda: F.matrix_figure(Settings.create(4, 2, stride=2)),
        # the seed article's two views side by side
        "two-views": lambda: two_views_figure(
            Settings.create(4, 3, stride=2, padding=1, output_padding=1)
        ),
        "overlap-k3-s2": lambda: F.scatter_figure(
            Settings.create((3, 3), 3, stride=2, padding=1, output_padding=1)
        ),
        "checkerboard": lambda: F.checkerboard_figure(size=12),
    }


def _rounded(value: object) -> object:
    """Numbers to 6 significant digits (float noise across platforms must not go stale)."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def figures(check: bool, directory: pathlib.Path = FIGURES_DIR) -> list[str]:
    """Write (or, with ``check``, verify) every figure and figures.json; return stale names."""
    import matplotlib

    matplotlib.use("Agg")

    sidecar = directory / "figures.json"
    old = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    new, stale = {}, []
    for name, make in _figure_makers().items():
        drawing = make()
        new[name] = _rounded(drawing.data)
        png = directory / f"{name}.png"
        if check:
            if old.get(name) != new[name] or not png.exists():
                stale.append(f"figures/{name}.png")
        else:
            directory.mkdir(exist_ok=True)
            F.save(drawing, png)
    if check and set(old) != set(new):
        stale.append("figures/figures.json")
    if not check:
        sidecar.write_text(json.dumps(new, indent=None, separators=(",", ":")) + "\n")
    return stale


def render(text: str) -> str:
    for name, fn in BLOCKS.items():
        pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(<!-- end: {name} -->)", re.S)
        text = pattern.sub(lambda m, fn=fn: m.group(1) + fn() + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = []
    for path in sorted(DOCS.glob("*.md")):
        old = path.read_text()
        new = render(old)
        if new != old:
            stale.append(path.name)
            if not args.check:
                path.write_text(new)
    stale += figures(check=args.check)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)} (run python docs/generate.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
