"""Checkpoint files: a config as a plain dict and back, the atomic save, and the checked
load (``weights_only=True``, through :mod:`tconv.loading`).

A checkpoint (``DIR/last.pt``, replaced atomically every epoch) is a plain dict of tensors,
numbers, strings, lists and dicts, so ``torch.load(path, weights_only=True)`` reads it:

    {"format": "tconv-checkpoint", "version": 1, "task": name, "epoch": n (epochs done),
     "config": {...}, "models": {name: state_dict}, "optimizers": {name: state_dict},
     "history": [per-epoch metrics], "metrics": last epoch's metrics, "rng": {...},
     "provenance": {"command": ..., "seed": ..., "data": ...}}

``DIR/model.pt`` is the same without optimizers and RNG state: the weights to ship.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch

from .._files import write_atomic
from ..loading import LoadError, load_file

CHECKPOINT_FORMAT = "tconv-checkpoint"
CHECKPOINT_VERSION = 1
LAST = "last.pt"
MODEL = "model.pt"


# ---------------------------------------------------------------------------------------------
# configs


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a plain dict."""
    return dataclasses.asdict(config)


def config_from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Build the ``cls`` dataclass from ``values``, naming an unknown field in a ValueError.

    Args:
        cls: a dataclass type (a task's ``Config``).
        values: field values by name.

    Returns:
        ``cls(**values)``.

    Raises:
        ValueError: ``values`` names a field ``cls`` does not have.

    Example:
        >>> @dataclasses.dataclass
        ... class C:
        ...     epochs: int = 1
        >>> config_from_dict(C, {"epochs": 3})
        C(epochs=3)
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown config fields {unknown}: valid fields are {sorted(names)}")
    return cls(**values)


# ---------------------------------------------------------------------------------------------
# checkpoints


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename it over ``path``.

    A reader never sees a half-written file: ``path`` holds either the old content or the new.
    The file gets the usual mode (``0o666`` less the umask).

    Args:
        obj: what to save (a checkpoint dict, a tensor, ...).
        path: the file to write or replace; its folder must exist.

    Raises:
        OSError: the folder does not exist or is not writable (the temporary file is removed
            first, as on any error of ``torch.save``, which is raised as it is).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "weights.pt"
        ...     save_atomic({"w": torch.ones(2)}, path)
        ...     torch.load(path, weights_only=True)["w"].tolist(), os.listdir(folder)
        ([1.0, 1.0], ['weights.pt'])
    """
    write_atomic(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: str | os.PathLike[str], task: str | None = None) -> dict[str, Any]:
    """Load a tconv checkpoint with ``weights_only=True``; check its format (and task).

    Args:
        path: a ``last.pt``/``model.pt`` written by :func:`fit`.
        task: the task it must be of (``None``: any).

    Returns:
        The checkpoint dict (see the module docstring).

    Raises:
        OSError: the file is missing or unreadable.
        ValueError: not a tconv checkpoint (corrupt, a pickle of other objects, another
            format), or a checkpoint of another task.

    Example:
        >>> from tconv.upscale import shipped_checkpoint
        >>> load_checkpoint(shipped_checkpoint(2), task="sr")["config"]["scale"]
        2
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {str(p)!r} does not exist")
    try:
        ckpt = load_file(p)  # the one loader: weights only, never arbitrary objects
    except LoadError as err:  # UnpicklingError, RuntimeError (zip), EOFError ... underneath
        cause = err.__cause__ or err
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise ValueError(
            f"checkpoint {str(p)!r} cannot be read as plain weights (weights_only=True): "
            f"{first[:200]}"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"checkpoint {str(p)!r} is not a tconv checkpoint (no format={CHECKPOINT_FORMAT!r} "
            "entry); make one with 'tconv train'"
        )
    if task is not None and ckpt.get("task") != task:
        raise ValueError(f"checkpoint {str(p)!r} is of task {ckpt.get('task')!r}, not {task!r}")
    return ckpt
