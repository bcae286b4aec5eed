"""The one atomic file writer: a reader never sees a half-written file. Standard library only."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], save: Callable[[BinaryIO], object]) -> None:
    """``save(binary file)`` into a temporary file beside ``path``, then renamed over it.

    ``path`` holds either its old content or the new one, never a part; the file gets the usual
    mode (``0o666`` less the umask), as an ordinary ``open(path, "wb")`` would give it.

    Args:
        path: the file to write or replace; its folder must exist.
        save: writes the content into the binary file it is given.

    Raises:
        OSError: the folder does not exist or is not writable; any error of ``save`` is raised
            as it is, after the temporary file is removed.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "a.bin"
        ...     write_atomic(path, lambda f: f.write(b"new"))
        ...     path.read_bytes(), os.listdir(folder)
        (b'new', ['a.bin'])
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            save(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a saved file gets the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
