"""``tconv explain``: draw the mechanism of a transposed convolution for your settings."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from ..shapes import PADDING_NAMES
from ._args import PROG, Formatter, Subparsers

_EXPLAIN_DESCRIPTION = """\
Draw the mechanism of a transposed convolution for your settings, from tconv's own
computations: the scatter view (each input element painting its weighted kernel footprint
into the full output, the overlap map, the crop), the zero-insertion view (zeros between the
inputs, the border, the flipped kernel) and the matrix view (y = Cᵀx), with the output-size
formula filled in. The example kernel and input are 1, 2, 3, ... (row-major).

With no file asked for it draws in the terminal (colour when the terminal has it; NO_COLOR
turns it off). --out DIR writes figures (PNG or SVG), one GIF animation per view and the
checkerboard picture; --json prints every number; --html FILE writes the interactive page
(one self-contained file, every setting in its ranges computed here).
"""

_EXPLAIN_EPILOG = """\
examples:
  tconv explain --input 5 --kernel 3 --stride 2 --padding 1 --output-padding 1
  tconv explain --input 4 4 --kernel 4 --stride 2 --padding same
  tconv explain --input 6 --kernel 3 --stride 2 --padding 1,-2      # a (lo, hi) crop pair
  tconv explain --input 16 --kernel 3 --stride 2 --padding 1 --output-size 32 --json
  tconv explain --input 3 3 --kernel 3 --stride 2 --padding 1 --out figs --format png svg
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
    each = "one value, or one per dimension"
    p.add_argument(
        "--input",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="input spatial size, 1 or 2 values (required unless only --html is given)",
    )
    p.add_argument(
        "--kernel", type=int, nargs="+", default=None, metavar="K", help=f"kernel size: {each}"
    )
    p.add_argument(
        "--stride", type=int, nargs="+", default=[1], metavar="S", help=f"stride: {each}"
    )
    p.add_argument(
        "--padding",
        nargs="+",
        default=["0"],
        metavar="P",
        help=f"padding: {each}: an int, LO,HI, or one of " + ", ".join(PADDING_NAMES),
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--output-padding",
        type=int,
        nargs="+",
        default=[0],
        metavar="OP",
        help=f"extra length at the end: {each}; each must be < max(stride, dilation)",
    )
    target.add_argument(
        "--output-size",
        type=int,
        nargs="+",
        default=None,
        metavar="O",
        help="the output size to reach instead of --output-padding",
    )
    p.add_argument(
        "--dilation", type=int, nargs="+", default=[1], metavar="D", help=f"dilation: {each}"
    )
    p.add_argument("--out", metavar="DIR", help="write figures, GIFs and the numbers (JSON) here")
    p.add_argument(
        "--format",
        nargs="+",
        choices=("png", "svg"),
        default=["png"],
        help="figure formats for --out",
    )
    p.add_argument("--no-gif", action="store_true", help="with --out: skip the animations")
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
        type=int,
        default=None,
        metavar="N",
        help="output position (flat) whose kernel window the zero-insertion view shows "
        "(default: the middle)",
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    return p


def _explain_padding(values: Sequence[str]) -> Any:
    """--padding values: ints, LO,HI pairs, or one name (the geometry validates them)."""
    items: list[Any] = []
    for v in values:
        if "," in v:
            try:
                lo, hi = (int(part) for part in v.split(","))
            except ValueError:
                raise ValueError(
                    f"--padding {v!r} is invalid: a pair is two ints LO,HI, e.g. 1,-2"
                ) from None
            items.append((lo, hi))
        elif v.lstrip("-").isdigit():
            items.append(int(v))
        else:
            items.append(v)
    if any(isinstance(i, tuple) for i in items):
        if not all(isinstance(i, tuple) for i in items):
            raise ValueError("--padding: give all values as LO,HI pairs or none")
        return tuple(items)
    return items[0] if len(items) == 1 else tuple(items)


def _explain_targets(args: argparse.Namespace) -> list[str]:
    """Every file this run would write (checked before any work)."""
    import os

    files = []
    if args.out:
        names = ["explain.json", "checkerboard.png"]
        names += [
            f"{v}.{fmt}" for v in ("matrix", "zero_insertion", "scatter") for fmt in args.format
        ]
        if not args.no_gif:
            names += [f"{v}.gif" for v in ("matrix", "zero_insertion", "scatter")]
        files += [os.path.join(args.out, n) for n in names]
    if args.html:
        files.append(args.html)
    return files


def _check_targets(args: argparse.Namespace) -> None:
    import os

    if args.out and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise NotADirectoryError(f"--out {args.out!r} exists and is not a directory")
    for path in _explain_targets(args):
        if os.path.exists(path) and not args.force:
            raise FileExistsError(f"{path!r} exists; pass --force to overwrite it")
        parent = os.path.dirname(os.path.abspath(path))
        if args.html and path == args.html and not os.path.isdir(parent):
            raise FileNotFoundError(f"--html {path!r}: the directory {parent!r} does not exist")


def run(args: argparse.Namespace) -> int:
    try:
        return _explain(args)
    except (ValueError, TypeError, OSError) as err:  # ShapeError is a ValueError
        print(f"{PROG} explain: error: {err}", file=sys.stderr)
        return 2


def _explain(args: argparse.Namespace) -> int:
    from ..viz import terminal
    from ..viz.data import Settings, explain_data

    drawing = args.input is not None or args.kernel is not None
    if not drawing and not args.html:
        raise ValueError("give --input and --kernel (the settings to draw), or --html FILE")
    if drawing and (args.input is None or args.kernel is None):
        raise ValueError("--input and --kernel are both required to draw settings")
    if args.position is not None and args.position < 0:
        raise ValueError(f"--position {args.position} is invalid: it must be >= 0")
    _check_targets(args)
    s = None
    if drawing:
        s = Settings.create(
            tuple(args.input),
            args.kernel,
            args.stride,
            _explain_padding(args.padding),
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
    wrote: list[str] = []
    if s is not None:
        data = explain_data(s)
        if args.json:
            print(json.dumps(data))
        if args.out:
            wrote += _explain_files(s, data, args)
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
        wrote.append(args.html)
    if args.out:
        stream = sys.stderr if args.json else sys.stdout
        for path in wrote:
            if path != args.html:
                print(path, file=stream)
    return 0


def _explain_files(s: Any, data: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Figures, animations, the checkerboard picture and the numbers, into --out."""
    import os

    from ..viz import figures

    os.makedirs(args.out, exist_ok=True)
    wrote = []
    path = os.path.join(args.out, "explain.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    wrote.append(path)
    makers = {
        "matrix": lambda: figures.matrix_figure(s),
        "zero_insertion": lambda: figures.zero_insertion_figure(s, position=args.position),
        "scatter": lambda: figures.scatter_figure(s),
    }
    for view, make in makers.items():
        drawing = make()
        for fmt in args.format:
            wrote.append(figures.save(drawing, os.path.join(args.out, f"{view}.{fmt}")))
        if not args.no_gif:
            path = os.path.join(args.out, f"{view}.gif")
            figures.animate(view, s, path)
            wrote.append(path)
    path = os.path.join(args.out, "checkerboard.png")
    figures.save(figures.checkerboard_figure(figures.with_layer(s)), path)
    wrote.append(path)
    return wrote
