"""What the subcommands share, each written once: the help formatter, numbers with their
valid range (:func:`int_range`, :func:`float_range`), sizes, the geometry flags with the one
reading of ``--padding`` (:func:`add_geometry`, :func:`parse_padding`), the check of an output
path before any work (:func:`check_output`), and the optional modules with the extra that
installs each (:data:`OPTIONAL_MODULES`, :func:`require`).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from typing import TypeAlias, TypeVar

from .._messages import one_line as one_line  # the one formatter, for the commands
from .._optional import OPTIONAL_MODULES as OPTIONAL_MODULES  # the one optional-import helper
from .._optional import MissingExtra as MissingExtra
from .._optional import missing_extra as missing_extra
from .._optional import require as require
from ..shapes import PADDING_NAMES, PaddingSpec, ShapeError

_Number = TypeVar("_Number", int, float)

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


# ---------------------------------------------------------------------------------------------
# numbers: every number flag reads through one range check


def _ranged(
    kind: Callable[[str], _Number],
    noun: str,
    low: float | None,
    high: float | None,
    above: bool,
) -> Callable[[str], _Number]:
    """An argparse ``type`` reading a ``kind`` in the range, naming the range when refused."""
    bounds = []
    if low is not None:
        bounds.append(f"more than {low}" if above else f"{low} or more")
    if high is not None:
        bounds.append(f"at most {high}")
    if low is not None and high is not None and not above:
        bounds = [f"{low} to {high}"]
    valid = ", ".join(bounds) or f"any {noun}"

    def parse(text: str) -> _Number:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(
                f"invalid {noun} {text!r}: valid values are {valid}"
            ) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text.strip()} is not a finite {noun}")
        too_low = low is not None and (value <= low if above else value < low)
        if too_low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"{text.strip()} is out of range: valid values are {valid}"
            )
        return value

    return parse


def int_range(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an int in ``low..high`` (None: no bound on that side).

    >>> int_range(1, 1000)("20")
    20
    >>> int_range(1, 1000)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: 0 is out of range: valid values are 1 to 1000
    >>> int_range(0)("many")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: invalid integer 'many': valid values are 0 or more
    """
    return _ranged(int, "integer", low, high, above=False)


def float_range(
    low: float | None = None, high: float | None = None, *, above: bool = False
) -> Callable[[str], float]:
    """An argparse ``type``: a finite float in ``low..high`` (``above``: strictly more than
    ``low``).

    >>> float_range(0, 2**40, above=True)("0.5")
    0.5
    >>> float_range(0, above=True)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: 0 is out of range: valid values are more than 0
    >>> float_range()("nan")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: nan is not a finite number
    """
    return _ranged(float, "number", low, high, above)


#: ``--max-memory`` and the like: a positive number of GiB
gibibytes = float_range(0, 2**40, above=True)


# ---------------------------------------------------------------------------------------------
# sizes and the geometry flags


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


#: a token of numbers (ints, LO,HI pairs, joined by x); anything else is read as a name
_NUMERIC = re.compile(r"[-+0-9,x ]+")

#: how ``--padding`` is spelled, for every subcommand's help
PADDING_SPELLINGS = (
    "an int (the same crop at both ends), one int per dimension (1 0 or 1x0), a LO,HI pair "
    "per dimension (1,-2; negative values extend with zeros), or one of " + ", ".join(PADDING_NAMES)
)


def parse_padding(values: int | str | Sequence[str]) -> PaddingSpec:
    """The one reading of ``--padding``, as :class:`~tconv.shapes.Geometry` takes it.

    Each token is an int, ints joined by ``x`` (one per dimension), a ``LO,HI`` pair (pairs
    joined by ``x`` too), or a name; a name stands alone and the geometry checks it (and every
    value's range).

    >>> parse_padding(["1"]), parse_padding(["1", "0"]), parse_padding("1x0")
    (1, (1, 0), (1, 0))
    >>> parse_padding(["1,-2"]), parse_padding(["1,-2", "0,1"]), parse_padding("1,-2x0,1")
    (((1, -2),), ((1, -2), (0, 1)), ((1, -2), (0, 1)))
    >>> parse_padding(["same"])
    'same'
    >>> parse_padding(["1", "0,1"])
    Traceback (most recent call last):
    tconv.shapes.ShapeError: --padding '1 0,1' is invalid: give every value as a LO,HI pair or none
    """
    if isinstance(values, int):
        return values
    tokens = [values] if isinstance(values, str) else list(values)
    said = " ".join(tokens)
    items: list[int | tuple[int, int] | str] = []
    for token in tokens:
        if not _NUMERIC.fullmatch(token):
            items.append(token)  # a name: the geometry says which names are valid
            continue
        for part in token.split("x"):
            try:
                if "," in part:
                    lo, hi = (int(v) for v in part.split(","))
                    items.append((lo, hi))
                else:
                    items.append(int(part))
            except ValueError:
                raise ShapeError(
                    f"--padding {said!r} is invalid: {part!r} is not an int or a LO,HI pair "
                    "(a pair is two ints LO,HI, e.g. 1,-2)"
                ) from None
    names = [i for i in items if isinstance(i, str)]
    if names:
        if len(items) > 1:
            raise ShapeError(
                f"--padding {said!r} is invalid: the name {names[0]!r} stands alone (it sets "
                "every dimension)"
            )
        return names[0]
    pairs = [i for i in items if isinstance(i, tuple)]
    if pairs and len(pairs) < len(items):
        raise ShapeError(f"--padding {said!r} is invalid: give every value as a LO,HI pair or none")
    if len(items) == 1 and not pairs:
        return items[0]
    return tuple(items)  # type: ignore[return-value]


def add_geometry(
    p: argparse.ArgumentParser,
    *,
    required: bool,
    input_help: str,
    output_size: bool = False,
) -> None:
    """Declare the geometry flags of a transposed convolution: --input, --kernel, --stride,
    --padding (read by :func:`parse_padding`), --output-padding (with ``output_size``: or
    --output-size, one of the two) and --dilation.

    Values are read as ints; the geometry checks their ranges (and says which are valid).
    """
    each = "one value, or one per dimension"
    number = int_range()
    needed = {"required": True, "default": argparse.SUPPRESS} if required else {"default": None}
    p.add_argument("--input", type=number, nargs="+", metavar="N", help=input_help, **needed)
    p.add_argument(
        "--kernel", type=number, nargs="+", metavar="K", help=f"kernel size: {each}", **needed
    )
    p.add_argument(
        "--stride", type=number, nargs="+", default=1, metavar="S", help=f"stride: {each}"
    )
    p.add_argument(
        "--padding", nargs="+", default=0, metavar="P", help=f"padding: {PADDING_SPELLINGS}"
    )
    target = p.add_mutually_exclusive_group() if output_size else p
    target.add_argument(
        "--output-padding",
        type=number,
        nargs="+",
        default=0,
        metavar="OP",
        help=f"extra length at the end: {each}; each must be < max(stride, dilation)",
    )
    if output_size:
        target.add_argument(
            "--output-size",
            type=number,
            nargs="+",
            default=None,
            metavar="O",
            help="the output size to reach instead of --output-padding",
        )
    p.add_argument(
        "--dilation", type=number, nargs="+", default=1, metavar="D", help=f"dilation: {each}"
    )


# ---------------------------------------------------------------------------------------------
# output paths: one check, before any work


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


def check_output(
    path: str | os.PathLike[str] | None, *, flag: str, force: bool = False, folder: bool = False
) -> None:
    """Refuse, before any work, an output that could not be written: a file whose folder does
    not exist or is not writable, a folder in the way, or an existing file without ``force``;
    with ``folder``: a folder (made later, with its parents) whose path holds a file or whose
    nearest existing ancestor is not writable. Nothing is created or changed here.

    >>> check_output("/proc/version", flag="-o", force=True)
    Traceback (most recent call last):
    PermissionError: -o '/proc/version': the folder '/proc' is not writable (...)
    """
    if path is None:
        return
    name = os.fspath(path)
    full = os.path.abspath(name)
    if folder:
        if os.path.exists(full) and not os.path.isdir(full):
            raise NotADirectoryError(f"{flag} {name!r} exists and is not a folder")
        existing = full
        while not os.path.isdir(existing):
            existing = os.path.dirname(existing)
        probe_writable(existing, f"{flag} {name!r}: the folder {existing!r}")
        return
    parent = os.path.dirname(full)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{flag} {name!r}: the folder {parent!r} does not exist")
    if os.path.isdir(full):
        raise IsADirectoryError(f"{flag} {name!r} is a folder, not a file")
    if os.path.exists(full) and not force:
        raise FileExistsError(f"{flag} {name!r} exists; pass --force to overwrite it")
    probe_writable(parent, f"{flag} {name!r}: the folder {parent!r}")
