"""THE upsampler registry: every named way of upsampling a feature map, one meaning per name.

Each entry builds a module ``(N, C_in, H, W) -> (N, C_out, H * scale, W * scale)`` from
``(in_channels, out_channels, scale, init)`` and says in one line what it is. The training
tasks (``tconv train sr|seg|gan --upsampler NAME``), the checkerboard figure and the docs build
their upsamplers here; :class:`tconv.nn.Upsample` is the entries ``"transposed"``,
``"subpixel"``, ``"resize_conv"`` and ``"interpolate"`` (its four modes).

Every module it builds takes ``forward(x)`` (``scale`` times the input) and
``forward(x, output_size=...)``: after the stride-2 convolution an entry mirrors (its ``down``
kernel and padding), the size before it, odd sizes included (a U-Net's skip connection). An
entry with a fixed kernel (``transposed_k3``, ...) upsamples by 2 only.

Example:
    >>> import torch
    >>> x = torch.randn(1, 8, 5, 6)
    >>> for name in ("transposed_k3", "subpixel", "interpolate_bilinear"):
    ...     print(name, tuple(build(name, 8, 4, 2)(x).shape[-2:]), get(name).description)
    transposed_k3 (10, 12) transposed k3 s2 p1 op1 (uneven overlap)
    subpixel (10, 12) sub-pixel conv + ICNR
    interpolate_bilinear (10, 12) 1x1 conv + bilinear interpolation
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .blocks import Upsample
from .init import bilinear_
from .modules import ConvTranspose2d
from .shapes import IntOrTuple, ShapeError

__all__ = ["ALIASES", "UPSAMPLERS", "UpsamplerSpec", "build", "canonical", "compared", "get"]

Builder = Callable[..., torch.nn.Module]


@dataclass(frozen=True)
class UpsamplerSpec:
    """One entry of the registry.

    Attributes:
        name: the name the tasks and the command line use.
        description: what it is, in one line (the reports print it).
        builder: ``builder(in_channels, out_channels, scale, init, bias=True) -> Module``.
        down: kernel and padding of the stride-2 convolution it mirrors (the matching
            downsampling of a U-Net's encoder).
        compared: its place among the decoder upsamplers the feature-map tasks compare
            (``tconv train seg`` and ``gan``, their ``--upsampler all``; :func:`compared`):
            1, 2, ... in the order of their tables; 0 (the default) leaves it out.

    Example:
        >>> get("transposed_k4").down
        (4, 1)
    """

    name: str
    description: str
    builder: Builder
    down: tuple[int, int] = (3, 1)
    compared: int = 0


def _mode(mode: str, **options: Any) -> Builder:
    """The builder of one :class:`~tconv.nn.Upsample` mode."""

    def build(
        cin: int, cout: int, scale: IntOrTuple, init: str | None = None, bias: bool = True
    ) -> torch.nn.Module:
        return Upsample(cin, cout, scale, mode, init=init, bias=bias, **options)

    return build


def _fixed(name: str, scale: IntOrTuple, init: str | None) -> None:
    """Entries with a fixed kernel upsample by 2 with their own initialisation."""
    if scale not in (2, (2, 2)):
        raise ShapeError(f"scale={scale!r} is invalid for upsampler {name!r}: it upsamples by 2")
    if init is not None:
        raise ValueError(f"init={init!r} is invalid for upsampler {name!r}: its init is fixed")


def _transposed(name: str, kernel: int, padding: int, output_padding: int) -> Builder:
    """A ``ConvTranspose2d`` with stride 2 and torch's initialisation."""

    def build(
        cin: int, cout: int, scale: IntOrTuple, init: str | None = None, bias: bool = True
    ) -> torch.nn.Module:
        _fixed(name, scale, init)
        return ConvTranspose2d(
            cin, cout, kernel, stride=2, padding=padding, output_padding=output_padding, bias=bias
        )

    return build


def _transposed_bilinear(
    cin: int, cout: int, scale: IntOrTuple, init: str | None = None, bias: bool = True
) -> torch.nn.Module:
    """k4 s2 p1 started as exact bilinear (``c_out -> c_out``), after a 1x1 conv to ``c_out``
    when the channels change."""
    _fixed("transposed_bilinear", scale, init)
    up = ConvTranspose2d(cout, cout, 4, stride=2, padding=1, bias=bias)
    bilinear_(up.weight, 2)
    if up.bias is not None:
        torch.nn.init.zeros_(up.bias)
    return up if cin == cout else _Sequential(torch.nn.Conv2d(cin, cout, 1, bias=bias), up)


class _Sequential(torch.nn.Sequential):
    """A 1x1 convolution then an upsampler that takes ``output_size``."""

    def forward(self, x: torch.Tensor, output_size: IntOrTuple | None = None) -> torch.Tensor:
        return self[1](self[0](x), output_size=output_size)


_ENTRIES = (
    UpsamplerSpec(
        "transposed",
        "transposed conv k = 2 x scale, 'same' crop, ICNR (tconv.nn.Upsample's default)",
        _mode("transposed"),
    ),
    UpsamplerSpec("subpixel", "sub-pixel conv + ICNR", _mode("subpixel"), compared=4),
    UpsamplerSpec("resize_conv", "nearest resize + 3x3 conv", _mode("resize_conv"), compared=5),
    UpsamplerSpec(
        "interpolate",
        "nearest resize (a 1x1 conv first if the channels change)",
        _mode("interpolate"),
    ),
    UpsamplerSpec(
        "interpolate_bilinear",
        "1x1 conv + bilinear interpolation",
        _mode("interpolate", interpolation="linear"),
        compared=6,
    ),
    *(
        UpsamplerSpec(name, description, _transposed(name, k, p, op), down=(k, p), compared=c)
        for name, k, p, op, description, c in (
            ("transposed_k2", 2, 0, 0, "transposed k2 s2 (no overlap)", 1),
            ("transposed_k3", 3, 1, 1, "transposed k3 s2 p1 op1 (uneven overlap)", 2),
            ("transposed_k4", 4, 1, 0, "transposed k4 s2 p1 (even overlap)", 3),
        )
    ),
    UpsamplerSpec(
        "transposed_bilinear",
        "transposed k4 s2 p1 started as exact bilinear (a 1x1 conv first if the channels change)",
        _transposed_bilinear,
        down=(4, 1),
    ),
)

#: The registry: name -> entry.
UPSAMPLERS: dict[str, UpsamplerSpec] = {e.name: e for e in _ENTRIES}
#: Old spellings still accepted: old name -> registry name.
ALIASES: dict[str, str] = {"bilinear": "interpolate_bilinear"}


def compared() -> tuple[str, ...]:
    """The entries the feature-map tasks compare (``compared`` > 0), in their tables' order.

    Returns:
        The names.

    Example:
        >>> compared()[:4]
        ('transposed_k2', 'transposed_k3', 'transposed_k4', 'subpixel')
    """
    return tuple(e.name for e in sorted(_ENTRIES, key=lambda e: e.compared) if e.compared)


def canonical(name: str) -> str:
    """The registry name of ``name`` (itself, or the entry an old spelling stands for).

    Args:
        name: a registry name or an alias.

    Returns:
        The registry name (unchecked: :func:`get` checks it).

    Example:
        >>> canonical("bilinear"), canonical("subpixel")
        ('interpolate_bilinear', 'subpixel')
    """
    return ALIASES.get(name, name)


def get(name: str) -> UpsamplerSpec:
    """The entry named ``name`` (or an alias of it).

    Args:
        name: one of :data:`UPSAMPLERS` or :data:`ALIASES`.

    Returns:
        Its :class:`UpsamplerSpec`.

    Raises:
        ValueError: for an unknown name, naming the valid ones.

    Example:
        >>> get("resize_conv").description
        'nearest resize + 3x3 conv'
    """
    spec = UPSAMPLERS.get(canonical(name))
    if spec is None:
        raise ValueError(f"upsampler={name!r} is invalid: valid upsamplers are {tuple(UPSAMPLERS)}")
    return spec


def build(
    name: str,
    in_channels: int,
    out_channels: int,
    scale: IntOrTuple = 2,
    init: str | None = None,
    *,
    bias: bool = True,
) -> torch.nn.Module:
    """A fresh upsampler ``name`` from ``in_channels`` to ``out_channels`` channels.

    Args:
        name: one of :data:`UPSAMPLERS` (or an alias).
        in_channels: channels of the input.
        out_channels: channels of the output.
        scale: the factor (2 for the entries with a fixed kernel).
        init: the initialisation, for the entries that have a choice (``tconv.nn.Upsample``'s
            ``init``); None for the entry's own.
        bias: whether its convolutions have a bias.

    Returns:
        The module, initialised from torch's random generator.

    Shape:
        - Input: ``(N, C_in, H, W)``
        - Output: ``(N, C_out, H * scale, W * scale)``

    Raises:
        ValueError: an unknown name, or an ``init`` the entry does not take.
        ShapeError: a scale the entry cannot do.

    Example:
        >>> build("transposed_k4", 3, 3)
        ConvTranspose2d(3, 3, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
    """
    return get(name).builder(in_channels, out_channels, scale, init, bias=bias)
