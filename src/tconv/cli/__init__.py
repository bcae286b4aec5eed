"""The ``tconv`` command line.

Each subcommand is a module of this package, named as the subcommand and listed once in
:data:`COMMANDS`. The module has two functions:

- ``add(subparsers)`` declares the subcommand and its flags and returns its parser;
- ``run(args)`` calls the library with the parsed values, prints, and returns the exit status.

A subcommand only parses and prints; the work is done by the library. Errors are handled here,
once, in :func:`main`: a :class:`~tconv.shapes.ShapeError`, ``ValueError``, ``TypeError`` or
``OSError`` raised by the library (:data:`USER_ERRORS`) becomes one line on stderr,
``tconv <name>: error: <message>``, and exit status 2, as argparse's own usage errors do; an
optional module that is not installed becomes one line naming the extra that installs it
(``tconv upscale: error: this command needs Pillow: pip install 'tconv[image]'``); Ctrl-C exits
with status 130.

Example:
    >>> main(["shape", "--input", "16", "--kernel", "2", "--stride", "2"])
    formula: (input - 1)*stride - lo - hi + dilation*(kernel - 1) + 1
    crop: (lo, hi) = (padding, padding - output_padding)
    dim 0: (16 - 1)*2 - 0 - 0 + 1*(2 - 1) + 1 = 32
    output: 32
    0
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from .. import __version__
from ..shapes import ShapeError
from ._args import PROG, Formatter, error_message, one_line

__all__ = ["COMMANDS", "USER_ERRORS", "build_parser", "command", "main"]

#: The subcommands, in the order ``--help`` lists them: each is the module ``tconv.cli.<name>``.
COMMANDS: tuple[str, ...] = (
    "shape",
    "plan",
    "inverse",
    "inspect",
    "bench",
    "train",
    "upscale",
    "explain",
)


def command(name: str) -> ModuleType:
    """The module of subcommand ``name`` (with its ``add`` and ``run``).

    >>> command("shape").__name__
    'tconv.cli.shape'
    """
    return importlib.import_module(f"{__name__}.{name}")


_EPILOG = """\
examples:
  tconv shape --input 16 16 --kernel 4 --stride 2 --padding 1
  tconv plan 16 33
  tconv explain --input 5 --kernel 3 --stride 2 --padding 1 --output-padding 1
  tconv upscale photo.png -o big.png

Run 'tconv COMMAND --help' for a command's flags and examples.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line (``tconv <cmd>: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``tconv`` parser with every subcommand of :data:`COMMANDS`.

    >>> build_parser().parse_args(["shape", "--input", "16", "--kernel", "3"]).kernel
    [3]
    """
    parser: argparse.ArgumentParser = _Parser(
        prog=PROG,
        description="tconv: upsampling with transposed convolution, done right.",
        epilog=_EPILOG,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = command(name)
        sub = module.add(subparsers)
        sub.set_defaults(run=module.run, parser=sub)
    return parser


#: what the library raises for bad input; each becomes one line on stderr and exit status 2
USER_ERRORS: tuple[type[BaseException], ...] = (
    ShapeError,
    ValueError,
    TypeError,
    OSError,
    MemoryError,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Usage errors exit through argparse (``SystemExit(2)``) with one line on stderr. A
    :class:`~tconv.shapes.ShapeError`, ``ValueError``, ``TypeError``, ``OSError`` or
    ``MemoryError`` from the library prints ``tconv <command>: error: <message>`` (one line) to
    stderr and returns 2; so does an ``ImportError``, naming for an optional module the extra
    to install (:data:`~tconv.cli._args.OPTIONAL_MODULES`); Ctrl-C prints
    ``tconv <command>: interrupted`` and returns 130.

    >>> main(["shape", "--input", "2", "--kernel", "1", "--padding", "3"])  # one line on stderr
    2
    """
    args, extra = build_parser().parse_known_args(argv)
    if extra:  # say it as the subcommand's error (argparse would blame the top-level parser)
        args.parser.error(f"unrecognized arguments: {shlex.join(extra)}")
    prefix = f"{PROG} {args.command}"
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except (ImportError, *USER_ERRORS) as err:  # type: ignore[misc]  # ImportError: an extra
        print(f"{prefix}: error: {error_message(err)}", file=sys.stderr)
        return 2
    return status
