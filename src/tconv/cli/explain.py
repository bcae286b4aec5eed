"""``tconv explain``: draw the mechanism of a transposed convolution for your settings."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ._args import (
    Formatter,
    Subparsers,
    add_geometry,
    check_output,
    int_range,
    parse_padding,
    require,
)

_EXPLAIN_DESCRIPTION = """\
Draw the mechanism of a transposed convolution for your settings, from tconv's own
computations: the scatter view (each input element painting its weighted kernel footprint
into the full output, the overlap map, the crop), the zero-insertion view (zeros between the
inputs, the border, the flipped kernel) and the matrix view (y = Cᵀx), with the output-size
formula filled in. The example kernel and input are 1, 2, 3, ... (row-major).

With no file asked for it draws in the terminal (colour when the terminal has it; NO_COLOR
turns it off). --out DIR writes figures (PNG or SVG), one GIF animation per view (for a 2-D
input with --gif) and the checkerboard picture, printing each file as it is written; --json
prints every number; --html FILE writes the interactive page (one self-contained file, every
setting in its ranges computed here).
"""

_EXPLAIN_EPILOG = """\
examples:
  tconv explain --input 5 --kernel 3 --stride 2 --padding 1 --output-padding 1
  tconv explain --input 4 4 --kernel 4 --stride 2 --padding same
  tconv explain --input 6 --kernel 3 --stride 2 --padding 1,-2      # a (lo, hi) crop pair
  tconv explain --input 16 --kernel 3 --stride 2 --padding 1 --output-size 32 --json
  tconv explain --input 3 3 --kernel 3 --stride 2 --padding 1 --out figs --format png svg
  tconv explain --input 4 4 --kernel 3 --stride 2 --padding same --out figs --gif
  tconv explain --html page.html

--padding takes one value per dimension or one for all: an int (crop at both ends), a pair
LO,HI (negative values extend with zeros), or a name: valid, same, same_lower. Sizes are
limited to what a picture can show (64 input elements). Existing files are not overwritten
without --force; invalid settings print the reason and exit with status 2.
"""


def add(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "explain",
        help="draw the mechanism for your settings: terminal, figures, GIFs, JSON or a page",
        description=_EXPLAIN_DESCRIPTION,
        epilog=_EXPLAIN_EPILOG,
        formatter_class=Formatter,
    )
    add_geometry(
        p,
        required=False,
        input_help="input spatial size, 1 or 2 values (required unless only --html is given)",
        output_size=True,
    )
    p.add_argument("--out", metavar="DIR", help="write figures, GIFs and the numbers (JSON) here")
    p.add_argument(
        "--format",
        nargs="+",
        choices=("png", "svg"),
        default=["png"],
        help="figure formats for --out",
    )
    gifs = p.add_mutually_exclusive_group()
    gifs.add_argument(
        "--gif",
        action="store_true",
        help="with --out and a 2-D input: write the animations too (a few seconds each)",
    )
    gifs.add_argument(
        "--no-gif", action="store_true", help="with --out and a 1-D input: skip the animations"
    )
    p.add_argument("--json", action="store_true", help="print every number as JSON")
    p.add_argument("--html", metavar="FILE", help="write the interactive page to FILE")
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="terminal colours (auto: when stdout is a terminal and NO_COLOR is unset)",
    )
    p.add_argument(
        "--position",
        type=int_range(0),
        default=None,
        metavar="N",
        help="output position (flat) whose kernel window the zero-insertion view shows "
        "(default: the middle)",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    return p


def _explain_targets(args: argparse.Namespace) -> list[str]:
    """Every file this run would write (checked before any work)."""
    from ..viz.figures import VIEWS

    files = []
    if args.out:
        names = ["explain.json", "checkerboard.png"]
        names += [f"{v}.{fmt}" for v in VIEWS for fmt in args.format]
        if _gifs(args, len(args.input or ())):
            names += [f"{v}.gif" for v in VIEWS]
        files += [os.path.join(args.out, n) for n in names]
    return files


def _gifs(args: argparse.Namespace, rank: int) -> bool:
    """Whether --out writes the animations: for 1-D inputs unless --no-gif, for 2-D with --gif."""
    return bool(args.gif) if rank == 2 else not args.no_gif


def _check_targets(args: argparse.Namespace) -> None:
    check_output(args.out, flag="--out", folder=True)
    if args.out and os.path.isdir(args.out):
        for path in _explain_targets(args):
            check_output(path, flag="--out", force=args.force)
    check_output(args.html, flag="--html", force=args.force)


def run(args: argparse.Namespace) -> int:
    from ..viz import terminal
    from ..viz.data import Settings, explain_data

    drawing = args.input is not None or args.kernel is not None
    if not drawing and not args.html:
        raise ValueError("give --input and --kernel (the settings to draw), or --html FILE")
    if drawing and (args.input is None or args.kernel is None):
        raise ValueError("--input and --kernel are both required to draw settings")
    _check_targets(args)
    if args.out:
        require("matplotlib")  # the figures: said before anything is written
    s = None
    if drawing:
        s = Settings.create(
            tuple(args.input),
            args.kernel,
            args.stride,
            parse_padding(args.padding),
            args.output_padding,
            args.dilation,
            output_size=args.output_size,
        )
        n_out = 1
        for o in s.output_size:
            n_out *= o
        if args.position is not None and args.position >= n_out:
            raise ValueError(
                f"--position {args.position} is invalid: valid positions are 0..{n_out - 1}"
            )
    if s is not None:
        data = explain_data(s)
        if args.json:
            print(json.dumps(data), flush=True)
        if args.out:
            _explain_files(s, data, args)
        if not args.json and not args.out and not args.html:
            color = args.color == "always" or (
                args.color == "auto" and terminal.supports_color(sys.stdout)
            )
            print(terminal.render(data, color=color, position=args.position))
    if args.html:
        from ..viz.page import RANGES, write_page

        size = write_page(args.html)
        ranges = "; ".join(f"{k} {v[0]}..{v[-1]}" for k, v in RANGES.items() if k != "padding")
        print(
            f"wrote {args.html} ({size // 1024} KB; every setting of {ranges}; padding "
            + ", ".join(map(str, RANGES["padding"]))
            + ")",
            file=sys.stderr if args.json else sys.stdout,
        )
    return 0


def _explain_files(s: Any, data: dict[str, Any], args: argparse.Namespace) -> None:
    """Figures, animations, the checkerboard picture and the numbers, into --out; each file's
    path printed as it is written (a line per file, so a longer run shows its progress)."""
    from ..viz import figures
    from ..viz.data import with_layer

    stream = sys.stderr if args.json else sys.stdout

    def wrote(path: str) -> None:
        print(path, file=stream, flush=True)

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "explain.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    wrote(path)
    makers = {
        "matrix": lambda: figures.matrix_figure(s),
        "zero_insertion": lambda: figures.zero_insertion_figure(s, position=args.position),
        "scatter": lambda: figures.scatter_figure(s),
    }
    for view in figures.VIEWS:
        drawing = makers[view]()
        for fmt in args.format:
            wrote(figures.save(drawing, os.path.join(args.out, f"{view}.{fmt}")))
        if _gifs(args, s.rank):
            path = os.path.join(args.out, f"{view}.gif")
            figures.animate(view, s, path)
            wrote(path)
    path = os.path.join(args.out, "checkerboard.png")
    figures.save(figures.checkerboard_figure(with_layer(s)), path)
    wrote(path)
