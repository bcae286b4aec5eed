"""Loading models and tensors from what a user names: files never run code unless trusted.

A pickle can run arbitrary code when it is loaded, so a file someone sent you must not be
unpickled in full just to look at it. :func:`load_file` is the one way the command line reads
a torch file:

1. TorchScript (``torch.jit.save``): loaded with ``torch.jit.load``;
2. otherwise ``torch.load(weights_only=True)``: tensors, numbers, strings and containers of
   them (a ``state_dict``, a checkpoint dict), never arbitrary objects;
3. a full pickle (``torch.save(model)``) only with ``trust_pickle=True`` (the command line's
   ``--trust-pickle``); without it the error says why and how.

:func:`load_model` adds ``package.module:callable`` (code the user names explicitly, imported
like ``python -m`` would) and checks that the result is an ``nn.Module``.

Example:
    >>> import os, tempfile, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "weights.pt")
    >>> torch.save({"weight": torch.ones(2)}, path)
    >>> load_file(path)
    {'weight': tensor([1., 1.])}
    >>> torch.save(torch.nn.ReLU(), path)
    >>> load_file(path)
    Traceback (most recent call last):
    tconv.loading.LoadError: ... is a full pickle ... arbitrary code, ...: pass --trust-pickle ...
    >>> load_file(path, trust_pickle=True)
    ReLU()
"""

from __future__ import annotations

import importlib
import os
import pickle
import re
import sys
import warnings
import zipfile
from typing import Any

import torch

from ._messages import one_line

__all__ = ["LoadError", "load_file", "load_model"]


class LoadError(ValueError):
    """A file or a ``package.module:callable`` that cannot be loaded as asked (one line)."""


def _is_torchscript(path: str) -> bool:
    """True for a TorchScript archive (a zip with a ``code/`` folder), without loading it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name or name.startswith("code/") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _looks_saved_by_torch(path: str) -> bool:
    """A zip archive (torch.save's format since 1.6) or a pickle (its legacy format)."""
    if zipfile.is_zipfile(path):
        return True
    with open(path, "rb") as f:
        return f.read(1) == b"\x80"  # pickle's PROTO opcode, first in every protocol >= 2


def load_file(path: str | os.PathLike[str], *, trust_pickle: bool = False) -> Any:
    """What a torch file holds, loaded without running code from it unless trusted.

    Args:
        path: a file written by ``torch.jit.save`` or ``torch.save``.
        trust_pickle: also unpickle arbitrary objects (``torch.load(weights_only=False)``); a
            pickle can run any code while it loads, so only for files from a trusted source.

    Returns:
        A ``torch.jit.ScriptModule`` for TorchScript; otherwise what ``torch.save`` stored
        (tensors, containers of tensors and plain values; any object with ``trust_pickle``).

    Raises:
        LoadError: the path is missing or unreadable, the file is not a torch file, or it is a
            full pickle and ``trust_pickle`` is False (the message says why and how).
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise LoadError(f"{name!r} does not exist")
    if os.path.isdir(name):
        raise LoadError(f"{name!r} is a directory, not a file saved by torch")
    with warnings.catch_warnings():  # torch's advice on stderr would break the one-line answer
        warnings.simplefilter("ignore")
        return _load(name, trust_pickle)


def _load(name: str, trust_pickle: bool) -> Any:
    if _is_torchscript(name):
        try:
            return torch.jit.load(name, map_location="cpu")
        except Exception as err:  # torch raises RuntimeError and friends for broken archives
            why = one_line(err, foreign=True)
            raise LoadError(f"cannot load TorchScript file {name!r}: {why}") from err
    if not _looks_saved_by_torch(name):
        raise LoadError(
            f"cannot load {name!r}: not a file saved by torch (neither TorchScript nor "
            "torch.save's archive or pickle)"
        )
    try:
        return torch.load(name, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if not trust_pickle:
            needs = re.search(r"GLOBAL ([\w.]+)", str(err))
            what = (
                f"{name!r} is a full pickle (it holds Python objects such as {needs.group(1)}, "
                "not only tensors); unpickling can run arbitrary code, so tconv does not load "
                "it by default"
                if needs
                else f"{name!r} cannot be read as weights only (tensors and plain containers); "
                "if it is a full pickle, unpickling it can run arbitrary code, so tconv does not "
                "by default"
            )
            raise LoadError(
                f"{what}: pass --trust-pickle (trust_pickle=True) only if you trust where the "
                "file came from, or save the model with torch.jit.save, or its state_dict for a "
                "'package.module:callable'"
            ) from err
    except Exception as err:  # not a torch file: torch raises RuntimeError, EOFError, ...
        raise LoadError(f"cannot load {name!r}: {one_line(err, foreign=True)}") from err
    try:
        return torch.load(name, map_location="cpu", weights_only=False)
    except Exception as err:  # the pickle's own code may raise anything
        raise LoadError(f"cannot unpickle {name!r}: {one_line(err, foreign=True)}") from err


def load_model(spec: str, *, trust_pickle: bool = False) -> torch.nn.Module:
    """A module from ``"package.module:callable"`` or from a file saved by torch.

    ``callable`` (dots allowed) is called with no arguments unless it already is a module; the
    current directory is importable, as with ``python -m``. A file is read by
    :func:`load_file` (TorchScript or weights-only; a pickled module needs ``trust_pickle``).

    Args:
        spec: ``"package.module:callable"`` or the path of a saved module.
        trust_pickle: allow a full pickle (``torch.save(model)``); see :func:`load_file`.

    Returns:
        The module (a ``torch.jit.ScriptModule`` for TorchScript files).

    Raises:
        LoadError: naming what could not be found, imported, loaded or called.

    Example:
        >>> load_model("torch.nn:ReLU")
        ReLU()
    """
    if os.path.exists(spec):
        return _as_module(load_file(spec, trust_pickle=trust_pickle), spec)
    if ":" not in spec:
        raise LoadError(
            f"{spec!r} is neither a file nor 'package.module:callable' (e.g. "
            "mypkg.models:build_unet)"
        )
    module_name, attr = spec.split(":", 1)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as err:  # importing user code may raise anything
        raise LoadError(f"cannot import {module_name!r}: {one_line(err, foreign=True)}") from err
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise LoadError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not isinstance(obj, torch.nn.Module):
        if not callable(obj):
            raise LoadError(f"{spec!r} is a {type(obj).__name__}, not a module or a callable")
        try:
            obj = obj()
        except Exception as err:  # user code may raise anything
            raise LoadError(f"calling {spec} failed: {one_line(err, foreign=True)}") from err
    if not isinstance(obj, torch.nn.Module):
        raise LoadError(f"{spec} returned a {type(obj).__name__}, not a torch.nn.Module")
    return obj


def _as_module(obj: Any, path: str) -> torch.nn.Module:
    if isinstance(obj, torch.nn.Module):
        return obj
    kind = "a state_dict" if isinstance(obj, dict) else f"a {type(obj).__name__}"
    raise LoadError(
        f"{path!r} holds {kind}, not a module; save the module with torch.jit.save (or "
        "torch.save(model), read with --trust-pickle), or pass 'package.module:callable'"
    )
