"""The one formatter of messages on one line (the command line's errors, foreign errors quoted
inside ours). Standard library only."""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(text: object, *, foreign: bool = False) -> str:
    """A message on one line.

    Args:
        text: a message or an exception.
        foreign: ``text`` is an exception raised by other code (torch, a user's module), quoted
            inside one of ours: ``"TypeName: its first line"`` (its detail lines are dropped).

    Returns:
        The lines of ``text`` joined with ``'; '`` (tracebacks never reach the user), or for a
        foreign error its type and first line.

    Example:
        >>> one_line("bad value\\n  valid: 1 to 3\\n")
        'bad value; valid: 1 to 3'
        >>> one_line(RuntimeError("shapes differ\\nmore detail"), foreign=True)
        'RuntimeError: shapes differ'
    """
    if foreign:
        first = str(text).strip().splitlines()
        return f"{type(text).__name__}: {first[0] if first else ''}".rstrip(": ")
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return "; ".join(lines) or "(no message)"
