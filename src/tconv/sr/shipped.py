"""The shipped SR models (package data ``tconv/weights/sr_x{2,4}.pt``) and how a model is
chosen: :func:`shipped_model`, :func:`select_model`."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from torch import nn

from .checkpoint import read_sr_file
from .ensembles import TwoPathX4

__all__ = [
    "QUALITIES",
    "SHIPPED_SCALES",
    "load_sr_model",
    "select_model",
    "shipped_checkpoint",
    "shipped_model",
]

#: Scales with a shipped model (package data ``tconv/weights/sr_x{scale}.pt``).
SHIPPED_SCALES: tuple[int, ...] = (2, 4)
#: The quality settings of the shipped models (:func:`shipped_model`): ``"fast"`` is the
#: model of the scale; ``"best"`` (x4 only) is :class:`TwoPathX4`.
QUALITIES: tuple[str, ...] = ("fast", "best")


def shipped_checkpoint(scale: int) -> Path:
    """Path of the shipped checkpoint for ``scale``.

    Args:
        scale: 2 or 4.

    Returns:
        The path of ``tconv/weights/sr_x{scale}.pt`` (package data).

    Raises:
        ValueError: no model is shipped for ``scale``.

    >>> shipped_checkpoint(2).name
    'sr_x2.pt'
    """
    if scale not in SHIPPED_SCALES:
        raise ValueError(
            f"scale={scale!r} has no shipped model: shipped scales are {SHIPPED_SCALES} "
            "(pass --checkpoint with a model trained by 'tconv train sr --scale N')"
        )
    return Path(str(resources.files("tconv") / "weights" / f"sr_x{scale}.pt"))


def load_sr_model(
    scale: int | None = 2,
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    trust_pickle: bool = False,
) -> tuple[nn.Module, int, dict[str, Any]]:
    """The SR model of ``checkpoint`` (default: the shipped one for ``scale``), in eval mode.

    ``checkpoint`` may be a ``tconv train sr`` checkpoint or a third-party super-resolution
    file (``.pth``/``.pt`` read with ``weights_only=True``, or ``.safetensors``): ESRGAN /
    Real-ESRGAN's RRDBNet or SRVGGNetCompact, recognised from the state dict's keys (inside a
    ``params``/``params_ema`` wrapper or not), or any architecture spandrel recognises
    (:mod:`tconv.sr.thirdparty`). The scale comes from the file. Each call returns a module of
    its own (the file is read once; later calls copy it).

    Args:
        scale: the wanted scale; ``None`` accepts the checkpoint's.
        checkpoint: the file; ``None`` for the shipped model of ``scale``.
        trust_pickle: also read a full pickle (it can run code while it loads; only for files
            from a trusted source). Without it such a file is refused.

    Returns:
        ``(model, scale, info)``: for a tconv checkpoint ``info`` is the checkpoint dict; for a
        third-party file ``{"task": "sr", "architecture": name, "source": ...}``.

    Raises:
        OSError: the file is missing.
        ValueError: no shipped model for ``scale``; an unreadable, unsafe (a pickle without
            ``trust_pickle``) or unrecognised file; a checkpoint of another task, or one whose
            scale is not ``scale``.
        ImportError: an architecture that needs spandrel, which cannot be imported (the
            message says why and how to fix it).

    >>> model, s, ckpt = load_sr_model(2)
    >>> s, ckpt["task"], ckpt["provenance"]["command"].startswith("tconv train sr")
    (2, 'sr', True)
    >>> load_sr_model(2)[0] is load_sr_model(2)[0]  # a module of its own for each caller
    False
    """
    if scale is not None and (not isinstance(scale, int) or isinstance(scale, bool)):
        raise TypeError(f"scale={scale!r} is invalid: it must be an int")
    if checkpoint is None:
        if scale is None:
            raise ValueError("pass a scale or a checkpoint")
        path = shipped_checkpoint(scale)
    else:
        path = Path(checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    model, found, info = read_sr_file(path, trust_pickle=trust_pickle)
    if scale is not None and found != scale:
        raise ValueError(
            f"checkpoint {str(path)!r} is a x{found} model, not x{scale}: leave --scale out "
            f"(the file says x{found}) or pass --scale {found}"
        )
    return model, found, info


def shipped_model(scale: int = 2, quality: str = "fast") -> nn.Module:
    """The shipped SR model for ``scale`` at a quality setting (eval mode).

    Args:
        scale: 2 or 4 (:data:`SHIPPED_SCALES`).
        quality: ``"fast"``: the shipped model of that scale (as :func:`load_sr_model`);
            ``"best"`` (x4 only): :class:`TwoPathX4` of the two shipped models, +0.11 dB over
            ``"fast"`` on the held-out photos and +0.09 dB on 12 photos outside the project
            (11 of them better) for about 4 times the time.

    Returns:
        The model, mapping ``(N, 3, h, w)`` to ``(N, 3, h * scale, w * scale)``.

    Raises:
        ValueError: an unknown quality, ``"best"`` at a scale other than 4, or a scale without
            a shipped model.

    Example:
        >>> import torch
        >>> shipped_model(4, "best")(torch.rand(1, 3, 6, 5)).shape
        torch.Size([1, 3, 24, 20])
    """
    if quality not in QUALITIES:
        raise ValueError(f"quality={quality!r} is invalid: valid qualities are {QUALITIES}")
    if quality == "best" and scale != 4:
        raise ValueError(
            f"quality='best' is invalid at scale {scale!r}: it exists for scale 4 (the x4 model "
            "averaged with the x2 model applied twice); at x2 the shipped model is the best "
            "one ('fast'), and --ensemble (ensemble=True) adds about +0.09 dB"
        )
    model = load_sr_model(scale)[0]
    if quality == "best":
        model = TwoPathX4(model, load_sr_model(2)[0]).eval()
    return model


def select_model(
    scale: int | None = 2,
    checkpoint: str | os.PathLike[str] | None = None,
    quality: str = "fast",
    model: nn.Module | None = None,
    *,
    trust_pickle: bool = False,
) -> tuple[nn.Module, int]:
    """The model :func:`upscale` runs, and its scale, from the ways of naming one.

    Args:
        scale: the wanted scale (a checkpoint's must match it); ``None``: the checkpoint's
            (2 for the shipped models).
        checkpoint: a ``tconv train sr`` checkpoint or a third-party SR file (see
            :func:`load_sr_model`).
        quality: the shipped model's setting (:func:`shipped_model`); only ``"fast"`` goes
            with ``checkpoint`` or ``model``.
        model: a module to use as it is (with ``scale``).
        trust_pickle: read a checkpoint that is a full pickle (see :func:`load_sr_model`).

    Returns:
        ``(model, scale)``.

    Raises:
        ValueError: an unknown quality, one other than ``"fast"`` with a checkpoint or a
            model, or what :func:`load_sr_model` and :func:`shipped_model` raise.

    Example:
        >>> select_model(4, quality="best")[0].__class__.__name__
        'TwoPathX4'
    """
    if quality not in QUALITIES:
        raise ValueError(f"quality={quality!r} is invalid: valid qualities are {QUALITIES}")
    if quality != "fast":
        if checkpoint is not None or model is not None:
            raise ValueError(
                f"quality={quality!r} (--quality {quality}) is invalid with a checkpoint or a "
                "model: the quality settings are of the shipped models (drop one of them)"
            )
        scale = 2 if scale is None else scale
        return shipped_model(scale, quality), scale
    if model is None:
        if checkpoint is None and scale is None:
            scale = 2
        model, scale, _ = load_sr_model(scale, checkpoint, trust_pickle=trust_pickle)
    elif scale is None:
        raise ValueError("scale=None is invalid with a model: pass the model's scale")
    return model, scale
