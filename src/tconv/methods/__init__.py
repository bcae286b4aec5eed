"""Ways of computing a transposed convolution, all exact.

Each method lives in its own module and exposes ``forward(x, weight, bias, geom) -> Tensor``:

- ``x``: batched input ``(N, C_in, *I)`` (any strides, any float dtype);
- ``weight``: ``(C_in, C_out // groups, *K)``; ``bias``: ``(C_out,)`` or None;
- ``geom``: a validated :class:`tconv.shapes.Geometry` whose crops are all >= 0 and whose
  padding_mode is "zeros" (:func:`tconv.functional.apply` handles the rest).

It returns ``full[lo : L - hi]`` (+ bias) and is differentiable in ``x``, ``weight`` and ``bias``
through ordinary autograd. ``"auto"`` picks one of the others per call (see :func:`choose`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from torch import Tensor

from ..shapes import Geometry
from . import dilate, matrix, native, scatter, subpixel

Forward = Callable[[Tensor, Tensor, "Tensor | None", Geometry], Tensor]

#: The ways of computing it (the one registry of names; :data:`tconv.METHODS`).
Method = Literal["native", "matrix", "dilate", "scatter", "subpixel", "auto"]
METHODS: tuple[str, ...] = get_args(Method)
#: The exact methods themselves ("auto" picks one of them per call).
EXACT_METHODS: tuple[str, ...] = tuple(m for m in METHODS if m != "auto")


def choose(x: Tensor, weight: Tensor, geom: Geometry) -> str:
    """The method ``"auto"`` uses for this call.

    PyTorch's own kernel (``native``) is the fastest exact method on every layer of the
    benchmark catalog (``benchmarks/methods.py``; figures in docs/benchmarks.md: the others
    cost 2-4x on CPU, matrix far more), so auto uses it. The choice is made per call so
    that a measured exception can be added here without changing callers.

    >>> import torch
    >>> from tconv.shapes import Geometry
    >>> choose(torch.zeros(1, 2, 4), torch.zeros(2, 2, 3), Geometry.create(3))
    'native'
    """
    return "native"


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
    """The ``forward`` function of method ``name`` (``"auto"`` resolved for this call)."""
    if name == "auto":
        name = choose(x, weight, geom)
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
