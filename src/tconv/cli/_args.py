"""Helpers shared by the subcommands: the help formatter, argument types with their valid
ranges, and the check of output paths (made before any work)."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from typing import TypeAlias

#: what ``add_subparsers()`` returns: each subcommand's ``add(subparsers)`` adds its parser to it
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

PROG = "tconv"


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the epilog's line breaks and show each flag's default as it is typed.

    ``(default: ...)`` is added unless the help already says it or there is nothing to show
    (no default, ``None``, an off switch); lists print as typed (``1 2``), size tuples as
    ``16x12``.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default:" in text
            or "%(default)" in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or not (action.option_strings or action.nargs in (argparse.OPTIONAL, "*"))
        ):
            return text
        return f"{text} (default: {typed(default)})".replace("%", "%%").replace("%%(", "%(")


def typed(value: object) -> str:
    """A default as the user would type it: ``[1, 2]`` -> ``1 2``, ``(16, 12)`` -> ``16x12``."""
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an int in ``low..high`` (``high`` None: no upper end).

    >>> int_range(1, 1000)("20")
    20
    >>> int_range(1, 1000)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: 0 is out of range: valid values are 1 to 1000
    """
    valid = f"{low} to {high}" if high is not None else f"{low} or more"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid integer {text!r}: valid values are {valid}"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range: valid values are {valid}")
        return value

    return parse


def gibibytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}: e.g. 4 or 0.5") from None
    if not 0 < value < 2**40 or value != value:
        raise argparse.ArgumentTypeError(f"{text} is out of range: give a number of GiB > 0")
    return value


def lengths(text: str, low: int) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: expected lengths joined by 'x', e.g. 16 or 16x12"
        ) from None
    if not 1 <= len(values) <= 3:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: expected 1 to 3 lengths")
    if any(v < low for v in values):
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: every length must be >= {low}")
    return values


def size_type(text: str) -> tuple[int, ...]:
    """``"16x12"`` as ``(16, 12)``: 1 to 3 lengths, each >= 1 (sizes, kernels, strides)."""
    return lengths(text, 1)


def probe_writable(folder: str | os.PathLike[str], what: str) -> None:
    """Raise PermissionError unless a file can be created in ``folder`` (checked by creating
    and removing one: ``os.access`` says yes to root on read-only and virtual file systems
    such as /proc, where the write would fail only after the work)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".tconv-probe-", dir=folder)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise PermissionError(f"{what} is not writable ({reason})") from None
    os.close(fd)
    os.unlink(probe)


def check_output(path: str | None, force: bool, flag: str) -> None:
    """Refuse an output path that cannot be written, before any work."""
    if path is None:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{flag} {path}: directory {parent} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{flag} {path}: is a directory")
    if os.path.exists(path) and not force:
        raise FileExistsError(f"{flag} {path}: exists (use --force to overwrite it)")
    probe_writable(parent, f"{flag} {path}: directory {parent}")
