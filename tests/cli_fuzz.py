"""A harness to fuzz the ``tconv`` command line: draw argv, run it, check the contract.

The contract of every subcommand: for any argv it exits with status 0, or with status 2 and
one line ``tconv <command>: error: ...`` on stderr; it never prints a traceback and it answers
within :data:`TIME_LIMIT` seconds.

To fuzz a subcommand, describe it with a :class:`Spec` (a strategy per positional and per flag;
switches draw ``[]``), draw argv with :func:`argv_for`, run them with :func:`run_in_process`
(fast: hundreds per second) or :func:`run_subprocess` (real exit codes, real crashes), and
check each with :func:`assert_contract`::

    SPEC = Spec("shape", flags={"--input": tokens(count()), "--json": SWITCH})

    @given(argv_for(SPEC))
    def test_shape(argv):
        assert_contract(run_in_process(argv), SPEC.command)

Plausible tokens come from :func:`count` and :func:`size`; :func:`argv_for` then mutates the
command line with :func:`wild` tokens (numbers of every magnitude and sign, odd spellings, junk
strings, awkward :data:`PATHS`), drops, repeats and reorders flags and adds stray tokens.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from hypothesis import strategies as st

from tconv.cli import main

#: seconds one call may take (generous: the test machine is shared)
TIME_LIMIT = 15.0

#: a switch (a flag without a value)
SWITCH: st.SearchStrategy[list[str]] = st.just([])

#: paths that cannot be read or written as a file
PATHS = (
    "/nonexistent/dir/x.json",
    "/",
    "/dev/null",
    "",
    "-",
    "/proc/version",
)

_SPECIAL_NUMBERS = (
    "0", "-0", "-1", "1e3", "nan", "inf", "-inf", "0x10", "1_000", "+7", " 3", "1.5",
    "99999999999999999999", "-99999999999999999999", str(2**63), str(2**64 + 1),
)  # fmt: skip


def count(low: int = 1, high: int = 40) -> st.SearchStrategy[str]:
    """A plausible integer as text: mostly ``low..high``, sometimes up to 25 digits."""
    return st.one_of(st.integers(low, high), st.integers(low, high), st.integers(low, 10**25)).map(
        str
    )


def wild() -> st.SearchStrategy[str]:
    """Any token: numbers of every magnitude and sign, odd spellings, junk, paths."""
    return st.one_of(
        st.integers(-3, 3).map(str),
        st.integers(-(10**25), 10**25).map(str),
        st.sampled_from(_SPECIAL_NUMBERS),
        junk(),
        st.sampled_from(PATHS),
        st.lists(st.integers(-2, 40).map(str), min_size=1, max_size=6).map("x".join),
    )


def junk() -> st.SearchStrategy[str]:
    """A short string of anything printable (no NUL: argv cannot hold one)."""
    return st.one_of(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8),
        st.sampled_from(("", "-", "--", "x", "NaN", "é", "1x", "x1", "-x", "--nope", "1,2")),
    )


def size(low: int = 1, high: int = 40, rank: tuple[int, int] = (1, 3)) -> st.SearchStrategy[str]:
    """A plausible size written ``AxB...``: ``rank`` lengths of :func:`count`."""
    return st.lists(count(low, high), min_size=rank[0], max_size=rank[1]).map("x".join)


def tokens(
    token: st.SearchStrategy[str], min_size: int = 1, max_size: int = 3
) -> st.SearchStrategy[list[str]]:
    """The values of one flag or positional: a few tokens."""
    return st.lists(token, min_size=min_size, max_size=max_size)


@dataclass(frozen=True)
class Spec:
    """What :func:`argv_for` needs to know about a subcommand.

    ``positionals``: a strategy per positional argument, drawing its (plausible) tokens.
    ``flags``: flag -> strategy of its plausible value tokens (``SWITCH`` for a switch);
    ``required`` flags are always drawn, the others half of the time. ``prefix``/``suffix``:
    tokens put before/after every draw (e.g. a ``--max-memory`` that keeps the fuzz cheap: the
    last occurrence of a flag wins, and the fuzzed ones are still parsed).
    """

    command: str
    positionals: tuple[st.SearchStrategy[list[str]], ...] = ()
    flags: dict[str, st.SearchStrategy[list[str]]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    prefix: tuple[str, ...] = ()
    suffix: tuple[str, ...] = ()


@st.composite
def argv_for(draw: st.DrawFn, spec: Spec) -> list[str]:
    """A command line for ``spec``: a plausible one, then up to three mutations.

    Mutations: a token replaced by a :func:`wild` one, a stray token inserted, a flag or
    positional dropped (missing) or repeated; then the groups are shuffled. About a third of
    the draws stay plausible, so the library is reached, not only argparse.
    """
    groups: list[list[str]] = [draw(positional) for positional in spec.positionals]
    for flag, values in spec.flags.items():
        if flag in spec.required or draw(st.booleans()):
            groups.append([flag, *draw(values)])
    for _ in range(draw(st.sampled_from((0, 0, 1, 1, 2, 3)))):
        kind = draw(st.sampled_from(("replace", "replace", "insert", "drop", "repeat")))
        if kind == "insert" or not groups:
            groups.append([draw(wild())])
            continue
        j = draw(st.integers(0, len(groups) - 1))
        if kind == "drop":
            del groups[j]
        elif kind == "repeat":
            groups.append(list(groups[j]))
        elif groups[j]:
            k = draw(st.integers(0, len(groups[j]) - 1))
            groups[j][k] = draw(wild())
    order = draw(st.permutations(range(len(groups))))
    body = [token for j in order for token in groups[j]]
    return [spec.command, *spec.prefix, *body, *spec.suffix]


@dataclass
class Outcome:
    """What one run printed and returned."""

    argv: list[str]
    status: int | None
    out: str
    err: str
    seconds: float


def run_in_process(argv: Sequence[str]) -> Outcome:
    """``tconv.cli.main(argv)`` with stdout/stderr captured; SystemExit gives the status.

    Any other exception escaping ``main`` is what a user would see as a traceback: it is
    returned as status None with the traceback in ``err``.
    """
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    threads = torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status: int | None = main(list(argv))
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # a traceback the user would see
        status = None
        err.write(traceback.format_exc())
    finally:
        torch.set_num_threads(threads)
    return Outcome(list(argv), status, out.getvalue(), err.getvalue(), time.perf_counter() - start)


def run_subprocess(
    argv: Sequence[str], *, timeout: float = 60.0, cwd: str | None = None
) -> Outcome:
    """``python -m tconv argv`` in a fresh interpreter: real exit codes, real crashes."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tconv", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        check=False,
    )
    return Outcome(
        list(argv), done.returncode, done.stdout, done.stderr, time.perf_counter() - start
    )


def run_subprocesses(argvs: Sequence[Sequence[str]], **kwargs: object) -> list[Outcome]:
    """:func:`run_subprocess` for each argv, a few at a time (most of each is importing torch)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda argv: run_subprocess(argv, **kwargs), argvs))  # type: ignore[arg-type]


def assert_contract(
    result: Outcome,
    command: str,
    *,
    time_limit: float = TIME_LIMIT,
    quiet_on_error: bool = True,
) -> None:
    """Exit 0, or exit 2 with one ``tconv <command>: error:`` line; no traceback; in time.

    ``quiet_on_error``: a failing run prints nothing on stdout (a subcommand that reports
    progress before it fails passes False).
    """
    where = f"argv={result.argv!r}\nstdout={result.out[-2000:]!r}\nstderr={result.err[-4000:]!r}"
    assert "Traceback" not in result.out + result.err, where
    assert result.status in (0, 2), f"exit status {result.status}\n{where}"
    assert result.seconds <= time_limit, f"took {result.seconds:.1f} s\n{where}"
    if result.status == 2:
        lines = result.err.splitlines()
        assert len(lines) == 1, f"expected one line on stderr\n{where}"
        assert lines[0].startswith(f"tconv {command}: error: "), where
        if quiet_on_error:
            assert result.out == "", where


def tiny_model() -> torch.nn.Module:
    """A small 2-D model for ``tconv inspect cli_fuzz:tiny_model`` (3 -> 2 channels, x2)."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1),
    )
