"""Exact model rewrites between transposed convolution and convolution + pixel shuffle.

- :func:`to_subpixel` replaces every ``ConvTranspose1d/2d/3d`` (torch's or tconv's; any
  kernel, stride, padding, output_padding, groups and dilation) by a
  :class:`SubpixelConvTranspose`: ONE ordinary convolution (stride 1, no dilation, symmetric
  zero padding), a pixel shuffle and a crop -- the same outputs, for runtimes and NPUs that
  lack or mishandle transposed convolution. The weights come from
  :func:`tconv.methods.subpixel.subpixel_weight`. A dilation that shares no factor with the
  stride keeps every tap in one convolution with no zero taps; any other dilation also
  converts exactly, its phases' sub-kernels zero-padded to a common size. Only the "zeros"
  padding_mode converts (tconv's other modes fold borders, which a convolution does not).
- :func:`to_transposed` is the reverse: it turns each :class:`SubpixelConvTranspose`
  back into the module it came from, each ``(ConvNd, PixelShuffle)`` pair of consecutive
  children of an ``nn.Sequential`` (torch's or tconv's pixel shuffle; the convolution with
  stride 1, "zeros" padding and a bias equal across the sub-pixel phases of each channel)
  into one ``tconv.nn.ConvTranspose1d/2d/3d`` (the pixel shuffle's slot becomes
  ``nn.Identity``), and a :class:`tconv.nn.Upsample` in "subpixel" mode into "transposed"
  mode.

Both return a new model (the input is left alone unless ``inplace=True``) whose outputs equal
the original's up to float rounding.

Example:
    >>> import torch
    >>> up = torch.nn.ConvTranspose2d(8, 4, kernel_size=3, stride=2, padding=1, output_padding=1)
    >>> sub = to_subpixel(up)
    >>> sub
    SubpixelConvTranspose(
      crop=((2, 0), (2, 0))
      (conv): Conv2d(8, 16, kernel_size=(2, 2), stride=(1, 1), padding=(1, 1))
      (shuffle): PixelShuffle(upscale_factor=2)
    )
    >>> x = torch.randn(1, 8, 5, 7)
    >>> torch.allclose(sub(x), up(x), atol=1e-5)
    True
    >>> back = to_transposed(sub)
    >>> type(back).__name__, torch.equal(back.weight, up.weight)
    ('ConvTranspose2d', True)
"""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .blocks import Upsample
from .methods.subpixel import subpixel_weight
from .modules import CONV, CONV_TRANSPOSE, PixelShuffle, from_geometry, geometry_of, is_conv
from .shapes import (
    Geometry,
    IntOrTuple,
    ShapeError,
    conv_padding,
    kernel_span,
    spatial_index,
    spatial_size,
)

__all__ = ["SubpixelConvTranspose", "to_subpixel", "to_transposed"]


Crop = tuple[tuple[int, int], ...]


def _recipe(layer: Any) -> tuple[type, dict[str, Any]]:
    """Class and constructor arguments that rebuild ``layer`` (weights apart)."""
    kwargs: dict[str, Any] = {
        "in_channels": layer.in_channels,
        "out_channels": layer.out_channels,
        "kernel_size": tuple(layer.kernel_size),
        "stride": tuple(layer.stride),
        "padding": layer.padding,
        "output_padding": tuple(layer.output_padding),
        "groups": layer.groups,
        "bias": layer.bias is not None,
        "dilation": tuple(layer.dilation),
        "padding_mode": layer.padding_mode,
    }
    if isinstance(layer, tuple(CONV_TRANSPOSE.values())):
        kwargs["method"] = getattr(layer, "method", "native")
        kwargs["allow_crop"] = getattr(layer, "allow_crop", False)
    return type(layer), kwargs


class SubpixelConvTranspose(torch.nn.Module):
    """A transposed convolution computed as convolution + pixel shuffle + crop (exactly).

    ``forward(x) = shuffle(conv(x))[..., lo : -hi]`` per dimension, with ``conv`` an ordinary
    ``torch.nn.ConvNd`` (stride 1, symmetric zero padding, ``C_out * prod(stride)`` output
    channels, the bias repeated over the phases) and ``shuffle`` a pixel shuffle by the stride
    (``torch.nn.PixelShuffle`` for an equal 2-D stride, which ONNX exports as DepthToSpace;
    :class:`tconv.nn.PixelShuffle`, the same channel order, otherwise). Made by
    :func:`to_subpixel` (or :meth:`from_transposed`); it keeps the replaced layer's geometry
    and constructor arguments so that ``forward(x, output_size=...)`` behaves as the original
    and :func:`to_transposed` can rebuild it.

    Args:
        conv: the ordinary convolution (stride 1) that computes every phase.
        scale: the pixel shuffle's factor per spatial dimension (the original stride).
        crop: ``(lo, hi)`` per dimension cut from the shuffled output.
        geometry: the original layer's geometry.
        source: the original layer's class and constructor arguments, for
            :func:`to_transposed`.
        allow_crop: passed on to the geometry's ``output_size=`` handling, as in the
            original layer.

    Shape:
        - Input: ``(N, C_in, *I)`` or ``(C_in, *I)``
        - Output: ``(N, C_out, *O)`` as the original layer, ``O = geometry.output_size(I)``

    Example:
        >>> layer = torch.nn.ConvTranspose1d(2, 3, kernel_size=4, stride=2, padding=1)
        >>> m = SubpixelConvTranspose.from_transposed(layer)
        >>> m.crop, m(torch.randn(2, 10)).shape
        (((1, 1),), torch.Size([3, 20]))
    """

    def __init__(
        self,
        conv: torch.nn.Module,
        scale: tuple[int, ...],
        crop: Crop,
        geometry: Geometry,
        source: tuple[type, dict[str, Any]] | None = None,
        allow_crop: bool = False,
    ) -> None:
        super().__init__()
        self.conv = conv
        self.shuffle: torch.nn.Module
        if len(scale) == 2 and scale[0] == scale[1]:  # torch's: DepthToSpace in ONNX
            self.shuffle = torch.nn.PixelShuffle(scale[0])
        else:  # the same channel order in any rank (Reshape + Transpose in ONNX)
            self.shuffle = PixelShuffle(tuple(scale))
        self.scale = tuple(scale)
        self.crop = tuple((int(a), int(b)) for a, b in crop)
        self.geometry = geometry
        self.source = source
        self.allow_crop = allow_crop

    @classmethod
    def from_transposed(cls, layer: Any) -> SubpixelConvTranspose:
        """The exact convolution + pixel shuffle form of a (torch or tconv) ConvTransposeNd."""
        geom = geometry_of(layer)
        if geom.padding_mode != "zeros":
            raise ShapeError(
                f"padding_mode={geom.padding_mode!r} is invalid for to_subpixel: only 'zeros' "
                "converts (the other modes fold the border back in, which a convolution + "
                "pixel shuffle does not)"
            )
        weight: Tensor = layer.weight
        bias: Tensor | None = layer.bias
        with torch.no_grad():
            conv_weight, padding, crop = subpixel_weight(weight.detach(), geom)
        s = geom.stride
        # symmetric conv padding; the extra conv outputs are cropped after the shuffle
        pads = tuple(max(b, e, 0) for b, e in padding)
        crop = tuple(
            (lo + ss * (p - b), hi + ss * (p - e))
            for (lo, hi), (b, e), p, ss in zip(crop, padding, pads, s, strict=True)
        )
        conv: Any = CONV[geom.rank](
            conv_weight.shape[1] * geom.groups,
            conv_weight.shape[0],
            tuple(conv_weight.shape[2:]),
            padding=pads,
            groups=geom.groups,
            bias=bias is not None,
            device=weight.device,
            dtype=weight.dtype,
        )
        with torch.no_grad():
            conv.weight.copy_(conv_weight)
            if bias is not None:
                conv.bias.copy_(bias.detach().repeat_interleave(math.prod(s)))
        conv.requires_grad_(weight.requires_grad)
        return cls(conv, s, crop, geom, _recipe(layer), bool(getattr(layer, "allow_crop", False)))

    def forward(self, input: Tensor, output_size: IntOrTuple | None = None) -> Tensor:
        rank = len(self.scale)
        batched = input.dim() == rank + 2
        x = input if batched else input.unsqueeze(0)
        crop = self.crop
        if output_size is not None:
            x, crop = self._grow(x, spatial_size(output_size, rank, batched=batched))
        y = self.shuffle(self.conv(x))
        if any(a or b for a, b in crop):
            y = y[
                spatial_index(slice(a, n - b) for (a, b), n in zip(crop, y.shape[2:], strict=True))
            ]
        return y if batched else y.squeeze(0)

    def _grow(self, x: Tensor, output_size: IntOrTuple) -> tuple[Tensor, Crop]:
        """Input padding and crops for an ``output_size`` (only the end crop changes)."""
        rank = len(self.scale)
        target = spatial_size(output_size, rank)  # the spatial size already
        spatial = tuple(x.shape[2:])
        base = self.geometry
        if self.source is not None and not issubclass(
            self.source[0], tuple(CONV_TRANSPOSE.values())
        ):
            # torch's layers ignore output_padding when given an output_size
            base = base.with_crop(tuple((lo, lo) for lo, _ in base.crop))
        wanted = base.with_output_size(spatial, target, allow_crop=self.allow_crop)
        ends, crop = [], []
        for (a, b), (_, hi0), (_, hi1), s in zip(
            self.crop, self.geometry.crop, wanted.crop, self.scale, strict=True
        ):
            b -= hi0 - hi1  # negative: more output than the conv gives; pad the input end
            extra = -(-max(-b, 0) // s)
            ends.append(extra)
            crop.append((a, b + s * extra))
        if any(ends):
            x = F.pad(x, [v for e in reversed(ends) for v in (0, e)])
        return x, tuple(crop)

    def extra_repr(self) -> str:
        return "" if not any(a or b for a, b in self.crop) else f"crop={self.crop}"


# ---------------------------------------------------------------------------------------------
# conv + pixel shuffle -> transposed convolution


def _pair_to_transposed(
    conv: Any, scale: tuple[int, ...], crop: Crop, bias: Tensor | None, where: str
) -> tuple[Tensor, Tensor | None, Geometry]:
    """Dense transposed-conv weight, bias and geometry equal to ``crop(shuffle(conv(x))) + bias``.

    Phase ``p`` of output channel ``c`` is conv channel ``c * prod(s) + p``; its tap ``j`` lands
    at transposed-kernel index ``s * (span - 1 - D j) + p`` (span = D (K - 1) + 1), and the
    crop is ``s * (span - 1 - padding) + crop`` at each end.
    """
    rank = len(scale)
    weight: Tensor = conv.weight
    if any(v != 1 for v in conv.stride):
        raise ShapeError(
            f"{where}: convolution stride={tuple(conv.stride)} is invalid for to_transposed: "
            "only a stride-1 convolution before a pixel shuffle is a transposed convolution"
        )
    if conv.padding_mode != "zeros":
        raise ShapeError(
            f"{where}: padding_mode={conv.padding_mode!r} is invalid for to_transposed: only "
            "'zeros' padding is a transposed convolution"
        )
    phases = math.prod(scale)
    groups = int(conv.groups)
    c_all, c_in_g = weight.shape[:2]
    if c_all % (phases * groups):
        raise ShapeError(
            f"{where}: the convolution's {c_all} output channels do not split into "
            f"groups={groups} x prod(scale)={phases} phases"
        )
    c_out = c_all // phases
    if conv.bias is not None:
        b = conv.bias.detach().reshape(c_out, phases)
        if not torch.equal(b, b[:, :1].expand_as(b)):
            raise ShapeError(
                f"{where}: the convolution's bias differs across the {phases} sub-pixel phases "
                "of a channel, which a transposed convolution (one bias per channel) cannot "
                "express; tie it (tconv.nn.Upsample(mode='subpixel') does) or keep this pair"
            )
        bias = b[:, 0].clone() if bias is None else bias + b[:, 0]
    kernel = tuple(weight.shape[2:])
    dil = tuple(conv.dilation)
    span = kernel_span(kernel, dil)
    with torch.no_grad():
        v = weight.detach()
        if any(d > 1 for d in dil):  # put the taps at their dilated offsets
            dense = v.new_zeros((*v.shape[:2], *span))
            dense[spatial_index(slice(None, None, d) for d in dil)] = v
            v = dense
        v = v.flip(tuple(range(2, 2 + rank)))
        v = v.reshape(groups, c_out // groups, *scale, c_in_g, *span)
        # -> (groups, c_in_g, c_out_g, span_1, s_1, span_2, s_2, ...)
        perm = [0, 2 + rank, 1] + [d for j in range(rank) for d in (3 + rank + j, 2 + j)]
        w = v.permute(perm).reshape(
            groups * c_in_g, c_out // groups, *(n * s for n, s in zip(span, scale, strict=True))
        )
    pads = conv_padding(conv.padding, kernel, dil, rank)
    crops = tuple(
        (s * (n - 1 - pb) + a, s * (n - 1 - pe) + b)
        for s, n, (pb, pe), (a, b) in zip(scale, span, pads, crop, strict=True)
    )
    geom = Geometry.create(tuple(w.shape[2:]), scale, crops, groups=groups, rank=rank)
    return w, bias, geom


def _transposed_module(
    weight: Tensor, bias: Tensor | None, geom: Geometry, requires_grad: bool, **extra: Any
) -> torch.nn.Module:
    """A :class:`tconv.nn.ConvTransposeNd` with these weights and geometry."""
    return from_geometry(geom, weight, bias, **extra).requires_grad_(requires_grad)


def _restore(m: Any, where: str) -> torch.nn.Module:
    """The module that :func:`to_subpixel` replaced by ``m``."""
    w, bias, dense = _pair_to_transposed(m.conv, m.scale, m.crop, None, where)
    requires_grad = bool(m.conv.weight.requires_grad)
    if m.source is None:
        return _transposed_module(w, bias, dense, requires_grad, allow_crop=m.allow_crop)
    cls, kwargs = m.source
    original = m.geometry
    # the same cropped output: original full index n is dense full index n + delta
    delta = [lo_d - lo for (lo_d, _), (lo, _) in zip(dense.crop, original.crop, strict=True)]
    index = tuple(
        slice(dl, dl + n, d)
        for dl, n, d in zip(delta, original.span, original.dilation, strict=True)
    )
    module = cls(**kwargs, device=w.device, dtype=w.dtype)
    with torch.no_grad():
        module.weight.copy_(w[spatial_index(index)])
        if bias is not None:
            module.bias.copy_(bias)
    module.requires_grad_(requires_grad)
    return module


def _shuffle_scale(module: torch.nn.Module, rank: int) -> tuple[int, ...] | None:
    """The scale of a torch or tconv pixel shuffle of this rank, else None."""
    if isinstance(module, PixelShuffle):
        r = module.upscale_factor
        scale = (r,) * rank if isinstance(r, int) else tuple(r)
        return scale if len(scale) == rank else None
    if isinstance(module, torch.nn.PixelShuffle) and rank == 2:
        return (module.upscale_factor,) * 2
    return None


# ---------------------------------------------------------------------------------------------
# the rewrites


def to_subpixel(model: torch.nn.Module, inplace: bool = False) -> torch.nn.Module:
    """Replace every ConvTranspose1d/2d/3d by an exactly equivalent convolution + pixel shuffle.

    Every ``torch.nn.ConvTranspose{1,2,3}d`` (tconv's subclasses included) in ``model`` --
    any kernel, stride, padding (tconv's names and pairs too), output_padding, groups and
    dilation, "zeros" padding_mode -- becomes a :class:`SubpixelConvTranspose`. ``model``
    itself may be such a layer. Functional calls (``F.conv_transpose2d`` inside a forward) are
    not seen. The rewritten model exports to ONNX with Conv, DepthToSpace or Reshape and
    Transpose (the shuffle) and Slice (the crop) in place of ConvTranspose.

    Args:
        model: any module.
        inplace: rewrite ``model`` itself instead of a deep copy.

    Returns:
        The rewritten model (``model`` itself when ``inplace``; a new
        :class:`SubpixelConvTranspose` when ``model`` is a transposed convolution).

    Raises:
        ShapeError: for a layer whose padding_mode is not "zeros".

    Example:
        >>> net = torch.nn.Sequential(torch.nn.ConvTranspose3d(2, 2, 3, stride=2), torch.nn.ReLU())
        >>> sub = to_subpixel(net)
        >>> [type(m).__name__ for m in sub]
        ['SubpixelConvTranspose', 'ReLU']
        >>> x = torch.randn(1, 2, 3, 4, 5)
        >>> torch.allclose(sub(x), net(x), atol=1e-5)
        True
    """
    if isinstance(model, torch.nn.modules.conv._ConvTransposeNd):
        return SubpixelConvTranspose.from_transposed(model)
    root = model if inplace else copy.deepcopy(model)
    for name, module in list(root.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, torch.nn.modules.conv._ConvTransposeNd):
                where = f"{name}.{child_name}" if name else child_name
                try:
                    new = SubpixelConvTranspose.from_transposed(child)
                except ShapeError as err:
                    raise ShapeError(f"{where}: {err}") from None
                setattr(module, child_name, new)
    return root


def to_transposed(model: torch.nn.Module, inplace: bool = False) -> torch.nn.Module:
    """Replace convolution + pixel shuffle blocks by equivalent transposed convolutions.

    - a :class:`SubpixelConvTranspose` becomes the module it replaced (same class, settings
      and weights);
    - consecutive children ``(ConvNd, PixelShuffle)`` of an ``nn.Sequential`` (torch's 2-D or
      tconv's 1-3-D pixel shuffle; stride-1 convolution, "zeros" padding, bias equal across
      the phases of each channel) become one ``tconv.nn.ConvTranspose1d/2d/3d`` with
      kernel ``scale * (dilation * (K - 1) + 1)`` and stride ``scale``; the pixel shuffle's
      slot becomes ``nn.Identity`` (the other children keep their names);
    - a :class:`tconv.nn.Upsample` in "subpixel" mode switches to "transposed" mode.

    A pixel shuffle applied in a forward function (``F.pixel_shuffle``) is not seen.

    Args:
        model: any module (it may itself be a :class:`SubpixelConvTranspose`).
        inplace: rewrite ``model`` itself instead of a deep copy.

    Returns:
        The rewritten model (``model`` itself when ``inplace``).

    Raises:
        ShapeError: for a pair with a strided convolution, a non-"zeros" padding_mode or a bias
            that differs across the sub-pixel phases, naming the pair.

    Example:
        >>> conv = torch.nn.Conv2d(3, 12, 3, padding=1)
        >>> pair = torch.nn.Sequential(conv, torch.nn.PixelShuffle(2))
        >>> with torch.no_grad():
        ...     _ = pair[0].bias.copy_(torch.arange(3.0).repeat_interleave(4))   # tied
        >>> net = to_transposed(pair)
        >>> net
        Sequential(
          (0): ConvTranspose2d(3, 3, kernel_size=(6, 6), stride=(2, 2), padding=(2, 2))
          (1): Identity()
        )
        >>> x = torch.randn(1, 3, 8, 8)
        >>> torch.allclose(net(x), pair(x), atol=1e-5)
        True
    """
    if isinstance(model, SubpixelConvTranspose):
        return _restore(model, "model")
    root = model if inplace else copy.deepcopy(model)
    for name, module in list(root.named_modules()):
        prefix = f"{name}." if name else ""
        if isinstance(module, Upsample) and module.mode == "subpixel":
            _upsample_to_transposed(module, name or "model")
            continue
        children = list(module.named_children())
        for child_name, child in children:
            if isinstance(child, SubpixelConvTranspose):
                setattr(module, child_name, _restore(child, prefix + child_name))
        if not isinstance(module, torch.nn.Sequential):
            continue
        children = list(module.named_children())
        for (a_name, a), (b_name, b) in itertools.pairwise(children):
            if not is_conv(a):
                continue
            scale = _shuffle_scale(b, a.weight.dim() - 2)
            if scale is None:
                continue
            where = f"{prefix}{a_name}, {prefix}{b_name}"
            w, bias, geom = _pair_to_transposed(a, scale, ((0, 0),) * len(scale), None, where)
            new = _transposed_module(w, bias, geom, bool(a.weight.requires_grad))
            setattr(module, a_name, new)
            setattr(module, b_name, torch.nn.Identity())
    return root


def _upsample_to_transposed(block: Upsample, where: str) -> None:
    """Switch a tconv.nn.Upsample from "subpixel" to "transposed" mode, exactly."""
    rank = block.dims
    assert block.conv is not None  # the "subpixel" mode's convolution
    bias = None if block.bias is None else block.bias.detach()
    w, b, geom = _pair_to_transposed(block.conv, tuple(block.scale), ((0, 0),) * rank, bias, where)
    requires_grad = bool(block.conv.weight.requires_grad)
    block.conv = _transposed_module(w, b, geom, requires_grad, allow_crop=True)
    block.shuffle = None
    block.bias = None
    block.mode = "transposed"
    block._given_kernel = True
