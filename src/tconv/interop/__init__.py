"""Exact conversion of transposed convolutions to and from other frameworks.

Each submodule speaks one framework and imports it only inside its functions, so
``import tconv`` and ``import tconv.interop`` need neither of them:

- :mod:`tconv.interop.keras` -- Keras 3 ``Conv{1,2,3}DTranspose`` (``from_keras``/``to_keras``);
- :mod:`tconv.interop.jax` -- ``jax.lax.conv_transpose`` arguments (``from_lax``/``to_lax``) and
  ``flax.linen.ConvTranspose`` (``from_flax``/``to_flax``);
- :mod:`tconv.interop.onnx` -- an ONNX ``ConvTranspose`` node (``from_node``/``from_model``) and
  ``export`` to a one-node ONNX model.

Every converter goes through the one geometry of :mod:`tconv.shapes`: a framework's padding
convention becomes per-dimension crops ``(lo, hi)`` of the full output, and a module's crops
become the framework's arguments (or a :class:`~tconv.ShapeError` naming what the framework
cannot express). The conventions, verified against the frameworks themselves, are tabulated in
``docs/conventions.md``.

>>> import tconv.interop.onnx as tonnx     # imports no framework until a function needs it
>>> tonnx.output_shape_crop(11, 0, 8, "SAME_UPPER")
(1, 2)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..modules import from_geometry
from ..shapes import Geometry, PaddingSpec

__all__: list[str] = []


def _parameters(module: torch.nn.Module) -> tuple[Tensor, Tensor | None]:
    """A module's weight and bias (None without one), detached, on the CPU."""
    weight, bias = module.weight, module.bias
    if not isinstance(weight, Tensor) or not (bias is None or isinstance(bias, Tensor)):
        raise TypeError(f"{type(module).__name__} has no weight/bias tensors")
    return weight.detach().cpu(), None if bias is None else bias.detach().cpu()


def _build(
    geometry: Geometry,
    weight: Tensor,
    bias: Tensor | None,
    padding: PaddingSpec | None = None,
    output_padding: int | tuple[int, ...] = 0,
    cls: Any = None,
) -> torch.nn.Module:
    """A tconv module with ``geometry`` and these parameters (copied).

    ``padding``/``output_padding`` spell the crops when given (checked against ``geometry``);
    otherwise PyTorch's own ``padding, output_padding`` are used where they can say it, else
    explicit ``(begin, end)`` pairs.
    """
    return from_geometry(
        geometry, weight, bias, padding=padding, output_padding=output_padding, cls=cls
    )


def _describe_crop(geometry: Geometry) -> str:
    """One line naming a geometry's settings, for error messages."""
    return (
        f"kernel_size={geometry.kernel_size}, stride={geometry.stride}, "
        f"dilation={geometry.dilation}"
    )
