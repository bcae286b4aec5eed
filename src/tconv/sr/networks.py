"""The super-resolution networks of ``tconv train sr`` and ``tconv upscale``: SRNet and
the two models without a body (this module), the classic networks (:mod:`tconv.sr.classic`).

Model (:func:`build_model`), ESPCN/FSRCNN-sized::

    body:  Conv 5x5 (3 -> width), ReLU, then (depth - 1) x [Conv 3x3 (width -> width), ReLU]
    head:  the upsampler under test; x4 is two x2 stages (width -> width, ReLU, width -> 3)
    out:   head(body(lr)) + bicubic(lr)          (global residual: the net learns the detail)

Upsamplers (:data:`UPSAMPLERS`), each one x2 stage ``c_in -> c_out``:

- ``transposed_k3``: ``ConvTranspose2d(k=3, s=2, p=1, output_padding=1)``, torch's init (the
  seed article's example 2; uneven overlap, the checkerboard-prone layer).
- ``transposed_k4``: ``ConvTranspose2d(k=4, s=2, p=1)``, torch's init (even overlap).
- ``transposed_bilinear``: k4 s2 p1 started as exact bilinear upsampling
  (:func:`tconv.init.bilinear_`, which needs ``c_in == c_out``: a 1x1 convolution to
  ``c_out`` comes first), then trained.
- ``subpixel``: 3x3 convolution to ``4 * c_out`` channels + pixel shuffle, ICNR init
  (:class:`tconv.nn.Upsample` mode ``"subpixel"``).
- ``resize_conv``: nearest x2 + 3x3 convolution (:class:`tconv.nn.Upsample` ``"resize_conv"``).
- ``example3``: the seed article's example-3 model as it stands: Conv 3x3 (3 -> 64), ReLU,
  ``ConvTranspose2d(64 -> 3, k=2, s=2)``, ReLU (x4: the transposed layer twice, 64 -> 64 ->
  3); no body of ours and no residual.
- ``bicubic``: bicubic interpolation, no parameters and no training (the baseline).

Example:
    >>> import torch
    >>> model = build_model("subpixel", scale=2, width=8, depth=2)
    >>> model(torch.rand(1, 3, 10, 12)).shape
    torch.Size([1, 3, 20, 24])
    >>> [build_model(u, 4, 8, 2)(torch.rand(1, 3, 5, 6)).shape[-1] for u in UPSAMPLERS]
    [24, 24, 24, 24, 24, 24, 24]
"""

from __future__ import annotations

import math
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from .. import nn as tnn
from .. import upsamplers
from .classic import ARCHS, CLASSIC_ARCHS, build_arch

__all__ = [
    "ARCHS",
    "CLASSIC_ARCHS",
    "SCALES",
    "UPSAMPLERS",
    "Bicubic",
    "Example3",
    "SRNet",
    "build_model",
    "model_from_config",
]

#: The upsamplers compared (``--upsampler all`` trains each of them).
UPSAMPLERS: tuple[str, ...] = (
    "transposed_k3",
    "transposed_k4",
    "transposed_bilinear",
    "subpixel",
    "resize_conv",
    "example3",
    "bicubic",
)
SCALES: tuple[int, ...] = (2, 4)
# the upsamplers that are one x2 stage of SRNet (the others are whole models)
_STAGES = ("transposed_k3", "transposed_k4", "transposed_bilinear", "subpixel", "resize_conv")


def _stage(kind: str, cin: int, cout: int) -> nn.Module:
    """One x2 upsampling stage ``cin -> cout`` of the given kind (:mod:`tconv.upsamplers`)."""
    if kind not in _STAGES:
        raise ValueError(f"upsampler={kind!r} is invalid: valid upsamplers are {UPSAMPLERS}")
    return upsamplers.build(kind, cin, cout, 2)


class SRNet(nn.Module):
    """``head(body(lr)) + bicubic(lr)``: see the module docstring.

    The body is a 5x5 convolution then ``depth - 1`` 3x3 convolutions (ReLU after each); the
    head is ``log2(scale)`` x2 stages of ``upsampler`` (ReLU between them), ending at 3
    channels. :func:`build_model` builds it (and the two models without this structure).

    Args:
        upsampler: the kind of each x2 stage: ``"transposed_k3"``, ``"transposed_k4"``,
            ``"transposed_bilinear"``, ``"subpixel"`` or ``"resize_conv"``.
        scale: the upscaling factor, a power of two (:func:`build_model` accepts 2 and 4).
        width: channels of the body and between the stages.
        depth: convolutions in the body.

    Shape:
        - Input: ``(N, 3, H, W)`` in ``[0, 1]``
        - Output: ``(N, 3, H * scale, W * scale)`` (not clamped)

    Raises:
        ValueError: ``upsampler`` is not one of the stage kinds above.

    Example:
        >>> import torch
        >>> net = SRNet("transposed_k4", scale=2, width=8, depth=2)
        >>> net(torch.rand(1, 3, 6, 7)).shape
        torch.Size([1, 3, 12, 14])
        >>> len(net.head), net.upsampler
        (1, 'transposed_k4')
    """

    def __init__(self, upsampler: str, scale: int, width: int, depth: int) -> None:
        super().__init__()
        self.upsampler, self.scale = upsampler, scale
        layers: list[nn.Module] = [nn.Conv2d(3, width, 5, padding=2), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        stages = int(math.log2(scale))
        head: list[nn.Module] = []
        for i in range(stages):
            last = i == stages - 1
            head.append(_stage(upsampler, width, 3 if last else width))
            if not last:
                head.append(nn.ReLU())
        self.head = nn.Sequential(*head)

    def forward(self, x: Tensor) -> Tensor:
        up = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return self.head(self.body(x)) + up


class Example3(nn.Module):
    """The seed article's example-3 model (x2), stacked transposed layers for x4.

    Shape:
        - Input: ``(N, 3, H, W)``
        - Output: ``(N, 3, H * scale, W * scale)``
    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.upsampler, self.scale = "example3", scale
        stages = int(math.log2(scale))
        layers: list[nn.Module] = [nn.Conv2d(3, 64, 3, stride=1, padding=1), nn.ReLU()]
        for i in range(stages):
            cout = 3 if i == stages - 1 else 64
            layers += [tnn.ConvTranspose2d(64, cout, 2, stride=2), nn.ReLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class Bicubic(nn.Module):
    """Bicubic interpolation as a module (no parameters).

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: ``(N, C, H * scale, W * scale)``
    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.upsampler, self.scale = "bicubic", scale

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)


def build_model(
    upsampler: str, scale: int, width: int = 32, depth: int = 3, arch: str = "srnet"
) -> nn.Module:
    """The SR model with ``upsampler`` for ``scale`` (2 or 4), or the classic network ``arch``.

    With ``arch="srnet"`` (the default): ``"bicubic"`` is bicubic interpolation as a module
    (no parameters), ``"example3"`` the seed article's example-3 model (``width`` and
    ``depth`` unused); the others are an :class:`SRNet`. Another ``arch`` (one of
    :data:`tconv.sr.classic.CLASSIC_ARCHS`) is that paper's network, with its own
    upsampler and sizes (``upsampler``, ``width`` and ``depth`` unused).

    Args:
        upsampler: one of :data:`UPSAMPLERS`.
        scale: 2 or 4 (:data:`SCALES`).
        width: channels of the body (:class:`SRNet` only).
        depth: convolutions in the body (:class:`SRNet` only).
        arch: one of :data:`ARCHS`.

    Returns:
        The model, freshly initialised, with ``upsampler`` and ``scale`` attributes.

    Shape:
        - Input: ``(N, 3, H, W)``
        - Output: ``(N, 3, H * scale, W * scale)``

    Raises:
        ValueError: an unknown upsampler or arch, a scale other than 2 and 4, or ``width``
            or ``depth`` below 1.

    Example:
        >>> import torch
        >>> sum(p.numel() for p in build_model("bicubic", 2).parameters())
        0
        >>> build_model("resize_conv", 4, width=8, depth=1)(torch.rand(1, 3, 5, 5)).shape
        torch.Size([1, 3, 20, 20])
        >>> type(build_model("subpixel", 2, arch="fsrcnn")).__name__
        'FSRCNN'
    """
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r} is invalid: valid scales are {SCALES}")
    if arch != "srnet":
        if arch not in ARCHS:
            raise ValueError(f"arch={arch!r} is invalid: valid networks are {ARCHS}")
        return build_arch(arch, scale)
    if upsampler not in UPSAMPLERS:
        raise ValueError(f"upsampler={upsampler!r} is invalid: valid upsamplers are {UPSAMPLERS}")
    if upsampler == "bicubic":
        return Bicubic(scale)
    if upsampler == "example3":
        return Example3(scale)
    if width < 1 or depth < 1:
        raise ValueError(f"width={width} and depth={depth} are invalid: each must be >= 1")
    return SRNet(upsampler, scale, width, depth)


def model_from_config(config: dict[str, Any]) -> nn.Module:
    """The (untrained) model of a checkpoint's ``config`` dict.

    Checkpoints written before the ``arch`` setting existed are ``"srnet"`` ones.

    Args:
        config: the ``config`` entry of a ``tconv train sr`` checkpoint.

    Returns:
        The model, with fresh weights (load the checkpoint's ``model`` state into it).

    Example:
        >>> cfg = {"upsampler": "subpixel", "scale": 4, "width": 8, "depth": 2}
        >>> model_from_config(cfg).scale, model_from_config({**cfg, "arch": "edsr"}).arch
        (4, 'edsr')
    """
    return build_model(
        config["upsampler"],
        int(config["scale"]),
        int(config["width"]),
        int(config["depth"]),
        str(config.get("arch", "srnet")),
    )
