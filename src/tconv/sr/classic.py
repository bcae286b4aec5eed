"""Classic super-resolution networks, re-implemented from their papers for ``tconv train sr``.

Each network maps ``(N, 3, H, W)`` in ``[0, 1]`` to ``(N, 3, H * scale, W * scale)`` and has
``arch`` and ``scale`` attributes. The papers work on the luma channel (FSRCNN, ESPCN) or on
RGB with a mean shift (EDSR); here all three work on RGB, with the input centred by
subtracting 0.5 and 0.5 added back at the output (EDSR's "MeanShift", a constant).

- :class:`FSRCNN` -- Dong, Loy and Tang, "Accelerating the Super-Resolution Convolutional
  Neural Network" (ECCV 2016): feature extraction Conv 5x5 (3 -> d), shrinking Conv 1x1
  (d -> s), ``m`` mapping Conv 3x3 (s -> s), expanding Conv 1x1 (s -> d), PReLU after each,
  then a 9x9 **transposed convolution** of stride ``scale`` (d -> 3), ``padding="same"``
  (output = input x scale, :mod:`tconv.shapes`). The paper's FSRCNN has d=56, s=12, m=4;
  its deconvolution starts from a Gaussian of standard deviation 0.001.
- :class:`ESPCN` -- Shi et al., "Real-Time Single Image and Video Super-Resolution Using an
  Efficient Sub-Pixel Convolutional Neural Network" (CVPR 2016): Conv 5x5 (3 -> 64), tanh,
  Conv 3x3 (64 -> 32), tanh, Conv 3x3 (32 -> 3 x scale^2), pixel shuffle by ``scale``.
- :class:`EDSR` -- Lim et al., "Enhanced Deep Residual Networks for Single Image
  Super-Resolution" (CVPRW 2017), scaled down: Conv 3x3 (3 -> F); ``B`` residual blocks
  [Conv 3x3, ReLU, Conv 3x3] + identity, without batch normalisation; Conv 3x3; a global skip
  over the body; then ``log2(scale)`` sub-pixel x2 stages (:class:`tconv.nn.Upsample`
  ``"subpixel"``, ICNR) and Conv 3x3 (F -> 3). Here F=48 and B=6 (the paper's baseline has
  F=64, B=16).

:data:`ARCHS` names them with ``"srnet"``, the project's own design
(:class:`tconv.train.sr.SRNet`: a small body, the upsampler under test and a bicubic skip).

Example:
    >>> import torch
    >>> [build_arch(a, 2)(torch.rand(1, 3, 6, 7)).shape[-2:] for a in CLASSIC_ARCHS]
    [torch.Size([12, 14]), torch.Size([12, 14]), torch.Size([12, 14])]
    >>> build_arch("fsrcnn", 4)(torch.rand(1, 3, 5, 6)).shape
    torch.Size([1, 3, 20, 24])
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .. import nn as tnn

__all__ = ["ARCHS", "CLASSIC_ARCHS", "EDSR", "ESPCN", "FSRCNN", "build_arch"]

#: The networks ``tconv train sr --arch`` builds: the project's design, then the classics.
ARCHS: tuple[str, ...] = ("srnet", "fsrcnn", "espcn", "edsr")
#: The networks of this module (fixed sizes, from their papers).
CLASSIC_ARCHS: tuple[str, ...] = ("fsrcnn", "espcn", "edsr")

_MEAN = 0.5


class FSRCNN(nn.Module):
    """FSRCNN (Dong et al. 2016) on RGB; the last layer is a 9x9 transposed convolution.

    Args:
        scale: the upscaling factor (the transposed convolution's stride).
        d: channels of the feature extraction and expanding layers.
        s: channels of the shrunk mapping layers.
        m: mapping layers.

    Shape:
        - Input: ``(N, 3, H, W)`` in ``[0, 1]``
        - Output: ``(N, 3, H * scale, W * scale)`` (not clamped)

    Example:
        >>> import torch
        >>> net = FSRCNN(2)
        >>> net(torch.rand(1, 3, 8, 9)).shape, sum(p.numel() for p in net.parameters())
        (torch.Size([1, 3, 16, 18]), 24683)
        >>> net.last
        ConvTranspose2d(56, 3, kernel_size=(9, 9), stride=(2, 2), padding=same)
    """

    def __init__(self, scale: int, d: int = 56, s: int = 12, m: int = 4) -> None:
        super().__init__()
        self.arch, self.scale = "fsrcnn", scale
        layers: list[nn.Module] = [nn.Conv2d(3, d, 5, padding=2), nn.PReLU(d)]
        layers += [nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        self.last = tnn.ConvTranspose2d(d, 3, 9, stride=scale, padding="same")
        for layer in self.body:
            if isinstance(layer, nn.Conv2d):
                # He initialisation for PReLU (slope 0.25), as the paper
                nn.init.kaiming_normal_(layer.weight, a=0.25, nonlinearity="leaky_relu")
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
        nn.init.normal_(self.last.weight, std=0.001)
        assert self.last.bias is not None
        nn.init.zeros_(self.last.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.last(self.body(x - _MEAN)) + _MEAN


class ESPCN(nn.Module):
    """ESPCN (Shi et al. 2016) on RGB: three convolutions and one pixel shuffle.

    Args:
        scale: the upscaling factor (of the pixel shuffle).

    Shape:
        - Input: ``(N, 3, H, W)`` in ``[0, 1]``
        - Output: ``(N, 3, H * scale, W * scale)`` (not clamped)

    Example:
        >>> import torch
        >>> net = ESPCN(4)
        >>> net(torch.rand(1, 3, 5, 6)).shape, sum(p.numel() for p in net.parameters())
        (torch.Size([1, 3, 20, 24]), 37200)
    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.arch, self.scale = "espcn", scale
        self.net = nn.Sequential(
            nn.Conv2d(3, 64, 5, padding=2),
            nn.Tanh(),
            nn.Conv2d(64, 32, 3, padding=1),
            nn.Tanh(),
            nn.Conv2d(32, 3 * scale * scale, 3, padding=1),
            tnn.PixelShuffle(scale),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x - _MEAN) + _MEAN


class _ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(torch.relu(self.conv1(x)))


class EDSR(nn.Module):
    """EDSR-style residual network without batch normalisation (Lim et al. 2017), small.

    Args:
        scale: the upscaling factor, a power of two (one sub-pixel x2 stage per factor 2).
        width: channels (the paper's F).
        blocks: residual blocks (the paper's B).

    Shape:
        - Input: ``(N, 3, H, W)`` in ``[0, 1]``
        - Output: ``(N, 3, H * scale, W * scale)`` (not clamped)

    Example:
        >>> import torch
        >>> net = EDSR(2)
        >>> net(torch.rand(1, 3, 6, 7)).shape, sum(p.numel() for p in net.parameters())
        (torch.Size([1, 3, 12, 14]), 355827)
        >>> sum(p.numel() for p in EDSR(4).parameters())
        438819
    """

    def __init__(self, scale: int, width: int = 48, blocks: int = 6) -> None:
        super().__init__()
        self.arch, self.scale = "edsr", scale
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.body = nn.Sequential(
            *[_ResBlock(width) for _ in range(blocks)], nn.Conv2d(width, width, 3, padding=1)
        )
        stages: list[nn.Module] = [
            tnn.Upsample(width, width, 2, "subpixel") for _ in range(int(math.log2(scale)))
        ]
        self.tail = nn.Sequential(*stages, nn.Conv2d(width, 3, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        h = self.head(x - _MEAN)
        return self.tail(h + self.body(h)) + _MEAN


def build_arch(arch: str, scale: int) -> nn.Module:
    """The classic network ``arch`` (one of :data:`CLASSIC_ARCHS`) for ``scale``.

    Args:
        arch: ``"fsrcnn"``, ``"espcn"`` or ``"edsr"``.
        scale: 2 or 4.

    Returns:
        The network, freshly initialised, with ``arch`` and ``scale`` attributes.

    Raises:
        ValueError: an unknown ``arch`` or a scale other than 2 and 4.

    Example:
        >>> build_arch("espcn", 2).arch
        'espcn'
    """
    if scale not in (2, 4):
        raise ValueError(f"scale={scale!r} is invalid: valid scales are (2, 4)")
    if arch == "fsrcnn":
        return FSRCNN(scale)
    if arch == "espcn":
        return ESPCN(scale)
    if arch == "edsr":
        return EDSR(scale)
    raise ValueError(f"arch={arch!r} is invalid: valid networks are {CLASSIC_ARCHS}")
