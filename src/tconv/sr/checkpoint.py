"""Checkpoints of super-resolution models: tconv's own format, and the files users already have.

- :data:`CHECKPOINT_FORMAT` and :func:`load_checkpoint`: the checkpoint ``tconv train`` writes
  (a dict of ``task``, ``config``, ``models``, ``provenance``, ...; read with
  ``weights_only=True`` through :func:`tconv.loading.load_file`).
- :func:`read_sr_file`: the SR model of a file -- a ``tconv train sr`` checkpoint, or a
  third-party one (ESRGAN / Real-ESRGAN's RRDBNet and SRVGGNetCompact natively, other
  architectures through spandrel, :mod:`tconv.sr.thirdparty`). Each call returns its own
  module: changing one (``.double()``, ``.cuda()``, training) never changes another's.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

from torch import nn

from ..loading import LoadError, load_file

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "read_sr_file"]

#: The ``format`` entry of every checkpoint ``tconv train`` writes.
CHECKPOINT_FORMAT = "tconv-checkpoint"


def load_checkpoint(path: str | os.PathLike[str], task: str | None = None) -> dict[str, Any]:
    """Load a tconv checkpoint with ``weights_only=True``; check its format (and task).

    Args:
        path: a ``last.pt``/``model.pt`` written by ``tconv train`` (:func:`tconv.train.fit`).
        task: the task it must be of (``None``: any).

    Returns:
        The checkpoint dict.

    Raises:
        OSError: the file is missing or unreadable.
        ValueError: not a tconv checkpoint (corrupt, a pickle of other objects, another
            format), or a checkpoint of another task.

    Example:
        >>> from tconv.sr.shipped import shipped_checkpoint
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


def _is_tconv_checkpoint(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT


def _tconv_model(path: str, ckpt: dict[str, Any]) -> tuple[nn.Module, int, dict[str, Any]]:
    from .networks import model_from_config

    if ckpt.get("task") != "sr":
        raise ValueError(f"checkpoint {path!r} is of task {ckpt.get('task')!r}, not 'sr'")
    cfg = ckpt.get("config", {})
    try:
        model = model_from_config(cfg)
        if "model" in ckpt["models"]:
            model.load_state_dict(ckpt["models"]["model"])
    except (KeyError, RuntimeError, TypeError) as err:
        first = str(err).strip().splitlines()[0][:200]
        raise ValueError(f"checkpoint {path!r} does not hold an SR model: {first}") from None
    model.eval()
    return model, int(cfg["scale"]), ckpt


@functools.lru_cache(maxsize=8)
def _cached_model(
    path: str, identity: tuple[int, ...], trust_pickle: bool
) -> tuple[nn.Module, int, dict[str, Any]]:
    """The model of ``path`` (cached by the resolved path and the file's identity: device,
    inode, size and modification time in ns, so a file replaced in place is read again;
    callers get copies)."""
    from .thirdparty import read_weights, third_party_model

    obj = read_weights(path, trust_pickle=trust_pickle)
    if _is_tconv_checkpoint(obj):
        return _tconv_model(path, obj)
    return third_party_model(path, obj)


def read_sr_file(
    path: str | os.PathLike[str], *, trust_pickle: bool = False
) -> tuple[nn.Module, int, dict[str, Any]]:
    """The SR model of a file (a tconv checkpoint or a third-party one), a module of its own.

    The file is read once per resolved path and file identity (inode, size, mtime); each call
    returns a copy, so changing one (``.double()``, ``.cuda()``, training) never changes
    another caller's.

    Returns:
        ``(model in eval mode, scale, info)`` (see :func:`tconv.sr.shipped.load_sr_model`).
    """
    p = Path(path).resolve()
    st = p.stat()
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    model, scale, info = _cached_model(str(p), identity, trust_pickle)
    return copy.deepcopy(model), scale, copy.deepcopy(info)
