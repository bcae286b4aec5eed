"""Ways of computing a transposed convolution, all exact.

Each method lives in its own module and exposes ``forward(x, weight, bias, geom) -> Tensor``:

- ``x``: batched input ``(N, C_in, *I)`` (any strides, any float dtype);
- ``weight``: ``(C_in, C_out // groups, *K)``; ``bias``: ``(C_out,)`` or None;
- ``geom``: a validated :class:`tconv.shapes.Geometry` whose crops are all >= 0 and whose
  padding_mode is "zeros" (:func:`tconv.functional.apply` handles the rest).

It returns ``full[lo : L - hi]`` (+ bias) and is differentiable in ``x``, ``weight`` and ``bias``
through ordinary autograd. ``"auto"`` runs the fastest of them for each call signature, in
the fastest memory layout, measured once per process (:mod:`tconv.methods.auto`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from torch import Tensor

from ..shapes import Geometry
from . import auto, dilate, matrix, native, scatter, subpixel

Forward = Callable[[Tensor, Tensor, "Tensor | None", Geometry], Tensor]

#: The ways of computing it (the one registry of names; :data:`tconv.METHODS`).
Method = Literal["native", "matrix", "dilate", "scatter", "subpixel", "auto"]
METHODS: tuple[str, ...] = get_args(Method)
#: The exact methods themselves ("auto" picks one of them per call).
EXACT_METHODS: tuple[str, ...] = tuple(m for m in METHODS if m != "auto")


def choose(x: Tensor, weight: Tensor, geom: Geometry) -> str:
    """The execution ``"auto"`` runs for this call (see :mod:`tconv.methods.auto`).

    A method name, optionally with the memory layout it runs in (``"native/channels_last"``):
    measured once per call signature and cached for the process, or a fixed rule when
    measuring is off (``tconv.set_autotune(False)``, ``TCONV_AUTOTUNE=0``).

    >>> import torch
    >>> from tconv.shapes import Geometry
    >>> choose(torch.zeros(1, 2, 4), torch.zeros(2, 2, 3), Geometry.create(3)) in auto.EXECUTIONS
    True
    """
    return auto.choose(x, weight, None, geom)


def check(name: object) -> None:
    """Raise ValueError unless ``name`` is one of :data:`METHODS`.

    >>> check("subpixel")
    >>> check("fast")
    Traceback (most recent call last):
    ...
    ValueError: method='fast' is invalid: valid methods are ('native', 'matrix', ...)
    """
    if name not in METHODS:
        raise ValueError(f"method={name!r} is invalid: valid methods are {METHODS}")


def get(name: str, x: Tensor, weight: Tensor, geom: Geometry) -> Forward:
    """The ``forward`` function of method ``name`` (``"auto"`` chooses per call)."""
    if name == "auto":
        return auto.forward
    if name not in EXACT_METHODS:
        raise ValueError(f"method={name!r} is invalid: valid methods are {METHODS}")
    fn: Forward = _FORWARD[name]
    return fn


# static imports (not importlib) so that torch.compile can trace the dispatch
_FORWARD: dict[str, Forward] = {
    "native": native.forward,
    "matrix": matrix.forward,
    "dilate": dilate.forward,
    "scatter": scatter.forward,
    "subpixel": subpixel.forward,
}
