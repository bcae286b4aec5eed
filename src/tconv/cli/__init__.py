"""The ``tconv`` command line.

Each subcommand is a module of this package, listed once in the command table
:data:`COMMANDS` (name -> module + one-line summary), and imported only when it runs
(``tconv --help`` imports none of them). The module declares its parser as data, ``EPILOG``
(examples), optionally ``DESCRIPTION``, and two functions:

- ``arguments(parser)`` adds its flags (older modules: ``add(subparsers)`` makes the parser);
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
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any, NamedTuple, NoReturn

from .. import __version__
from ..shapes import ShapeError
from ._args import PROG, Formatter, missing_extra, one_line

__all__ = ["COMMANDS", "USER_ERRORS", "Command", "build_parser", "command", "main"]


class Command(NamedTuple):
    """A row of the command table: the module that implements it and its line in ``--help``."""

    module: str
    summary: str


#: The command table, in the order ``--help`` lists them: name -> module + one-line summary.
#: A command's module (and what it imports) is imported only when that command runs.
COMMANDS: dict[str, Command] = {
    "shape": Command(
        "tconv.cli.shape", "output size of a transposed convolution, with the formula filled in"
    ),
    "plan": Command("tconv.cli.plan", "settings that map an input size exactly to an output size"),
    "inverse": Command(
        "tconv.cli.inverse", "the transposed convolution that restores a convolution's input size"
    ),
    "inspect": Command(
        "tconv.cli.inspect",
        "table of a model's upsampling layers: overlap, checkerboard score, advice",
    ),
    "bench": Command(
        "tconv.cli.bench", "time the layer catalog: torch, tconv (auto, methods) and peers"
    ),
    "train": Command(
        "tconv.cli.train", "train a task (sr, ...) on real images; checkpoints, --resume, reports"
    ),
    "upscale": Command(
        "tconv.cli.upscale", "upscale images x2/x4 with the shipped super-resolution model"
    ),
    "explain": Command(
        "tconv.cli.explain",
        "draw the mechanism for your settings: terminal, figures, GIFs, JSON or a page",
    ),
}


def command(name: str) -> ModuleType:
    """The module of subcommand ``name`` (with its ``add`` and ``run``), imported now.

    >>> command("shape").__name__
    'tconv.cli.shape'
    """
    return importlib.import_module(COMMANDS[name].module)


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


def build_parser(load: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The ``tconv`` parser; the commands named in ``load`` (default: all) with their flags.

    A command not in ``load`` is only its name and summary (enough for ``tconv --help``): its
    module is not imported.

    Args:
        load: the commands whose modules to import and whose flags to declare.

    Returns:
        The parser; a loaded command's namespace carries ``run`` and ``parser``.

    Raises:
        ImportError: a loaded command's module (or what it imports) cannot be imported.

    Example:
        >>> build_parser(["shape"]).parse_args(["shape", "--input", "16", "--kernel", "3"]).kernel
        [3]
    """
    wanted = set(COMMANDS if load is None else load)
    parser: argparse.ArgumentParser = _Parser(
        prog=PROG,
        description="tconv: upsampling with transposed convolution, done right.",
        epilog=_EPILOG,
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, summary) in COMMANDS.items():
        if name not in wanted:
            subparsers.add_parser(name, help=summary, add_help=False)
            continue
        module = command(name)
        if hasattr(module, "arguments"):  # the parser declared as data: text and flags
            sub = subparsers.add_parser(
                name,
                help=summary,
                description=getattr(module, "DESCRIPTION", summary),
                epilog=module.EPILOG,
                formatter_class=Formatter,
            )
            module.arguments(sub)
        else:  # a module that makes its own parser: add(subparsers) returns it
            sub = module.add(subparsers)
            _set_summary(subparsers, name, summary)
        sub.set_defaults(run=module.run, parser=sub)
    return parser


def _set_summary(subparsers: Any, name: str, summary: str) -> None:
    """Make the table's summary the command's line in ``tconv --help`` (the one source)."""
    listed = [a for a in subparsers._choices_actions if a.dest == name]
    for action in listed:
        action.help = summary
    if not listed:  # the module declared its parser without a help line
        subparsers._choices_actions.append(subparsers._ChoicesPseudoAction(name, (), summary))


def _named_command(argv: Sequence[str]) -> str | None:
    """The command that ``argv`` names: its first word that is not a flag (``tconv`` has no
    flag that takes a value)."""
    return next((a for a in argv if not a.startswith("-")), None)


#: what the library raises for bad input; each becomes one line on stderr and exit status 2
USER_ERRORS: tuple[type[BaseException], ...] = (
    ShapeError,
    ValueError,
    TypeError,
    OSError,
    MemoryError,
)

#: what :func:`main` turns into one line: the user's errors and imports that failed
_HANDLED: tuple[type[BaseException], ...] = (ImportError, *USER_ERRORS)


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
    argv = sys.argv[1:] if argv is None else list(argv)
    name = _named_command(argv)
    try:  # only the named command's module is imported; its failure is its own error line
        parser = build_parser([name] if name in COMMANDS else [])
    except _HANDLED as err:
        print(f"{PROG} {name}: error: {_message(err)}", file=sys.stderr)
        return 2
    args, extra = parser.parse_known_args(argv)
    if extra:  # say it as the subcommand's error (argparse would blame the top-level parser)
        args.parser.error(f"unrecognized arguments: {shlex.join(extra)}")
    prefix = f"{PROG} {args.command}"
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except _HANDLED as err:
        print(f"{prefix}: error: {_message(err)}", file=sys.stderr)
        return 2
    return status


def _message(err: BaseException) -> str:
    """The one line an error becomes: an ImportError (ModuleNotFoundError too) of an optional
    module names the extra that installs it; a MemoryError says so."""
    if isinstance(err, ImportError):
        return missing_extra(err) or one_line(err)
    if isinstance(err, MemoryError):
        return f"out of memory: {one_line(err)}"
    return one_line(err)
