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
import pathlib
import re
import sys

from tconv.shapes import Geometry

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
    from tconv.viz.figures import checkerboard_data

    rows = [
        "| upsampler (2x, 12x12 input) | checkerboard_score | checkerboard_spectrum |",
        "|---|---:|---:|",
    ]
    for name, layer in checkerboard_data(size=12)["layers"].items():
        rows.append(f"| {name} | {layer['score']:.3f} | {layer['spectrum']:.4f} |")
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
}


# ---------------------------------------------------------------------------------------------
# figures (tconv.viz; the numbers each one drew go to figures/figures.json)

FIGURES_DIR = DOCS / "figures"


def _figure_makers() -> dict:
    from tconv.viz import Settings
    from tconv.viz import figures as F

    return {
        # seed example 1: kernel 2, stride 2 doubles the size; every input paints its own block
        "seed-1-k2-s2": lambda: F.scatter_figure(Settings.create((4, 4), 2, stride=2)),
        # seed example 2: 16 -> 32, not 33
        "seed-2-why-32": lambda: F.sizes_figure(
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
        "two-views": lambda: F.two_views_figure(
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
    from tconv.viz import figures as F

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
