"""Regenerate the tables in the docs from the library itself.

    python docs/generate.py          # rewrite the generated blocks
    python docs/generate.py --check  # exit 1 if a generated block is out of date (tests run this)

A generated block sits between ``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``.
"""

from __future__ import annotations

import argparse
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


BLOCKS = {"same-table": same_table, "same-unexpressible": unexpressible_list}


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
    if args.check and stale:
        print(f"out of date: {', '.join(stale)} (run python docs/generate.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
