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
import dataclasses
import inspect
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, overload

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor

from . import methods as _methods
from .blocks import Upsample
from .loading import one_line
from .methods import Method
from .methods.subpixel import subpixel_weight
from .modules import (
    CONV,
    CONV_TRANSPOSE,
    RESIZE_CONV,
    PixelShuffle,
    from_geometry,
    geometry_of,
    is_conv,
)
from .shapes import (
    Geometry,
    IntOrTuple,
    ShapeError,
    conv_padding,
    kernel_span,
    resize_conv_geometry,
    spatial_index,
    spatial_size,
)

__all__ = [
    "ADAPTERS",
    "FuseReport",
    "FusedUpsample",
    "ResizePair",
    "SubpixelConvTranspose",
    "fuse_resize",
    "resize_pairs",
    "to_subpixel",
    "to_tconv",
    "to_transposed",
]


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


# ---------------------------------------------------------------------------------------------
# every ConvTransposeNd -> tconv's


def to_tconv(
    model: torch.nn.Module, method: Method = "auto", inplace: bool = False
) -> torch.nn.Module:
    """Replace every ``torch.nn.ConvTranspose{1,2,3}d`` by tconv's, computed by ``method``.

    Each layer becomes ``tconv.nn.ConvTranspose1d/2d/3d`` with the same settings and the
    same ``Parameter`` objects (so the device, dtype, ``requires_grad``, the state_dict and an
    optimizer that holds them are unchanged) and the same training flag -- the idiom of
    ``torch.nn.SyncBatchNorm.convert_sync_batchnorm``. tconv's layers already in the model get
    ``method``. ``model`` itself may be such a layer. A layer whose weight is reparametrised
    (weight norm, spectral norm: ``weight`` is computed before each call) is left as it is.

    Args:
        model: any module.
        method: how the layers compute, one of :data:`tconv.METHODS` (``"auto"`` times the
            exact candidates once per input signature and never picks a loser).
        inplace: rewrite ``model`` itself instead of a deep copy.

    Returns:
        The rewritten model (``model`` itself when ``inplace``; a new layer when ``model`` is a
        transposed convolution and not ``inplace``).

    Raises:
        ValueError: an unknown ``method``.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1))
        >>> fast = to_tconv(net, method="subpixel")
        >>> fast  # doctest: +ELLIPSIS
        Sequential(
          (0): ConvTranspose2d(4, 2, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), ...)
        )
        >>> x = torch.randn(1, 4, 8, 8)
        >>> torch.allclose(fast(x), net(x), atol=1e-5)
        True
        >>> fast.state_dict().keys() == net.state_dict().keys()
        True
    """
    _methods.check(method)
    root = model if inplace else copy.deepcopy(model)
    if _convertible(root):
        return _tconv_layer(root, method)
    for module in list(root.modules()):
        for child_name, child in list(module.named_children()):
            if _convertible(child):
                setattr(module, child_name, _tconv_layer(child, method))
    return root


def _convertible(module: torch.nn.Module) -> bool:
    """A transposed convolution whose weight is a plain parameter (not reparametrised by
    weight norm or spectral norm, which compute ``weight`` before each call)."""
    return (
        isinstance(module, torch.nn.modules.conv._ConvTransposeNd)
        and isinstance(module.weight, torch.nn.Parameter)
        and not torch.nn.utils.parametrize.is_parametrized(module)
    )


def _tconv_layer(layer: Any, method: Method) -> torch.nn.Module:
    """tconv's ConvTransposeNd sharing ``layer``'s parameters, or ``layer`` with ``method``."""
    if isinstance(layer, tuple(CONV_TRANSPOSE.values())):
        tconv_layer: Any = layer
        tconv_layer.method = method
        return cast(torch.nn.Module, tconv_layer)
    _, kwargs = _recipe(layer)
    rank = len(kwargs["kernel_size"])
    kwargs.update(method=method, device="meta", allow_crop=False)
    new: Any = CONV_TRANSPOSE[rank](**kwargs)
    new.weight = layer.weight
    new.bias = layer.bias
    for hook_dict in ("_forward_hooks", "_forward_pre_hooks"):
        getattr(new, hook_dict).update(getattr(layer, hook_dict))
    return cast(torch.nn.Module, new.train(layer.training))


# ---------------------------------------------------------------------------------------------
# resize -> convolution pairs, fused into one transposed convolution


@dataclass(frozen=True)
class ResizePair:
    """One resize followed by a convolution that :func:`fuse_resize` found.

    Args:
        where: the module names (the pair's resize and convolution, or the module whose
            forward or adapter holds it).
        how: how it was found: ``"Sequential"`` (consecutive children), ``"torch.fx"`` (a call
            of ``F.interpolate`` in a forward, by tracing it) or ``"adapter: <class>"``.
        fused: whether it fuses exactly.
        detail: what it becomes, or why it stays as it is.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Upsample(scale_factor=3), torch.nn.Conv1d(2, 2, 3))
        >>> pair = resize_pairs(net).pairs[0]
        >>> pair.where, pair.how, pair.fused
        ('0, 1', 'Sequential', True)
        >>> pair.detail
        'nearest x3 + conv k3 -> transposed conv k5 s3 crop 2; 0 becomes Identity'
    """

    where: str
    how: str
    fused: bool
    detail: str


@dataclass
class FuseReport:
    """What :func:`fuse_resize` fused and why the rest was not (:meth:`format` prints it).

    Args:
        pairs: every resize -> convolution pair found, in the model's module order.

    Example:
        >>> net = torch.nn.Sequential(
        ...     torch.nn.Upsample(scale_factor=2, mode="bilinear"),
        ...     torch.nn.Conv2d(2, 2, 3, padding=1))
        >>> report = resize_pairs(net)
        >>> len(report.fused), len(report.skipped)
        (0, 1)
        >>> print(report)  # doctest: +ELLIPSIS
        kept: 0, 1 (Sequential): padding=(1, 1) is invalid for mode='bilinear': a linear ...
        0 resize-convolution pair(s) fused, 1 kept
    """

    pairs: list[ResizePair] = field(default_factory=list)

    @property
    def fused(self) -> list[ResizePair]:
        """The pairs fused."""
        return [p for p in self.pairs if p.fused]

    @property
    def skipped(self) -> list[ResizePair]:
        """The pairs left as they are, each with its reason."""
        return [p for p in self.pairs if not p.fused]

    def format(self) -> str:
        """One line per pair, then a count."""
        lines = [
            f"{'fused' if p.fused else 'kept'}: {p.where} ({p.how}): {p.detail}" for p in self.pairs
        ]
        lines.append(
            f"{len(self.fused)} resize-convolution pair(s) fused, {len(self.skipped)} kept"
        )
        return "\n".join(lines)

    __str__ = format


_INTERPOLATE_ARGS = inspect.signature(F.interpolate)
_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _resize_scale(
    rank: int,
    scale_factor: Any,
    size: Any = None,
    mode: Any = "nearest",
    align_corners: Any = None,
    antialias: Any = False,
) -> tuple[tuple[int, ...], str] | str:
    """The integer scale and mode of a resize that fuses with a ``rank``-D convolution, or why
    it does not (a string)."""
    if size is not None:
        return f"size={size!r}: a fixed output size, not an integer scale factor"
    if scale_factor is None:
        return "no scale_factor"
    values = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,)
    if len(values) == 1:
        values = values * rank
    if len(values) != rank or not all(isinstance(v, (int, float)) for v in values):
        return f"scale_factor={scale_factor!r} does not give one number per spatial dimension"
    if not all(float(v).is_integer() and v >= 1 for v in values):
        return f"scale_factor={scale_factor!r} is not an integer >= 1 (only those fuse exactly)"
    scale = tuple(int(v) for v in values)
    if all(v == 1 for v in scale):
        return "scale_factor=1: no resize to fuse"
    if antialias:
        return "antialias=True"
    if mode in ("nearest", "nearest-exact"):
        return scale, str(mode)
    if mode == _LINEAR.get(rank):
        if align_corners:
            return (
                f"mode={mode!r} with align_corners=True mixes pixels with weights that vary "
                "with the size: no fixed transposed convolution"
            )
        return scale, str(mode)
    return f"mode={mode!r} does not fuse (nearest at integer scales and linear x2 do)"


def _check_conv(conv: Any, scale: tuple[int, ...], mode: str) -> str | None:
    """Why this convolution after that resize does not fuse (None: it fuses)."""
    if any(s != 1 for s in conv.stride):
        return f"the convolution has stride={tuple(conv.stride)} (only stride 1 fuses)"
    if conv.padding_mode != "zeros":
        return f"the convolution has padding_mode={conv.padding_mode!r} (only 'zeros' fuses)"
    try:
        resize_conv_geometry(
            conv.kernel_size, scale, conv.padding, conv.dilation, conv.groups, mode, len(scale)
        )
    except ShapeError as err:
        return str(err)
    return None


def _dims(values: tuple[Any, ...]) -> str:
    """``2`` for ``(2, 2)``, ``2x3`` for ``(2, 3)``."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _fused_detail(conv: Any, scale: tuple[int, ...], mode: str) -> str:
    geom = resize_conv_geometry(
        conv.kernel_size, scale, conv.padding, conv.dilation, conv.groups, mode, len(scale)
    )
    crop = geom.crop
    crops = str(crop[0][0]) if len({c for pair in crop for c in pair}) == 1 else str(crop)
    return (
        f"{mode} x{_dims(scale)} + conv k{_dims(tuple(conv.kernel_size))} -> transposed conv "
        f"k{_dims(geom.kernel_size)} s{_dims(geom.stride)} crop {crops}"
    )


def _set_module(root: torch.nn.Module, name: str, new: torch.nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, new)


class FusedUpsample(torch.nn.Module):
    """A third-party upsampling block (nearest x2 then a convolution in its ``forward``) with
    the pair computed as one transposed convolution.

    Made by :func:`fuse_resize`'s adapter table for blocks whose forward torch.fx cannot trace
    (diffusers' ``Upsample1D``/``Upsample2D``). The convolution stays under its own name as a
    :class:`tconv.nn.ResizeConv1d`/``2d`` sharing its parameters, so the block's state_dict
    keys are unchanged. ``forward(x, output_size=None)`` takes the block's arguments; an
    ``output_size`` other than twice the input resizes to it and convolves as written.

    Args:
        block: the original block (its public attributes are copied).
        conv_name: the name of its convolution child.

    Shape:
        - Input: ``(N, C, *S)``
        - Output: ``(N, C_out, *(2 * S))``, or ``(N, C_out, *output_size)``

    Example:
        >>> block = torch.nn.Module()          # any block holding its convolution as "conv"
        >>> block.conv = torch.nn.Conv2d(8, 8, 3, padding=1)
        >>> fused = FusedUpsample(block, "conv")
        >>> fused.state_dict().keys() == block.state_dict().keys()
        True
        >>> x = torch.randn(1, 8, 5, 5)
        >>> up = torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
        >>> torch.allclose(fused(x), block.conv(up), atol=1e-5)
        True
    """

    def __init__(self, block: torch.nn.Module, conv_name: str) -> None:
        super().__init__()
        for key, value in vars(block).items():
            if not key.startswith("_") and key != "training":
                setattr(self, key, value)
        conv: Any = getattr(block, conv_name)
        rank = conv.weight.dim() - 2
        self.conv_name = conv_name
        setattr(self, conv_name, RESIZE_CONV[rank].from_conv(conv, 2, "nearest"))
        self.train(block.training)

    def forward(
        self, hidden_states: Tensor, output_size: Any = None, *args: Any, **kwargs: Any
    ) -> Tensor:
        fused: Any = getattr(self, self.conv_name)
        if output_size is not None and tuple(output_size) != tuple(
            2 * n for n in hidden_states.shape[2:]
        ):
            up = F.interpolate(hidden_states, size=output_size, mode="nearest")
            return cast(Tensor, fused.to_conv()(up))
        return cast(Tensor, fused(hidden_states))


def _diffusers_upsample(module: torch.nn.Module) -> str | tuple[str, tuple[int, ...]]:
    """diffusers' Upsample1D/Upsample2D: the conv's name and scale, or why it does not fuse.

    Their forward: optional norm (2-D), then ``F.interpolate(scale_factor=2.0,
    mode="nearest")`` (``size=output_size`` when the caller passes one), then the conv."""
    m: Any = module
    if getattr(m, "use_conv_transpose", False):
        return "use_conv_transpose=True: a ConvTranspose already (to_tconv converts it)"
    if not getattr(m, "use_conv", False):
        return "use_conv=False: a resize alone"
    if not getattr(m, "interpolate", True):
        return "interpolate=False: a convolution alone"
    if getattr(m, "norm", None) is not None:
        return "a norm between the resize and the input: not adapted"
    name = "conv" if getattr(m, "name", "conv") == "conv" else "Conv2d_0"
    conv = getattr(m, name, None)
    if conv is None or not is_conv(conv):
        return f"no convolution named {name!r}"
    return name, (2,) * (conv.weight.dim() - 2)


#: Third-party blocks that resize and convolve inside a forward that torch.fx cannot trace
#: (asserts and branches on tensor shapes). ``(module, class name)`` -> a function returning
#: the convolution's name and the scale, or why the block does not fuse. Their forward is
#: re-implemented by :class:`FusedUpsample`, checked against the original in the tests.
ADAPTERS: dict[tuple[str, str], Callable[[torch.nn.Module], str | tuple[str, tuple[int, ...]]]] = {
    ("diffusers.models.upsampling", "Upsample1D"): _diffusers_upsample,
    ("diffusers.models.upsampling", "Upsample2D"): _diffusers_upsample,
}


class _LeafTracer(torch.fx.Tracer):
    """Traces one module's own forward: every submodule is a leaf (a call_module node)."""

    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:
        return True


def _mentions_interpolate(module: torch.nn.Module) -> bool:
    forward = type(module).forward
    if type(module).__module__.startswith("torch.") or isinstance(module, torch.fx.GraphModule):
        return False
    try:
        source = inspect.getsource(forward)
    except (OSError, TypeError):
        return False
    return "interpolate" in source


#: Rewrites one found pair (or one module's pairs) in a model; returns the model's root (a
#: new one only when the root itself is replaced).
Apply = Callable[[torch.nn.Module], torch.nn.Module]
Found = tuple[list[ResizePair], list[Apply]]


def _sequential_pairs(name: str, seq: torch.nn.Sequential) -> Found:
    pairs: list[ResizePair] = []
    applies: list[Apply] = []
    prefix = f"{name}." if name else ""
    for (a_name, a), (b_name, b) in itertools.pairwise(list(seq.named_children())):
        if not isinstance(a, torch.nn.Upsample) or not is_conv(b):
            continue
        where = f"{prefix}{a_name}, {prefix}{b_name}"
        conv: Any = b
        got = _resize_scale(conv.weight.dim() - 2, a.scale_factor, a.size, a.mode, a.align_corners)
        reason = got if isinstance(got, str) else _check_conv(conv, *got)
        if reason is not None:
            pairs.append(ResizePair(where, "Sequential", False, reason))
            continue
        scale, mode = cast(tuple[tuple[int, ...], str], got)

        def apply(
            root: torch.nn.Module,
            a_path: str = prefix + a_name,
            b_path: str = prefix + b_name,
            scale: tuple[int, ...] = scale,
            mode: str = mode,
        ) -> torch.nn.Module:
            fused = RESIZE_CONV[len(scale)].from_conv(root.get_submodule(b_path), scale, mode)
            _set_module(root, b_path, fused)
            _set_module(root, a_path, torch.nn.Identity())
            return root

        detail = f"{_fused_detail(conv, scale, mode)}; {prefix}{a_name} becomes Identity"
        pairs.append(ResizePair(where, "Sequential", True, detail))
        applies.append(apply)
    return pairs, applies


def _adapter_pair(name: str, module: torch.nn.Module) -> Found | None:
    key = (type(module).__module__, type(module).__name__)
    check = ADAPTERS.get(key)
    if check is None:
        return None
    where, how = name or "model", f"adapter: {key[1]}"
    got = check(module)
    if isinstance(got, str):
        return [ResizePair(where, how, False, got)], []
    conv_name, scale = got
    conv: Any = getattr(module, conv_name)
    reason = _check_conv(conv, scale, "nearest")
    if reason is not None:
        return [ResizePair(where, how, False, reason)], []

    def apply(
        root: torch.nn.Module, path: str = name, conv_name: str = conv_name
    ) -> torch.nn.Module:
        new = FusedUpsample(root.get_submodule(path), conv_name)
        if not path:
            return new
        _set_module(root, path, new)
        return root

    return [ResizePair(where, how, True, _fused_detail(conv, scale, "nearest"))], [apply]


def _traced_pairs(name: str, module: torch.nn.Module) -> Found:
    """``F.interpolate`` calls in ``module``'s own forward whose only use is a convolution
    child, found by tracing that forward with torch.fx (submodules kept as calls)."""
    where = name or "model"
    try:
        graph = _LeafTracer().trace(module)
        keys_kept = (
            torch.fx.GraphModule(module, graph).state_dict().keys() == module.state_dict().keys()
        )
    except Exception as err:  # user code: any failure means "cannot see inside"
        detail = f"its forward calls interpolate, but torch.fx cannot trace it ({one_line(err)})"
        return [ResizePair(where, "torch.fx", False, detail)], []
    source = inspect.getsource(type(module).forward)
    pairs: list[ResizePair] = []
    todo: list[tuple[str, str, tuple[int, ...], str]] = []  # node, conv path, scale, mode
    calls = [n.target for n in graph.nodes if n.op == "call_module"]
    for node in graph.nodes:
        if node.op != "call_function" or node.target is not F.interpolate:
            continue
        users = list(node.users)
        user = users[0] if len(users) == 1 else None
        target = user.target if user is not None and user.op == "call_module" else None
        sub: Any = module.get_submodule(target) if isinstance(target, str) else None
        at = f"{where}: interpolate -> {target}" if target else f"{where}: interpolate"
        if user is None or sub is None or not is_conv(sub):
            pairs.append(
                ResizePair(at, "torch.fx", False, "its result is not only a convolution's input")
            )
            continue
        bound = _INTERPOLATE_ARGS.bind(*node.args, **node.kwargs).arguments
        if any(isinstance(v, torch.fx.Node) for k, v in bound.items() if k != "input"):
            pairs.append(
                ResizePair(at, "torch.fx", False, "the resize's arguments are computed at run time")
            )
            continue
        got = _resize_scale(
            sub.weight.dim() - 2,
            bound.get("scale_factor"),
            bound.get("size"),
            bound.get("mode", "nearest"),
            bound.get("align_corners"),
            bound.get("antialias", False),
        )
        reason = got if isinstance(got, str) else _check_conv(sub, *got)
        if reason is None and (len(user.args) != 1 or user.kwargs or calls.count(target) != 1):
            reason = "the convolution is called more than once, or with more arguments"
        if reason is None and "training" in source:
            reason = "its forward reads self.training, which tracing would freeze"
        if reason is None and not keys_kept:
            reason = (
                "torch.fx would drop parts of the module that its forward does not use (the "
                "state_dict would change)"
            )
        if reason is not None:
            pairs.append(ResizePair(at, "torch.fx", False, reason))
            continue
        scale, mode = cast(tuple[tuple[int, ...], str], got)
        pairs.append(ResizePair(at, "torch.fx", True, _fused_detail(sub, scale, mode)))
        todo.append((node.name, str(target), scale, mode))
    if not todo:
        return pairs, []

    def apply(root: torch.nn.Module, path: str = name) -> torch.nn.Module:
        owner = root.get_submodule(path)
        traced = _LeafTracer().trace(owner)
        nodes = {n.name: n for n in traced.nodes}
        for node_name, conv_path, scale, mode in todo:
            node = nodes[node_name]
            (user,) = list(node.users)
            user.args = (node.args[0] if node.args else node.kwargs["input"],)
            traced.erase_node(node)
            conv = owner.get_submodule(conv_path)
            _set_module(owner, conv_path, RESIZE_CONV[len(scale)].from_conv(conv, scale, mode))
        new = torch.fx.GraphModule(owner, traced, class_name=type(owner).__name__)
        new.train(owner.training)
        if not path:
            return new
        _set_module(root, path, new)
        return root

    return pairs, [apply]


def _find(model: torch.nn.Module) -> Found:
    """Every resize -> convolution pair in ``model``, with the rewrites of those that fuse."""
    pairs: list[ResizePair] = []
    applies: list[Apply] = []
    adapted: list[str] = []
    for name, module in model.named_modules():
        if any(name == a or name.startswith(a + ".") for a in adapted):
            continue  # inside a block an adapter replaces
        found: Found | None = None
        if isinstance(module, torch.nn.Sequential):
            found = _sequential_pairs(name, module)
        else:
            found = _adapter_pair(name, module)
            if found is not None:
                adapted.append(name)
            elif _mentions_interpolate(module):
                found = _traced_pairs(name, module)
        if found is not None:
            pairs.extend(found[0])
            applies.extend(found[1])
    return pairs, applies


def resize_pairs(model: torch.nn.Module) -> FuseReport:
    """The resize -> convolution pairs in ``model``: which :func:`fuse_resize` fuses, and why
    it keeps the others (nothing is changed).

    Args:
        model: any module.

    Returns:
        The report (``print`` it, or read ``.fused`` and ``.skipped``).

    Example:
        >>> net = torch.nn.Sequential(
        ...     torch.nn.Upsample(scale_factor=2), torch.nn.Conv2d(4, 4, 3, padding=1),
        ...     torch.nn.Upsample(scale_factor=1.5), torch.nn.Conv2d(4, 4, 3, padding=1))
        >>> print(resize_pairs(net))  # doctest: +ELLIPSIS
        fused: 0, 1 (Sequential): nearest x2 + conv k3 -> transposed conv k4 s2 crop 1; 0 ...
        kept: 2, 3 (Sequential): scale_factor=1.5 is not an integer >= 1 (only those fuse exactly)
        1 resize-convolution pair(s) fused, 1 kept
    """
    return FuseReport(_find(model)[0])


def _tensors(value: Any) -> list[Tensor]:
    """The tensors in a model's output (tensors, sequences, mappings, dataclasses)."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _tensors(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [t for f in dataclasses.fields(value) for t in _tensors(getattr(value, f.name))]
    return []


def _differ(a: list[Tensor], b: list[Tensor]) -> str | None:
    """Why two outputs differ beyond float rounding (None: they agree)."""
    if len(a) != len(b):
        return f"{len(b)} output tensors instead of {len(a)}"
    for x, y in zip(a, b, strict=True):
        if x.shape != y.shape:
            return f"shape {tuple(y.shape)} instead of {tuple(x.shape)}"
        if not x.is_floating_point():
            if not torch.equal(x, y):
                return "different values"
            continue
        rtol = 1e-4 if x.dtype in (torch.float32, torch.float64) else 1e-2
        scale = float(x.detach().abs().max()) if x.numel() else 0.0
        diff = float((x.detach() - y.detach()).abs().max()) if x.numel() else 0.0
        if not diff <= rtol * scale + 1e-6:  # also catches NaN
            return f"max abs difference {diff:.3g} (allowed {rtol:g} x {scale:.3g})"
    return None


def _probes(pairs: list[ResizePair]) -> list[str]:
    """The module whose output each fused pair changes, by name (the same in both models)."""
    names = []
    for p in pairs:
        if not p.fused:
            continue
        if p.how == "Sequential":
            names.append(p.where.split(", ")[1])
        else:
            names.append(p.where.split(":")[0] if p.how == "torch.fx" else p.where)
    return [n for n in dict.fromkeys(names) if n != "model"]


def _run_recorded(
    model: torch.nn.Module, example: Any, names: list[str]
) -> tuple[list[Tensor], dict[str, list[Tensor]]]:
    seen: dict[str, list[Tensor]] = {}
    handles = []
    for n in names:

        def hook(m: torch.nn.Module, args: Any, out: Any, n: str = n) -> None:
            seen.setdefault(n, []).extend(t.detach().clone() for t in _tensors(out))

        handles.append(model.get_submodule(n).register_forward_hook(hook))
    args = example if isinstance(example, tuple) else (example,)
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            out = _tensors(model(*args))
    finally:
        for h in handles:
            h.remove()
    return out, seen


@overload
def fuse_resize(
    model: torch.nn.Module,
    example: Tensor | tuple[Any, ...] | None = ...,
    inplace: bool = ...,
    *,
    report: Literal[False] = ...,
    method: Method = ...,
) -> torch.nn.Module: ...
@overload
def fuse_resize(
    model: torch.nn.Module,
    example: Tensor | tuple[Any, ...] | None = ...,
    inplace: bool = ...,
    *,
    report: Literal[True],
    method: Method = ...,
) -> tuple[torch.nn.Module, FuseReport]: ...
def fuse_resize(
    model: torch.nn.Module,
    example: Tensor | tuple[Any, ...] | None = None,
    inplace: bool = False,
    *,
    report: bool = False,
    method: Method = "auto",
) -> torch.nn.Module | tuple[torch.nn.Module, FuseReport]:
    """Fuse every resize followed by a convolution that is exactly a transposed convolution.

    A nearest resize by an integer scale (1-, 2-, 3-D; "nearest-exact" too) followed by a
    stride-1, "zeros"-padded convolution (any kernel, padding, dilation, groups) is one
    transposed convolution (:func:`tconv.shapes.resize_conv_geometry`); so is a linear resize
    by 2 with ``align_corners=False`` before a convolution with ``padding=0``. Each such pair
    becomes a ``tconv.nn.ResizeConv1d/2d/3d`` that keeps the convolution's parameters
    under the convolution's name, so **the result loads the original state_dict unchanged**
    (and the original loads the result's). Found:

    - ``nn.Upsample`` then a convolution, consecutive children of an ``nn.Sequential``: the
      convolution's slot holds the ResizeConv, the Upsample's slot ``nn.Identity``;
    - ``F.interpolate(...)`` in a module's own ``forward`` whose result only feeds a
      convolution child: the module's forward is traced with torch.fx (its submodules kept
      as calls) and the module becomes a ``torch.fx.GraphModule`` of the same name and
      state_dict keys, the resize call removed and the convolution child fused. A forward
      that torch.fx cannot trace, or that reads ``self.training``, is kept;
    - blocks in :data:`ADAPTERS` (diffusers' ``Upsample1D``/``Upsample2D``), whose forward
      branches on tensor shapes: replaced by :class:`FusedUpsample`.

    Anything else (other scales and modes, strided or non-"zeros" convolutions, a linear
    resize before zero padding, where the edge clamping and the zeros meet) is kept; the
    report says why.

    Args:
        model: any module.
        example: an input (a tensor, or a tuple of positional arguments): the rewritten model
            is run on it against the original, and a difference beyond float rounding (1e-4
            relative in float32) raises, naming the first fused layer that differs.
        inplace: rewrite ``model`` itself instead of a deep copy.
        report: also return a :class:`FuseReport` (what was fused, why the rest was not).
        method: how the fused layers compute the transposed convolution, one of
            :data:`tconv.METHODS` (``"auto"`` measures once per input signature).

    Returns:
        The rewritten model (``model`` itself when ``inplace``, unless ``model`` itself is
        replaced), and the report when ``report=True``.

    Shape:
        - example: whatever ``model`` takes; the rewritten model takes and returns the same.

    Raises:
        ValueError: the rewritten model differs from the original on ``example`` (naming the
            layer), or an unknown ``method``.

    Example:
        >>> net = torch.nn.Sequential(
        ...     torch.nn.Conv2d(3, 8, 3, padding=1),
        ...     torch.nn.Upsample(scale_factor=2, mode="nearest"),
        ...     torch.nn.Conv2d(8, 8, 3, padding=1))
        >>> x = torch.randn(1, 3, 16, 16)
        >>> fused, rep = fuse_resize(net, example=x, report=True)
        >>> [type(m).__name__ for m in fused]
        ['Conv2d', 'Identity', 'ResizeConv2d']
        >>> fused.load_state_dict(net.state_dict())     # the original checkpoint loads
        <All keys matched successfully>
        >>> torch.allclose(fused(x), net(x), atol=1e-5)
        True
        >>> len(rep.fused), len(rep.skipped)
        (1, 0)
    """
    _methods.check(method)
    pairs, applies = _find(model)
    names = _probes(pairs)
    if example is not None:
        expected, expected_layers = _run_recorded(model, example, names)
    root = model if inplace else copy.deepcopy(model)
    for apply in applies:
        root = apply(root)
    for m in root.modules():
        if isinstance(m, tuple(RESIZE_CONV.values())):
            fused: Any = m
            fused.method = method
    if example is not None:
        got, got_layers = _run_recorded(root, example, names)
        for n in names:
            why = _differ(expected_layers.get(n, []), got_layers.get(n, []))
            if why is not None:
                raise ValueError(
                    f"fuse_resize: {n} differs from the original on the example: {why}"
                )
        why = _differ(expected, got)
        if why is not None:
            raise ValueError(
                f"fuse_resize: the model's output differs from the original on the example: {why}"
            )
    result = FuseReport(pairs)
    return (root, result) if report else root
