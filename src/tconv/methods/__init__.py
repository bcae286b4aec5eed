"""Ways of computing a transposed convolution, all exact, and THE registry of them.

Each method lives in its own module, exposes ``forward(x, weight, bias, geom) -> Tensor`` and
declares itself in a :class:`~tconv.methods.spec.MethodSpec` (``METHOD``); :data:`REGISTRY`
lists them, and every list of methods (``tconv.METHODS``, auto's candidates, the benchmark's
contenders, the command line's choices) derives from it:

- ``"native"``: torch's kernel;
- ``"matrix"``: the transposed convolution matrix;
- ``"dilate"``: zero insertion + convolution;
- ``"scatter"``: GEMM + col2im;
- ``"subpixel"``: phase decomposition;
- ``"auto"``: the fastest exact execution for each call signature, measured once.

The contract of ``forward``:

- ``x``: batched input ``(N, C_in, *I)`` (any strides, any float dtype);
- ``weight``: ``(C_in, C_out // groups, *K)``; ``bias``: ``(C_out,)`` or None;
- ``geom``: a validated :class:`tconv.shapes.Geometry` whose crops are all >= 0 and whose
  padding_mode is "zeros" (:func:`tconv.functional.apply` handles the rest).

It returns ``full[lo : L - hi]`` (+ bias) and is differentiable in ``x``, ``weight`` and ``bias``
through ordinary autograd. ``"auto"`` runs the fastest of the registry's candidates for each
call signature, in the fastest memory layout, measured once per process
(:mod:`tconv.methods.auto`).
"""

from __future__ import annotations

from typing import Literal

import torch

from .. import cache_keys
from . import auto, dilate, matrix, native, scatter, subpixel
from .spec import Forward, MethodSpec

#: THE registry: every method and execution, in the order of :data:`METHODS`.
REGISTRY: tuple[MethodSpec, ...] = (
    native.METHOD,
    native.BIAS_AFTER,
    matrix.METHOD,
    dilate.METHOD,
    scatter.METHOD,
    subpixel.METHOD,
    auto.METHOD,
)

#: The values of ``method=`` (:data:`tconv.METHODS`; a test keeps it equal to the registry's).
Method = Literal["native", "matrix", "dilate", "scatter", "subpixel", "auto"]
METHODS: tuple[str, ...] = tuple(m.name for m in REGISTRY if m.public)
#: The exact methods themselves ("auto" picks one of them per call).
EXACT_METHODS: tuple[str, ...] = tuple(m for m in METHODS if m != "auto")

# the functions by name, built once from the registry: a plain dict of functions, so that
# torch.compile traces the dispatch
_FORWARD: dict[str, Forward] = {m.name: m.forward for m in REGISTRY if m.public}

auto.consider(REGISTRY)  # auto times the registry's candidates
# tconv's caches (shapes, the methods' layouts) step aside while torch.compile traces
cache_keys.set_tracing_check(torch.compiler.is_dynamo_compiling)


def spec(name: str) -> MethodSpec:
    """The registry's entry for ``name``.

    >>> spec("subpixel").summary
    'phase decomposition'

    Raises:
        ValueError: if no entry has that name.
    """
    for m in REGISTRY:
        if m.name == name:
            return m
    raise ValueError(f"method={name!r} is invalid: valid methods are {METHODS}")


def check(name: object) -> None:
    """Raise ValueError unless ``name`` is one of :data:`METHODS`.

    >>> check("subpixel")
    >>> check("fast")
    Traceback (most recent call last):
    ...
    ValueError: method='fast' is invalid: valid methods are ('native', 'matrix', ...)
    """
    if name not in _FORWARD:
        raise ValueError(f"method={name!r} is invalid: valid methods are {METHODS}")


def get(name: str) -> Forward:
    """The ``forward`` function of method ``name`` (``"auto"`` chooses per call).

    >>> get("native") is native.forward
    True

    Raises:
        ValueError: if ``name`` is not one of :data:`METHODS`.
    """
    fn = _FORWARD.get(name)
    if fn is None:
        raise ValueError(f"method={name!r} is invalid: valid methods are {METHODS}")
    return fn
