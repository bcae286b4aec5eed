"""The layer catalog: transposed convolutions as real upsampling networks use them.

>>> [layer.name for layer in CATALOG][:3]
['unet2d-deep', 'unet2d-mid', 'unet2d-b4']
>>> DEPTHWISE_LAYERS
('fcn-x2', 'fcn-x8', 'depthwise-k4')
>>> get("dcgan-b1").output_shape()
(1, 64, 32, 32)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ..shapes import Geometry

__all__ = ["CATALOG", "DEPTHWISE_LAYERS", "QUICK_LAYERS", "Layer", "get"]


@dataclass(frozen=True)
class Layer:
    """One transposed-convolution layer to time: input shape, output channels and settings.

    ``padding`` is anything :func:`tconv.conv_transpose` accepts (an int, ``"same"``,
    ``(begin, end)`` pairs); ``groups == in_channels`` is a depthwise layer.
    """

    name: str
    input_shape: tuple[int, ...]
    out_channels: int
    kernel_size: int
    stride: int
    padding: Any = 0
    output_padding: int = 0
    groups: int = 1
    padding_mode: str = "zeros"
    note: str = ""

    @property
    def rank(self) -> int:
        """Number of spatial dimensions."""
        return len(self.input_shape) - 2

    def geometry(self) -> Geometry:
        """The layer's :class:`tconv.shapes.Geometry`."""
        return Geometry.create(
            self.kernel_size,
            self.stride,
            self.padding,
            self.output_padding,
            1,
            self.groups,
            self.padding_mode,
            rank=self.rank,
        )

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`tconv.conv_transpose` for this layer."""
        return dict(
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            groups=self.groups,
            padding_mode=self.padding_mode,
        )

    def weight_shape(self) -> tuple[int, ...]:
        """``(C_in, C_out // groups, *K)``."""
        return (
            self.input_shape[1],
            self.out_channels // self.groups,
            *(self.kernel_size,) * self.rank,
        )

    def output_shape(self) -> tuple[int, ...]:
        """``(N, C_out, *O)``."""
        out = self.geometry().output_size(self.input_shape[2:])
        return (self.input_shape[0], self.out_channels, *out)

    def macs(self) -> int:
        """True multiply-adds of the forward pass: every input element times every tap of its
        group (never the multiplications by inserted zeros)."""
        n, cin, *spatial = self.input_shape
        per_group_out = self.out_channels // self.groups
        return n * cin * per_group_out * math.prod(spatial) * self.kernel_size**self.rank

    @property
    def depthwise(self) -> bool:
        """Grouped with one input channel per group."""
        return self.groups > 1 and self.groups == self.input_shape[1]

    def tensors(
        self, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Seeded input, weight and bias (``randn``) in ``dtype`` on ``device``."""
        g = torch.Generator().manual_seed(0)
        x = torch.randn(*self.input_shape, generator=g)
        w = torch.randn(*self.weight_shape(), generator=g) / math.sqrt(
            self.weight_shape()[0] * self.kernel_size**self.rank / self.stride**self.rank
        )
        b = torch.randn(self.out_channels, generator=g)
        return tuple(t.to(device=device, dtype=dtype) for t in (x, w, b))  # type: ignore[return-value]

    def describe(self) -> str:
        """One line: shapes and settings."""
        pad = f" p{self.padding}" if self.padding else ""
        if isinstance(self.padding, str):
            pad = f" '{self.padding}'"
        elif (
            isinstance(self.padding, tuple) and self.padding and isinstance(self.padding[0], tuple)
        ):
            pad = " crop " + ",".join(f"{a}:{b}" for a, b in self.padding)
        op = f" op{self.output_padding}" if self.output_padding else ""
        g = f" groups {self.groups}" if self.groups > 1 else ""
        mode = f" {self.padding_mode}" if self.padding_mode != "zeros" else ""
        return (
            f"{'x'.join(map(str, self.input_shape))} -> {'x'.join(map(str, self.output_shape()))}"
            f", k{self.kernel_size} s{self.stride}{pad}{op}{g}{mode}"
        )


CATALOG: tuple[Layer, ...] = (
    Layer("unet2d-deep", (1, 512, 16, 16), 256, 2, 2, note="2-D U-Net decoder, deepest"),
    Layer("unet2d-mid", (1, 256, 32, 32), 128, 2, 2, note="2-D U-Net decoder, middle"),
    Layer("unet2d-b4", (4, 128, 32, 32), 64, 2, 2, note="2-D U-Net decoder, batch 4"),
    Layer("unet2d-top", (1, 64, 128, 128), 32, 2, 2, note="2-D U-Net decoder, top"),
    Layer("unet3d", (1, 64, 16, 16, 16), 32, 2, 2, note="3-D U-Net decoder"),
    Layer("dcgan-b16", (16, 128, 16, 16), 64, 4, 2, 1, note="DCGAN generator, batch 16"),
    Layer("dcgan-b1", (1, 128, 16, 16), 64, 4, 2, 1, note="DCGAN generator, batch 1"),
    Layer("seed-k3", (8, 64, 64, 64), 32, 3, 2, 1, 1, note="the seed article's k3 s2 p1 op1"),
    Layer("fcn-x2", (1, 21, 64, 64), 21, 4, 2, 1, groups=21, note="FCN bilinear x2"),
    Layer("fcn-x8", (1, 21, 32, 32), 21, 16, 8, 4, groups=21, note="FCN bilinear x8"),
    Layer("depthwise-k4", (4, 96, 64, 64), 96, 4, 2, 1, groups=96, note="depthwise k4 s2"),
    Layer("espcn-x3", (1, 64, 64, 64), 3, 3, 3, note="ESPCN-style sub-pixel x3"),
    Layer("hifigan-k16", (1, 256, 256), 128, 16, 8, 4, note="HiFi-GAN 1-D k16 s8"),
    Layer("hifigan-k4", (1, 64, 4096), 32, 4, 2, 1, note="HiFi-GAN 1-D k4 s2"),
    Layer("same-k3", (1, 64, 64, 64), 64, 3, 2, "same", note="padding='same' (TF/Keras/JAX)"),
    Layer("asym-k4", (1, 64, 64, 64), 64, 4, 2, ((1, 2), (2, 1)), note="asymmetric crop"),
    Layer("circular-k3", (1, 32, 64, 64), 32, 3, 2, 1, 1, padding_mode="circular", note="circular"),
)

#: The depthwise layers (groups = channels), where the target for auto is 1.5x native.
DEPTHWISE_LAYERS: tuple[str, ...] = tuple(layer.name for layer in CATALOG if layer.depthwise)

#: A subset for ``tconv bench --quick``: one layer of each kind.
QUICK_LAYERS: tuple[str, ...] = ("unet2d-b4", "dcgan-b1", "seed-k3", "fcn-x8", "hifigan-k16")


def get(name: str) -> Layer:
    """The catalog layer called ``name``.

    Raises:
        ValueError: if no layer has that name (the message lists the names).
    """
    for layer in CATALOG:
        if layer.name == name:
            return layer
    raise ValueError(
        f"layer={name!r} is invalid: valid layers are {tuple(x.name for x in CATALOG)}"
    )
