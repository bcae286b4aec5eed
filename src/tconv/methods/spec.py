"""What a method declares about itself: :class:`MethodSpec` (the entries of the registry in
:mod:`tconv.methods`).

Every method takes the contract of :mod:`tconv.methods`: ranks 1 to 3, any groups and
dilation, every float dtype and device, non-negative crops in the zeros mode
(:func:`tconv.functional.apply` reaches the other crops and padding modes around it). The
fields say where methods differ: whether ``method=`` names it, whether ``"auto"`` times it, the
calls it needs, and how the benchmark treats it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor

from ..shapes import Geometry

__all__ = ["Forward", "MethodSpec"]

Forward = Callable[[Tensor, Tensor, "Tensor | None", Geometry], Tensor]


@dataclass(frozen=True)
class MethodSpec:
    """One way of computing a transposed convolution, as the registry lists it.

    Attributes:
        name: the value of ``method=`` (or, with ``public=False``, of an execution of auto).
        forward: ``forward(x, weight, bias, geom) -> Tensor``, the contract of
            :mod:`tconv.methods`.
        summary: one line saying how it computes (the docs' lists of methods).
        public: whether ``method=`` accepts it (False: only ``"auto"`` runs it).
        candidate: whether ``"auto"`` times it for every call signature.
        needs_bias: ``"auto"`` considers it only for calls with a bias.
        needs_groups: ... only for grouped layers (``groups > 1``).
        needs_grad: ... only for calls whose gradients are recorded (it differs from
            another candidate only in its backward).
        benchmark: whether ``tconv bench`` times it by default.
        max_macs: ``tconv bench`` skips layers with more multiply-adds (its memory grows
            with them); None for no bound.
        color: its colour in the benchmark's plot.

    Example:
        >>> from tconv.methods import REGISTRY
        >>> [m.name for m in REGISTRY if m.candidate]
        ['native', 'native+bias', 'subpixel', 'grouped']
    """

    name: str
    forward: Forward
    summary: str
    public: bool = True
    candidate: bool = False
    needs_bias: bool = False
    needs_groups: bool = False
    needs_grad: bool = False
    benchmark: bool = True
    max_macs: int | None = None
    color: str = "#7f7f7f"

    def considered(self, bias: bool, groups: int = 1, grad: bool = False) -> bool:
        """Whether ``"auto"`` times it for a call with (``bias=True``) or without a bias, on
        a layer of ``groups`` groups, with gradients recorded (``grad``) or not."""
        return (
            self.candidate
            and (bias or not self.needs_bias)
            and (groups > 1 or not self.needs_groups)
            and (grad or not self.needs_grad)
        )
