"""The layer classes: ``ConvTranspose1d/2d/3d`` and ``PixelShuffle``/``PixelUnshuffle``.

Exposed (with :class:`tconv.nn.Upsample`) as :mod:`tconv.nn`; this module sits below
:mod:`tconv.blocks` so that the blocks can build on the layers without an import circle.

The transposed convolutions subclass torch's classes (same constructor, parameters, state_dict
keys and default initialisation) and add what the geometry in :mod:`tconv.shapes` allows:
``"same"``, ``"valid"``, ``"same_lower"`` and asymmetric ``(begin, end)`` padding, every
``padding_mode``, any reachable ``output_size`` and a choice of ``method``. ``forward`` is one
call into :func:`tconv.functional.conv_transpose`.

>>> import torch
>>> m = ConvTranspose2d(3, 8, kernel_size=3, stride=2, padding="same")
>>> m(torch.randn(1, 3, 16, 16)).shape
torch.Size([1, 8, 32, 32])
>>> m
ConvTranspose2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=same)
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch import Tensor

from . import methods as _methods
from .cache_keys import immutable, lru_cache
from .functional import _recording, conv_transpose, prepare, run, shapes_of
from .methods import Method
from .methods import auto as _auto
from .methods.subpixel import subpixel_weight
from .shapes import (
    Geometry,
    IntOrTuple,
    PaddingMode,
    PaddingSpec,
    ShapeError,
    ShapeRuntimeError,
    as_tuple,
    conv_padding,
    kernel_span,
    resize_conv_geometry,
    spatial_index,
)
from .shuffle import pixel_shuffle, pixel_unshuffle
from .timing import paired_speed, paired_timings

__all__ = [
    "CONV",
    "CONV_TRANSPOSE",
    "RESIZE_CONV",
    "RESIZE_EXECUTIONS",
    "RESIZE_SWITCH_BELOW",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "PixelShuffle",
    "PixelUnshuffle",
    "ResizeConv1d",
    "ResizeConv2d",
    "ResizeConv3d",
    "from_geometry",
    "geometry_of",
    "is_conv",
    "resize_conv",
    "resize_conv_phase_weight",
    "resize_conv_weight",
]

#: The arguments every tconv ConvTransposeNd takes (shared by the three class docstrings).
_ARGS = """
    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (a multiple of ``groups``).
        kernel_size: an int or one int per spatial dimension.
        stride: an int or one int per spatial dimension (the upsampling factor).
        padding: how much of the full output to crop, in any of these spellings: an int or a
            tuple (PyTorch: crop ``p`` at both ends); ``"same"`` (output = input * stride,
            the odd extra crop at the end, as TensorFlow/Keras/JAX and ONNX SAME_UPPER);
            ``"same_lower"`` (the odd extra crop at the start, ONNX SAME_LOWER); ``"valid"``
            (the full output); or explicit ``(begin, end)`` pairs per dimension (negative
            values extend with zeros). The names fix the output size, so they refuse a
            non-zero ``output_padding`` (use ``output_size=`` in ``forward``).
        output_padding: shortens the end crop (PyTorch's meaning), each < max(stride,
            dilation).
        groups: blocked connections from input to output channels, as in PyTorch.
        bias: whether to add a learnable bias.
        dilation: spacing between kernel taps.
        padding_mode: ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"``; a
            non-zeros mode is the exact adjoint of ``torch.nn.ConvNd`` with that padding and
            mode (PyTorch's own transposed convolutions accept only ``"zeros"``).
        device: where to create the parameters.
        dtype: the parameters' floating-point type.
        method: how to compute it, one of :data:`tconv.METHODS`; all are exact (the registry,
            :mod:`tconv.methods`, says how each computes).
        allow_crop: let ``forward(x, output_size=...)`` reach any size by cropping or
            zero-extending the end, beyond the output_padding range.

    Raises:
        ShapeError: settings no transposed convolution can have, naming the valid range.
        ValueError: an unknown ``method`` or ``padding_mode`` (or padding name).
        TypeError: an argument of the wrong type (a float padding, a string stride).
"""


#: The attributes a layer's geometry and method are made of: reassigning one (torch users do,
#: rarely, e.g. ``m.stride = (1, 1)``) drops the call the layer validated, so the next call is
#: checked in full. Tensors (weight, bias, input) are checked on every call.
_SETTINGS = frozenset(
    (
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "dilation",
        "groups",
        "padding_mode",
        "method",
        "allow_crop",
    )
)


class _ConvTransposeNd(torch.nn.modules.conv._ConvTransposeNd):
    """The shared constructor, ``forward`` and ``repr`` of ConvTranspose1d/2d/3d.

    Mixed in before torch's ``ConvTransposeNd`` of the same rank, whose constructor it calls
    with ``padding=0`` and ``padding_mode="zeros"`` (torch refuses the other spellings) before
    storing the real settings: same parameters, state_dict keys and initialisation.
    """

    _rank: ClassVar[int]
    _torch: ClassVar[Any]  # torch's ConvTransposeNd of this rank
    padding: Any  # an int tuple (torch style), a name, or (begin, end) pairs
    method: Method
    allow_crop: bool

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: PaddingSpec = 0,
        output_padding: IntOrTuple = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntOrTuple = 1,
        padding_mode: PaddingMode = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        method: Method = "native",
        allow_crop: bool = False,
    ) -> None:
        _methods.check(method)
        # validate everything first (ShapeError/ValueError/TypeError naming the value)
        Geometry.create(
            kernel_size,
            stride,
            padding,
            output_padding,
            dilation,
            groups,
            padding_mode,
            rank=self._rank,
        )
        if in_channels % groups or out_channels % groups:
            raise ShapeError(
                f"in_channels={in_channels} and out_channels={out_channels} must both be "
                f"divisible by groups={groups}"
            )
        self._torch.__init__(
            self,
            in_channels,
            out_channels,
            kernel_size,
            stride,
            0,
            output_padding,
            groups,
            bias,
            dilation,
            "zeros",
            device,
            dtype,
        )
        # keep the user's padding spelling
        self.padding = padding if isinstance(padding, str) else _torch_style(padding, self._rank)
        self.padding_mode = padding_mode
        self.method = method
        self.allow_crop = allow_crop

    def _settings(self) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
        """The attributes the geometry is made of, in :meth:`Geometry.create`'s order."""
        return (
            self.kernel_size,
            self.stride,
            self.padding,
            self.output_padding,
            self.dilation,
            self.groups,
            self.padding_mode,
        )

    @property
    def geometry(self) -> Geometry:
        """This layer's :class:`~tconv.shapes.Geometry` (crops resolved from the settings)."""
        return Geometry.create(*self._settings(), rank=self._rank)

    def _kept_geometry(self) -> Geometry:
        """:attr:`geometry`, rebuilt only when a setting was reassigned (checked by identity,
        so that ``True`` never stands in for ``1``: the forward pass of a layer called many
        times does not resolve its settings again)."""
        settings = self._settings()
        kept = self.__dict__.get("_tconv_geometry")
        if kept is not None:
            k = kept[0]
            if (  # written out: this runs on every call
                k[0] is settings[0]
                and k[1] is settings[1]
                and k[2] is settings[2]
                and k[3] is settings[3]
                and k[4] is settings[4]
                and k[5] is settings[5]
                and k[6] is settings[6]
            ):
                return kept[1]
        geom = Geometry.create(*settings, rank=self._rank)
        if all(immutable(v) for v in settings):  # a list changed in place would go unseen
            self.__dict__["_tconv_geometry"] = (settings, geom)
        else:
            self.__dict__.pop("_tconv_geometry", None)
        return geom

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SETTINGS:  # a setting changes: the next call validates it again
            self.__dict__.pop("_tconv_fast", None)
        super().__setattr__(name, value)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if "_tconv_fast" in state:  # a function of this process: validated again on load
            state = {k: v for k, v in state.items() if k != "_tconv_fast"}
        return state

    def forward(self, input: Tensor, output_size: IntOrTuple | None = None) -> Tensor:
        """The transposed convolution of ``input``; ``output_size`` (the spatial size, or the
        whole output shape as torch takes it: ``(N, C, *spatial)``, or ``(C, *spatial)`` for
        an unbatched input; or one int for every spatial dimension) picks the output_padding.

        A call like the previous one (the same tensor shapes, input, weight and bias of one
        dtype, no ``output_size``, no setting reassigned since) runs the call validated then:
        for ``method="native"`` torch's function with its arguments resolved once, what
        ``torch.nn.ConvTransposeNd`` costs. Any other call is checked in full.
        """
        weight = self.weight
        bias = self.bias
        if output_size is None:
            fast = self.__dict__.get("_tconv_fast")
            if (
                fast is not None
                and isinstance(input, Tensor)
                and input.shape == fast[0]
                and weight.shape == fast[1]
                and (None if bias is None else bias.shape) == fast[2]
                and input.dtype is weight.dtype
                and (bias is None or bias.dtype is weight.dtype)
                and not (torch.compiler.is_compiling() or torch._C._is_tracing())
            ):
                return fast[3](input, weight, bias)
            geom = self._kept_geometry()
            if geom.kernel_size == shapes_of(weight)[0][2:]:
                y = run(input, weight, bias, geom, self.method)  # every check
                # kept only for settings that cannot change in place (see _kept_geometry)
                if not _recording() and "_tconv_geometry" in self.__dict__:
                    shapes = shapes_of(input, weight, bias)
                    call = prepare(geom, self.method, *shapes)
                    self.__dict__["_tconv_fast"] = (*shapes, call)
                return y
        return conv_transpose(
            input,
            weight,
            bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
            output_size=output_size,
            padding_mode=self.padding_mode,
            allow_crop=self.allow_crop,
            method=self.method,
        )

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * self._rank:
            s += ", padding={padding}"
        if self.dilation != (1,) * self._rank:
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * self._rank:
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        if self.method != "native":
            s += ", method={method}"
        if self.allow_crop:
            s += ", allow_crop=True"
        return s.format(**{**self.__dict__, "padding": self.padding, "method": self.method})


def _torch_style(padding: Any, rank: int) -> Any:
    """ints as a tuple (torch style); pairs as a tuple of pairs (validated before)."""
    if not isinstance(padding, (list, tuple)):
        return (int(padding),) * rank
    items = tuple(padding)
    if all(not isinstance(v, (list, tuple)) for v in items):
        items = tuple(int(v) for v in items)
        return items * rank if len(items) == 1 else items
    return tuple(tuple(int(x) for x in v) for v in items)


class ConvTranspose1d(_ConvTransposeNd, torch.nn.ConvTranspose1d):
    _rank = 1
    _torch = torch.nn.ConvTranspose1d
    __doc__ = f"""Drop-in ``torch.nn.ConvTranspose1d`` with tconv's padding and methods.
    {_ARGS}
    Shape:
        - Input: ``(N, C_in, L_in)`` or ``(C_in, L_in)``
        - Output: ``(N, C_out, L_out)``, ``L_out = (L_in - 1) * stride - lo - hi
          + dilation * (kernel_size - 1) + 1`` (see :mod:`tconv.shapes`)

    Example:
        >>> m = ConvTranspose1d(2, 4, kernel_size=4, stride=2, padding=1)
        >>> m(torch.randn(8, 2, 100)).shape
        torch.Size([8, 4, 200])
    """


class ConvTranspose2d(_ConvTransposeNd, torch.nn.ConvTranspose2d):
    _rank = 2
    _torch = torch.nn.ConvTranspose2d
    __doc__ = f"""Drop-in ``torch.nn.ConvTranspose2d`` with tconv's padding and methods.
    {_ARGS}
    Shape:
        - Input: ``(N, C_in, H_in, W_in)`` or ``(C_in, H_in, W_in)``
        - Output: ``(N, C_out, H_out, W_out)``, per dimension
          ``(in - 1) * stride - lo - hi + dilation * (kernel_size - 1) + 1``

    Example:
        >>> m = ConvTranspose2d(64, 3, kernel_size=2, stride=2)
        >>> m(torch.randn(1, 64, 16, 16)).shape
        torch.Size([1, 3, 32, 32])
        >>> m(torch.randn(1, 64, 16, 16), output_size=(33, 33)).shape
        torch.Size([1, 3, 33, 33])
    """


class ConvTranspose3d(_ConvTransposeNd, torch.nn.ConvTranspose3d):
    _rank = 3
    _torch = torch.nn.ConvTranspose3d
    __doc__ = f"""Drop-in ``torch.nn.ConvTranspose3d`` with tconv's padding and methods.
    {_ARGS}
    Shape:
        - Input: ``(N, C_in, D_in, H_in, W_in)`` or ``(C_in, D_in, H_in, W_in)``
        - Output: ``(N, C_out, D_out, H_out, W_out)``, per dimension as in ConvTranspose1d

    Example:
        >>> m = ConvTranspose3d(4, 2, kernel_size=3, stride=2, padding=1, output_padding=1)
        >>> m(torch.randn(1, 4, 4, 5, 6)).shape
        torch.Size([1, 2, 8, 10, 12])
    """


#: tconv's transposed convolution class per spatial rank.
CONV_TRANSPOSE: dict[int, type[_ConvTransposeNd]] = {
    1: ConvTranspose1d,
    2: ConvTranspose2d,
    3: ConvTranspose3d,
}
#: torch's ordinary convolution class per spatial rank.
CONV: dict[int, type[torch.nn.Module]] = {
    1: torch.nn.Conv1d,
    2: torch.nn.Conv2d,
    3: torch.nn.Conv3d,
}


def is_conv(module_or_class: torch.nn.Module | type) -> bool:
    """Whether a module (or class) is an ordinary convolution: torch's ``Conv{1,2,3}d`` or a
    subclass, not a transposed one.

    Args:
        module_or_class: a module, or the class of one.

    Returns:
        True for an ordinary convolution.

    Example:
        >>> is_conv(torch.nn.Conv2d(1, 1, 3)), is_conv(ConvTranspose2d), is_conv(torch.nn.ReLU)
        (True, False, False)
    """
    cls = module_or_class if isinstance(module_or_class, type) else type(module_or_class)
    return issubclass(cls, torch.nn.modules.conv._ConvNd) and not issubclass(
        cls, torch.nn.modules.conv._ConvTransposeNd
    )


def geometry_of(module: torch.nn.Module) -> Geometry:
    """The :class:`~tconv.shapes.Geometry` of a tconv or torch ``ConvTranspose{1,2,3}d``.

    Args:
        module: the layer.

    Returns:
        Its geometry (kernel, stride, dilation, groups, crops, padding_mode).

    Raises:
        ShapeError: for a module whose crop depends on the input size (an ONNX
            ``output_shape`` module: use its ``geometry_for(input_size)``).
        TypeError: for any other module.

    Example:
        >>> geometry_of(torch.nn.ConvTranspose1d(1, 1, 3, stride=2, padding=1)).crop
        ((1, 1),)
        >>> geometry_of(ConvTranspose1d(1, 1, 3, stride=2, padding="same")).crop
        ((0, 1),)
    """
    if callable(getattr(module, "geometry_for", None)):
        raise ShapeError(
            f"{type(module).__name__} has output_shape={getattr(module, 'output_shape', None)}: "
            "its crop depends on the input size, so no fixed padding says it; convert the "
            "geometry for one input size instead (module.geometry_for(input_size))"
        )
    if isinstance(module, _ConvTransposeNd):
        return module.geometry
    if isinstance(module, torch.nn.modules.conv._ConvTransposeNd):
        return Geometry.create(
            module.kernel_size,
            module.stride,
            module.padding,
            module.output_padding,
            module.dilation,
            module.groups,
            module.padding_mode,
            rank=len(module.kernel_size),
        )
    raise TypeError(
        f"expected a tconv.nn.ConvTranspose{{1,2,3}}d or torch.nn.ConvTranspose{{1,2,3}}d "
        f"module, got {type(module).__name__}"
    )


def from_geometry(
    geom: Geometry,
    weight: Tensor,
    bias: Tensor | None = None,
    *,
    padding: PaddingSpec | None = None,
    output_padding: int | tuple[int, ...] = 0,
    cls: type | None = None,
    **options: Any,
) -> torch.nn.Module:
    """A ConvTranspose{1,2,3}d with geometry ``geom`` and copies of ``weight`` (and ``bias``).

    The padding is spelled with PyTorch's ``padding, output_padding`` where they can say the
    crops, else as explicit ``(begin, end)`` pairs; pass ``padding``/``output_padding`` to
    choose another spelling of the same crops (checked).

    Args:
        geom: the geometry (its rank picks ConvTranspose1d, 2d or 3d).
        weight: the weight to copy.
        bias: the bias to copy; None for a layer without bias.
        padding: another spelling of ``geom``'s crops (None: PyTorch's where it can).
        output_padding: with ``padding``, PyTorch's ``output_padding``.
        cls: a subclass of the tconv module of that rank to build instead.
        **options: other constructor arguments (``method=``, ``allow_crop=``, ...).

    Returns:
        The module, its parameters copies of ``weight`` and ``bias`` (same dtype and device).

    Raises:
        ShapeError: when ``padding``/``output_padding`` do not spell ``geom``'s crops, or the
            weight does not fit the geometry (rank, groups).

    Shape:
        - weight: ``(C_in, C_out // groups, *kernel_size)``
        - bias: ``(C_out,)``

    Example:
        >>> g = Geometry.create((3, 3), stride=2, padding="same")
        >>> m = from_geometry(g, torch.ones(4, 2, 3, 3), torch.zeros(2))
        >>> m
        ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), padding=((0, 1), (0, 1)))
        >>> m(torch.ones(1, 4, 5, 5)).shape
        torch.Size([1, 2, 10, 10])
    """
    if weight.dim() != geom.rank + 2:
        raise ShapeError(
            f"weight of shape {tuple(weight.shape)} is invalid: expected {geom.rank + 2} "
            "dimensions (in_channels, out_channels // groups, *kernel_size)"
        )
    if padding is None:
        spelled = geom.torch_padding()
        padding, output_padding = (geom.crop, 0) if spelled is None else spelled
    cls = cls or CONV_TRANSPOSE[geom.rank]
    module: Any = cls(
        weight.shape[0],
        weight.shape[1] * geom.groups,
        geom.kernel_size,
        stride=geom.stride,
        padding=padding,
        output_padding=output_padding,
        groups=geom.groups,
        bias=bias is not None,
        dilation=geom.dilation,
        padding_mode=geom.padding_mode,
        device=weight.device,
        dtype=weight.dtype,
        **options,
    )
    if module.geometry.crop != geom.crop:
        raise ShapeError(
            f"padding={padding!r}, output_padding={output_padding!r} spell the crops "
            f"{module.geometry.crop}, not {geom.crop}"
        )
    with torch.no_grad():
        module.weight.copy_(weight)
        if bias is not None:
            module.bias.copy_(bias.reshape(-1))
    result: torch.nn.Module = module
    return result


class PixelShuffle(torch.nn.Module):
    """Sub-pixel interleave in 1, 2 or 3 dimensions: ``(N, C * prod(r), *S) -> (N, C, *(S * r))``.

    The module form of :func:`tconv.shuffle.pixel_shuffle`; in 2-D it equals
    ``torch.nn.PixelShuffle`` (same channel order: channel ``c * prod(r) + p``, ``p`` the
    row-major phase index).

    Args:
        upscale_factor: ``r``, an int (any rank, taken from the input) or one int per spatial
            dimension.

    Shape:
        - Input: ``(N, C * prod(r), *S)`` with 1 to 3 spatial dimensions
        - Output: ``(N, C, *(S * r))``

    Example:
        >>> PixelShuffle(2)(torch.randn(1, 8, 5)).shape
        torch.Size([1, 4, 10])
        >>> PixelShuffle((1, 2, 2))(torch.randn(1, 8, 3, 4, 5)).shape
        torch.Size([1, 2, 3, 8, 10])
        >>> PixelShuffle(3)
        PixelShuffle(upscale_factor=3)
    """

    def __init__(self, upscale_factor: int | tuple[int, ...]) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(torch.nn.Module):
    """Inverse of :class:`PixelShuffle`: ``(N, C, *(S * r)) -> (N, C * prod(r), *S)``, 1-3 D.

    The module form of :func:`tconv.shuffle.pixel_unshuffle`; in 2-D it equals
    ``torch.nn.PixelUnshuffle``.

    Args:
        downscale_factor: ``r``, an int (any rank, taken from the input) or one int per
            spatial dimension.

    Shape:
        - Input: ``(N, C, *(S * r))`` with 1 to 3 spatial dimensions
        - Output: ``(N, C * prod(r), *S)``

    Example:
        >>> x = torch.randn(2, 3, 4, 6, 8)
        >>> PixelUnshuffle(2)(x).shape
        torch.Size([2, 24, 2, 3, 4])
        >>> torch.equal(PixelShuffle(2)(PixelUnshuffle(2)(x)), x)
        True
    """

    def __init__(self, downscale_factor: int | tuple[int, ...]) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


# ---------------------------------------------------------------------------------------------
# resize then convolution, computed as the transposed convolution it is

#: The linear resize's taps at scale 2, align_corners=False (each output phase reads its two
#: nearest input pixels with weights 1/4 and 3/4).
_LINEAR_X2 = (0.25, 0.75, 0.75, 0.25)


def resize_conv_weight(
    weight: Tensor,
    scale: IntOrTuple,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    mode: str = "nearest",
) -> Tensor:
    """The transposed-convolution kernel equal to a resize by ``scale`` then a convolution.

    Per spatial dimension the convolution's taps are placed at their dilated offsets, flipped,
    and convolved with the resize's footprint: a box of ``r`` ones for a nearest resize (so
    tap ``m`` is the sum of the convolution's taps that read the same input pixel), the taps
    ``(1/4, 3/4, 3/4, 1/4)`` for a linear resize by 2; the channel axes are swapped per group.
    Differentiable: gradients reach ``weight``. The crop that goes with it comes from
    :func:`tconv.shapes.resize_conv_geometry`.

    Args:
        weight: the convolution's weight ``(C_out, C_in // groups, *k)``.
        scale: the integer resize factor, an int or one per spatial dimension.
        dilation: the convolution's dilation.
        groups: the convolution's groups.
        mode: the resize mode, one of :data:`tconv.shapes.RESIZE_MODES`.

    Returns:
        The transposed convolution's weight ``(C_in, C_out // groups, *K)``, per dimension
        ``K = dilation * (k - 1) + r`` (nearest) or ``dilation * (k - 1) + 4`` (linear).

    Shape:
        - weight: ``(C_out, C_in // groups, *k)``
        - Output: ``(C_in, C_out // groups, *K)``

    Example:
        >>> w = torch.tensor([[[1.0, 2.0, 3.0]]])           # taps w0, w1, w2
        >>> resize_conv_weight(w, 2)                         # [w2, w1 + w2, w0 + w1, w0]
        tensor([[[3., 5., 3., 1.]]])
    """
    rank = weight.dim() - 2
    geom = resize_conv_geometry(tuple(weight.shape[2:]), scale, 0, dilation, groups, mode, rank)
    d = as_tuple(dilation, rank, "dilation")
    c_out, c_in_g = weight.shape[:2]
    # channels last (one long contiguous row per tap), so each step below is a few large
    # vector operations rather than many tiny ones over the kernel's few taps
    v = weight.flip(tuple(range(2, 2 + rank))).reshape(c_out * c_in_g, *weight.shape[2:])
    v = v.permute(*range(1, rank + 1), 0)
    if any(dd > 1 for dd in d):  # the taps at their dilated offsets
        dense = v.new_zeros((*kernel_span(tuple(weight.shape[2:]), d), v.shape[-1]))
        dense[spatial_index(slice(None, None, dd) for dd in d)[2:]] = v
        v = dense
    for j, r in enumerate(geom.stride):  # full convolution with the footprint along dim j
        taps = (1.0,) * r if mode.startswith("nearest") else _LINEAR_X2
        n = v.shape[j]
        out = v.new_zeros((*v.shape[:j], n + len(taps) - 1, *v.shape[j + 1 :]))
        for a, t in enumerate(taps):
            out.narrow(j, a, n).add_(v if t == 1.0 else v * t)
        v = out
    v = v.permute(rank, *range(rank)).reshape(groups, c_out // groups, c_in_g, *v.shape[:rank])
    return v.transpose(1, 2).reshape(groups * c_in_g, c_out // groups, *v.shape[3:])


def resize_conv(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    scale: IntOrTuple = 2,
    padding: PaddingSpec = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    mode: str = "nearest",
    method: Method = "auto",
) -> Tensor:
    """``conv(resize(input, scale, mode), weight, bias, padding, dilation, groups)``, computed
    as one transposed convolution (it never builds the resized tensor).

    Equal to ``F.conv{1,2,3}d(F.interpolate(input, scale_factor=scale, mode=mode), weight,
    bias, 1, padding, dilation, groups)`` up to float rounding, gradients included, for an
    integer nearest ``scale`` with any kernel, padding, dilation and groups, and for a linear
    resize by 2 (``align_corners=False``) before a convolution with ``padding=0``
    (:func:`tconv.shapes.resize_conv_geometry` refuses the rest).

    Args:
        input: ``(N, C_in, *S)`` or ``(C_in, *S)``.
        weight: the convolution's weight ``(C_out, C_in // groups, *k)``.
        bias: the convolution's bias ``(C_out,)`` or None.
        scale: the integer resize factor, an int or one per spatial dimension.
        padding: the convolution's zero padding (``"same"``, ``"valid"``, ints or pairs).
        dilation: the convolution's dilation.
        groups: the convolution's groups.
        mode: the resize mode, one of :data:`tconv.shapes.RESIZE_MODES`.
        method: how to compute the transposed convolution, one of :data:`tconv.METHODS`;
            ``"subpixel"`` runs the phase path of :func:`resize_conv_phase_weight` (one
            ordinary convolution and a pixel shuffle, forward and backward).

    Returns:
        The convolution's output on the resized input.

    Shape:
        - Input: ``(N, C_in, *S)`` or ``(C_in, *S)``
        - Output: ``(N, C_out, *O)``, per dimension ``O = S * r + pb + pe - d * (k - 1)``

    Raises:
        ShapeError: a geometry that does not fuse (see
            :func:`tconv.shapes.resize_conv_geometry`) or an input that does not fit.
        ValueError: an unknown ``mode`` or ``method``.

    Example:
        >>> x, w = torch.randn(1, 4, 8, 8), torch.randn(6, 4, 3, 3)
        >>> up = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        >>> ref = torch.nn.functional.conv2d(up, w, padding=1)
        >>> torch.allclose(resize_conv(x, w, padding=1, method="native"), ref, atol=1e-5)
        True
    """
    rank = weight.dim() - 2
    geom = resize_conv_geometry(
        tuple(weight.shape[2:]), scale, padding, dilation, groups, mode, rank
    )
    _check_channels(input, weight, groups)
    size = tuple(input.shape[-rank:])
    if not mode.startswith("nearest"):
        size = tuple(n + 2 for n in size)  # after the edge clamping's replicate padding
    if method == "subpixel" and all(o > 0 for o in geom.cropped_size(size)):
        batched = input.dim() == rank + 2
        cw, pad, crop = resize_conv_phase_weight(weight, scale, padding, dilation, mode)
        x = input if batched else input.unsqueeze(0)
        y = _phase_run(x, cw, pad, crop, bias, geom.stride, groups, mode)
        return y if batched else y.squeeze(0)
    w = resize_conv_weight(weight, scale, dilation, groups, mode)
    return _fused(input, w, bias, geom, mode, method)


def _check_channels(input: Tensor, weight: Tensor, groups: int) -> None:
    rank = weight.dim() - 2
    if input.dim() in (rank + 1, rank + 2) and input.shape[-rank - 1] != weight.shape[1] * groups:
        raise ShapeRuntimeError(
            f"input of shape {tuple(input.shape)} is invalid for a convolution weight of shape "
            f"{tuple(weight.shape)} with groups={groups}: expected "
            f"{weight.shape[1] * groups} input channels, got {input.shape[-rank - 1]}"
        )


def _fused(
    input: Tensor, w: Tensor, bias: Tensor | None, geom: Geometry, mode: str, method: Method
) -> Tensor:
    """The transposed convolution with the derived kernel ``w`` (the input replicate-padded by
    one first for a linear resize: its edge clamping)."""
    x = input
    if not mode.startswith("nearest"):
        rank = geom.rank
        batched = x.dim() == rank + 2
        x = torch.nn.functional.pad(x if batched else x.unsqueeze(0), (1, 1) * rank, "replicate")
        x = x if batched else x.squeeze(0)
    return run(x, w, bias, geom, method)


# --- the phase (sub-pixel) path, straight from the convolution's weight ----------------------
#
# Per dimension, resize by r then a k-tap convolution is, for each of the r output phases, an
# ordinary convolution of the input with a few taps, each a sum of the convolution's taps
# (nearest) or a 1/4-3/4 blend of them (linear). Stacked as output channels of ONE ordinary
# convolution and pixel-shuffled, forward and backward are ordinary convolutions. The layout
# is tconv's sub-pixel rewrite (:func:`tconv.methods.subpixel.subpixel_weight`) of the
# transposed kernel (:func:`resize_conv_weight`); both are linear in the weight and separable
# per dimension, so one small matrix per dimension maps the convolution's taps straight to the
# packed kernel: a k x (r * KK) matrix, found once per setting by pushing the k unit taps
# through those two functions.


@lru_cache(maxsize=1024)
def _phase_dim(
    k: int, r: int, pads: tuple[int, int], d: int, linear: bool
) -> tuple[tuple[tuple[float, ...], ...], int, tuple[int, int], tuple[int, int]]:
    """One dimension of the phase path: (matrix tap t -> slot ``phase * KK + u``, ``KK``, the
    packed convolution's zero padding, the crop after the shuffle)."""
    mode = "linear" if linear else "nearest"
    geom = resize_conv_geometry(k, r, (pads,), d, 1, mode, 1)
    unit = torch.eye(k, dtype=torch.float64).reshape(k, 1, k)  # k convolutions of one tap
    with torch.no_grad():
        packed, padding, crop = subpixel_weight(resize_conv_weight(unit, r, d, 1, mode), geom)
    matrix = tuple(tuple(row) for row in packed.reshape(k, -1).tolist())
    return matrix, int(packed.shape[-1]), padding[0], crop[0]


@lru_cache(maxsize=1024)
def _phase_plan(
    kernel: tuple[int, ...],
    scale: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...],
    linear: bool,
) -> tuple[
    tuple[tuple[float, ...], ...],
    tuple[int, ...],
    tuple[tuple[int, int], ...],
    tuple[tuple[int, int], ...],
]:
    """The phase path's settings: (matrix from the ``prod(k)`` taps, row-major, to the
    ``prod(scale) * prod(KK)`` slots of one output channel of the packed kernel, phases first;
    ``KK``; the packed convolution's zero padding; the crop after the shuffle). The product
    of the per-dimension matrices of :func:`_phase_dim`."""
    dims = [_phase_dim(*a, linear) for a in zip(kernel, scale, pads, dilation, strict=True)]
    full = torch.ones((), dtype=torch.float64)
    for j, (matrix, kk, _, _) in enumerate(dims):  # axes: taps so far, then phases, then KK
        m = torch.tensor(matrix, dtype=torch.float64).reshape(kernel[j], scale[j], kk)
        t, ph, kks = full.shape[:j], full.shape[j : 2 * j], full.shape[2 * j :]
        full = full.reshape(math.prod(t), 1, math.prod(ph), 1, math.prod(kks), 1)
        full = full * m.reshape(1, kernel[j], 1, scale[j], 1, kk)
        full = full.reshape(*t, kernel[j], *ph, scale[j], *kks, kk)
    rows = full.reshape(math.prod(kernel), -1).tolist()
    return (
        tuple(tuple(row) for row in rows),
        tuple(kk for _, kk, _, _ in dims),
        tuple(p for _, _, p, _ in dims),
        tuple(c for _, _, _, c in dims),
    )


def resize_conv_phase_weight(
    weight: Tensor,
    scale: IntOrTuple,
    padding: PaddingSpec = 0,
    dilation: IntOrTuple = 1,
    mode: str = "nearest",
) -> tuple[Tensor, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """One ordinary convolution + pixel shuffle + crop equal to a resize then a convolution.

    Returns ``(conv_weight, conv_padding, crop)``: zero-pad the input by ``conv_padding``
    (``(begin, end)`` per dimension, first dimension first; after the replicate padding by 1
    of a linear resize), convolve with ``conv_weight`` (stride 1, the convolution's groups,
    the bias repeated ``prod(scale)`` times), :func:`tconv.shuffle.pixel_shuffle` by
    ``scale``, and crop ``(lo, hi)`` per dimension. The kernel is the sub-pixel rewrite
    (:func:`tconv.methods.subpixel.subpixel_weight`) of :func:`resize_conv_weight`, computed
    straight from ``weight`` by one small matrix product per dimension (differentiable:
    gradients reach ``weight``). Nearest x2 then a 3x3 convolution becomes 2x2 taps per
    output phase: 16 instead of 36 multiply-adds per input pixel and channel pair.

    Args:
        weight: the convolution's weight ``(C_out, C_in // groups, *k)``.
        scale: the integer resize factor, an int or one per spatial dimension.
        padding: the convolution's zero padding (``"same"``, ``"valid"``, ints or pairs).
        dilation: the convolution's dilation.
        mode: the resize mode, one of :data:`tconv.shapes.RESIZE_MODES`.

    Returns:
        ``(conv_weight, conv_padding, crop)``.

    Shape:
        - weight: ``(C_out, C_in // groups, *k)``
        - conv_weight: ``(C_out * prod(scale), C_in // groups, *KK)``

    Raises:
        ShapeError: a resize and convolution that do not fuse
            (:func:`tconv.shapes.resize_conv_geometry`).

    Example:
        >>> w = torch.tensor([[[1.0, 2.0, 3.0]]])              # taps w0, w1, w2
        >>> cw, pad, crop = resize_conv_phase_weight(w, 2, padding=1)
        >>> cw         # the phases' taps [w0 + w1, w2] and [w0, w1 + w2], two per output pixel
        tensor([[[3., 3.]],
        <BLANKLINE>
                [[1., 5.]]])
        >>> pad, crop  # aligned so both phases read the same two pixels, then one cropped off
        (((1, 1),), ((1, 1),))
    """
    rank = weight.dim() - 2
    r = as_tuple(scale, rank, "scale")
    d = as_tuple(dilation, rank, "dilation")
    k = tuple(weight.shape[2:])
    resize_conv_geometry(k, r, padding, d, 1, mode, rank)  # refuses what does not fuse
    pads = conv_padding(padding, k, d, rank)
    matrix, kks, pad, crop = _phase_plan(k, r, pads, d, not mode.startswith("nearest"))
    m = torch.tensor(matrix, dtype=weight.dtype, device=weight.device)
    c_out, c_in_g = weight.shape[:2]
    # per output channel one matrix product (slots x taps) @ (taps x C_in), so the result
    # lies in memory as (C_out, phase, *KK, C_in): the packed kernel in channels-last layout,
    # without a copy in forward or backward (3x faster than a product over the taps followed
    # by a transpose, measured for 512 channels)
    w = torch.matmul(m.t(), weight.reshape(c_out, c_in_g, -1).transpose(1, 2))
    w = w.reshape(c_out * math.prod(r), *kks, c_in_g)
    return w.permute(0, rank + 1, *range(1, rank + 1)), pad, crop


_CONV_FN = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _phase_run(
    x: Tensor,
    conv_weight: Tensor,
    padding: tuple[tuple[int, int], ...],
    crop: tuple[tuple[int, int], ...],
    bias: Tensor | None,
    scale: tuple[int, ...],
    groups: int,
    mode: str,
) -> Tensor:
    """The phase path on a batched input (see :func:`resize_conv_phase_weight`)."""
    rank = len(scale)
    if not mode.startswith("nearest"):  # the linear resize's edge clamping
        x = F.pad(x, (1, 1) * rank, "replicate")
    grow = [v for b, e in reversed(padding) for v in (b, e)]
    xp = F.pad(x, grow) if any(grow) else x
    b = None if bias is None else bias.repeat_interleave(math.prod(scale))
    y = pixel_shuffle(_CONV_FN[rank](xp, conv_weight, b, 1, 0, 1, groups), scale)
    if any(lo or hi for lo, hi in crop):
        cut = [slice(lo, y.shape[2 + j] - hi) for j, (lo, hi) in enumerate(crop)]
        y = y[tuple([slice(None), slice(None), *cut])]
    return y


#: How a :class:`ResizeConv2d` (1/2/3-D) computes: the phase path (one ordinary convolution
#: and a pixel shuffle), the transposed convolution, or the resize then the convolution as
#: written. ``method="auto"`` times the three once per input signature and grad mode.
RESIZE_EXECUTIONS: tuple[str, ...] = ("phase", "transposed", "unfused")

#: ``method="auto"`` leaves the unfused pair only for an execution measured faster than this
#: ratio of its time, twice (a fused layer is never slower than the pair beyond noise).
RESIZE_SWITCH_BELOW = 0.95

_RESIZE_CHOICES: dict[tuple[object, ...], tuple[str, dict[str, float]]] = {}


_RESIZE_ARGS = """
    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: the convolution's kernel, an int or one per spatial dimension.
        scale_factor: the integer resize factor, an int or one per spatial dimension.
        padding: the convolution's zero padding (``"same"``, ``"valid"``, ints or pairs).
        dilation: the convolution's dilation.
        groups: the convolution's groups.
        bias: whether the convolution has a learnable bias.
        mode: the resize mode, one of :data:`tconv.shapes.RESIZE_MODES` (linear modes only at
            scale 2 before a convolution with ``padding=0``).
        method: how to compute, one of :data:`tconv.METHODS`: ``"auto"`` times the phase
            path, the transposed convolution and the unfused pair once per input signature
            and grad mode and keeps the unfused pair unless another is faster
            (:meth:`execution`); ``"subpixel"`` is the phase path (one ordinary convolution
            with :func:`resize_conv_phase_weight` and a pixel shuffle); the others compute
            the transposed convolution.
        device: where to create the parameters.
        dtype: the parameters' floating-point type.

    Attributes:
        weight: the convolution's weight ``(C_out, C_in // groups, *k)``: the parameter that
            trains; the transposed kernel is derived from it in every forward.
        bias: the convolution's bias ``(C_out,)`` or None.

    Raises:
        ShapeError: a resize and convolution that do not fuse, naming the rule.
        ValueError: an unknown ``mode`` or ``method``.
"""


def _same_values(kept: Tensor, weight: Tensor) -> bool:
    """Whether ``weight`` holds exactly the values of ``kept`` (same dtype, device, shape)."""
    return (
        kept.dtype == weight.dtype
        and kept.device == weight.device
        and kept.shape == weight.shape
        and torch.equal(kept, weight)
    )


class _ResizeConvNd(torch.nn.Module):
    """Resize then convolution, computed as one transposed convolution.

    Keeps the convolution's own parameters under the convolution's names (``weight``,
    ``bias``): its state_dict is the convolution's, initialised as ``torch.nn.ConvNd`` is.
    """

    _rank: ClassVar[int]
    weight: torch.nn.Parameter
    bias: torch.nn.Parameter | None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        scale_factor: IntOrTuple = 2,
        padding: PaddingSpec = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        bias: bool = True,
        mode: str = "nearest",
        method: Method = "auto",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _methods.check(method)
        resize_conv_geometry(kernel_size, scale_factor, padding, dilation, groups, mode, self._rank)
        conv: Any = CONV[self._rank](
            in_channels,
            out_channels,
            kernel_size,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        self._set(conv, scale_factor, mode, method)

    def _set(self, conv: Any, scale_factor: IntOrTuple, mode: str, method: Method) -> None:
        self.in_channels = int(conv.in_channels)
        self.out_channels = int(conv.out_channels)
        self.kernel_size = tuple(conv.kernel_size)
        self.padding = conv.padding
        self.dilation = tuple(conv.dilation)
        self.groups = int(conv.groups)
        self.scale_factor = as_tuple(scale_factor, self._rank, "scale_factor")
        self.mode = mode
        self.method: Method = method
        self.weight = conv.weight  # the same Parameter objects: optimizers keep them
        self.bias = conv.bias

    @classmethod
    def from_conv(
        cls,
        conv: torch.nn.Module,
        scale_factor: IntOrTuple = 2,
        mode: str = "nearest",
        method: Method = "auto",
    ) -> _ResizeConvNd:
        """The fused form of ``resize(scale_factor, mode)`` then ``conv``, sharing ``conv``'s
        parameters (the same ``Parameter`` objects, so an optimizer that holds them keeps
        training them).

        Raises:
            ShapeError: a strided convolution, a padding_mode other than "zeros", another
                rank, or a resize and convolution that do not fuse.
            TypeError: ``conv`` is not an ordinary convolution.
        """
        if not is_conv(conv):
            raise TypeError(f"expected a torch.nn.Conv1d/2d/3d, got {type(conv).__name__}")
        c: Any = conv
        rank = c.weight.dim() - 2
        if rank != cls._rank:
            raise ShapeError(
                f"{type(conv).__name__} is invalid for {cls.__name__}: expected a "
                f"{cls._rank}-D convolution, got a {rank}-D one"
            )
        if any(s != 1 for s in c.stride):
            raise ShapeError(
                f"stride={tuple(c.stride)} is invalid for a resize-convolution: only a stride-1 "
                "convolution after a resize is a transposed convolution"
            )
        if c.padding_mode != "zeros":
            raise ShapeError(
                f"padding_mode={c.padding_mode!r} is invalid for a resize-convolution: only "
                "'zeros' padding is a transposed convolution"
            )
        _methods.check(method)
        resize_conv_geometry(c.kernel_size, scale_factor, c.padding, c.dilation, c.groups, mode)
        module = cls.__new__(cls)
        torch.nn.Module.__init__(module)
        module._set(c, scale_factor, mode, method)
        module.train(conv.training)
        return module

    def to_conv(self) -> torch.nn.Module:
        """The convolution alone (``torch.nn.ConvNd``, sharing this module's parameters): what
        runs after the resize in the unfused pair."""
        conv: Any = CONV[self._rank](
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=self.bias is not None,
            device="meta",
        )
        conv.weight = self.weight
        conv.bias = self.bias
        return conv.train(self.training)

    def unfused(self, input: Tensor) -> Tensor:
        """The resize then the convolution, computed as written (the reference)."""
        up = torch.nn.functional.interpolate(
            input if input.dim() == self._rank + 2 else input.unsqueeze(0),
            scale_factor=tuple(float(r) for r in self.scale_factor),
            mode=self.mode,
            **({} if self.mode.startswith("nearest") else {"align_corners": False}),
        )
        conv = _CONV_FN[self._rank]  # what the convolution module's forward calls
        y = conv(up, self.weight, self.bias, 1, self.padding, self.dilation, self.groups)
        return y if input.dim() == self._rank + 2 else y.squeeze(0)

    def _kept(self, kind: str, derive: Any) -> Any:
        """``derive(weight)``; without autograd (inference) kept while the weight holds the
        same values, compared in full with a copy kept beside it (a write through ``.data``
        moves neither the storage, the data pointer nor the version counter, so nothing short
        of the values can tell; issue 29). One read of the weight per call instead of a
        derivation, at the cost of that copy."""
        w = self.weight
        if (torch.is_grad_enabled() and w.requires_grad) or torch.compiler.is_compiling():
            return derive(w)
        kept = self.__dict__.setdefault("_tconv_kept", {})
        hit = kept.get(kind)
        with torch.no_grad():
            if hit is None or not _same_values(hit[0], w):
                hit = kept[kind] = (w.detach().clone(), derive(w))
        return hit[1]

    def transposed_weight(self) -> Tensor:
        """The transposed convolution's kernel, derived from :attr:`weight`
        (:func:`resize_conv_weight`). Without autograd (inference) it is kept while the weight
        holds the same values (compared with a kept copy), so a fused model in eval under
        ``torch.no_grad()`` derives it once and never uses a stale one."""
        return cast(
            Tensor,
            self._kept(
                "transposed",
                lambda w: resize_conv_weight(
                    w, self.scale_factor, self.dilation, self.groups, self.mode
                ),
            ),
        )

    def phase_weight(
        self,
    ) -> tuple[Tensor, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """The phase path's ``(conv_weight, conv_padding, crop)`` derived from :attr:`weight`
        (:func:`resize_conv_phase_weight`), kept in inference as :meth:`transposed_weight`."""
        return cast(
            "tuple[Tensor, tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]",
            self._kept(
                "phase",
                lambda w: resize_conv_phase_weight(
                    w, self.scale_factor, self.padding, self.dilation, self.mode
                ),
            ),
        )

    def _geometry(self) -> Geometry:
        return resize_conv_geometry(
            self.kernel_size,
            self.scale_factor,
            self.padding,
            self.dilation,
            self.groups,
            self.mode,
            self._rank,
        )

    def _compute(self, execution: str, input: Tensor, geom: Geometry) -> Tensor:
        if execution == "unfused":
            return self.unfused(input)
        if execution == "phase":
            batched = input.dim() == self._rank + 2
            cw, padding, crop = self.phase_weight()
            y = _phase_run(
                input if batched else input.unsqueeze(0),
                cw,
                padding,
                crop,
                self.bias,
                self.scale_factor,
                self.groups,
                self.mode,
            )
            return y if batched else y.squeeze(0)
        method: Method = "native" if execution == "transposed" else self.method
        return _fused(input, self.transposed_weight(), self.bias, geom, self.mode, method)

    def execution(self, input: Tensor) -> str:
        """How :meth:`forward` computes on ``input``: one of :data:`RESIZE_EXECUTIONS`, or
        ``"method"`` (the transposed convolution by :attr:`method`).

        ``method="subpixel"`` is the phase path; ``method="auto"`` times the phase path, the
        transposed convolution and the unfused pair once per input signature (shape, dtype,
        device, memory layout, grad mode, thread count) and keeps the unfused pair unless
        another is faster than :data:`RESIZE_SWITCH_BELOW` of its time in two independent
        measurements. Without measuring (autotuning off, tracing, compiling, meta tensors)
        the phase path runs, which multiplies fewer taps than the pair for every fusable
        setting (16 instead of 36 per input pixel for nearest x2 then 3x3)."""
        geom = self._geometry()
        size = tuple(input.shape[-self._rank :])
        if not self.mode.startswith("nearest"):
            size = tuple(n + 2 for n in size)  # after the edge clamping's replicate padding
        if any(o <= 0 for o in geom.cropped_size(size)):
            return "unfused"  # an empty output: the pair says what torch says
        if self.method == "subpixel":
            return "phase"
        if self.method != "auto":
            return "method"
        if not _auto.autotune_enabled() or _auto._tracing(input):
            return "phase"
        grad = torch.is_grad_enabled() and (
            input.requires_grad
            or self.weight.requires_grad
            or (self.bias is not None and self.bias.requires_grad)
        )
        key = (
            type(self).__name__,
            self.kernel_size,
            self.scale_factor,
            immutable(self.padding),
            self.dilation,
            self.groups,
            self.mode,
            self.bias is not None,
            input.shape,
            input.dtype,
            input.device,
            tuple(input.stride()),
            grad,
            torch.get_num_threads(),
        )
        hit = _RESIZE_CHOICES.get(key)
        if hit is None:
            hit = _RESIZE_CHOICES[key] = self._measure(input, geom, grad)
        return hit[0]

    def _measure(self, input: Tensor, geom: Geometry, grad: bool) -> tuple[str, dict[str, float]]:
        """Time each execution against the unfused pair (forward, and backward with ``grad``)
        on a copy of ``input``; returns the choice and each one's time over the pair's."""
        x = input.detach().clone().requires_grad_(grad and input.requires_grad)
        leaves = [t for t in (x, self.weight, self.bias) if t is not None and t.requires_grad]
        g_out: list[Tensor] = []

        def once(execution: str) -> None:
            if grad:
                with torch.enable_grad():
                    y = self._compute(execution, x, geom)
                    if not g_out:
                        g_out.append(torch.randn_like(y))
                    torch.autograd.grad(y, leaves, g_out[0])
            else:
                with torch.no_grad():
                    self._compute(execution, x, geom)

        sync = _auto._sync
        first = 0.0
        for execution in RESIZE_EXECUTIONS:
            for _ in range(2):  # warm-up: the first call of a shape sets kernels up
                sync(x.device)
                t0 = time.perf_counter()
                once(execution)
                sync(x.device)
            if execution == "unfused":
                first = time.perf_counter() - t0
        rounds = 4 if first > 0.25 else max(6, min(20, int(0.05 / max(first, 1e-6))))
        rounds += rounds % 2
        others = [e for e in RESIZE_EXECUTIONS if e != "unfused"]

        def timed(names: list[str], seed: int) -> list[float]:
            pairs = paired_timings(
                lambda: once("unfused"),
                [functools.partial(once, e) for e in names],
                rounds,
                warmup=0,
                sync=lambda: sync(x.device),
                seed=seed,
            )
            return [1 / paired_speed(p) for p in pairs]

        ratios = {"unfused": 1.0, **dict(zip(others, timed(others, 0), strict=True))}
        best = min(ratios, key=lambda e: ratios[e])
        if ratios[best] >= RESIZE_SWITCH_BELOW:
            return "unfused", ratios
        (again,) = timed([best], 1)  # one of several reads fast by chance more often
        ratios[best] = max(ratios[best], again)
        return (best if ratios[best] < RESIZE_SWITCH_BELOW else "unfused"), ratios

    def forward(self, input: Tensor) -> Tensor:
        _check_channels(input, self.weight, self.groups)
        return self._compute(self.execution(input), input, self._geometry())

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", scale_factor={self.scale_factor}"
        if self.mode != "nearest":
            s += f", mode={self.mode!r}"
        if self.padding not in (0, (0,) * self._rank, "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._rank:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.method != "auto":
            s += f", method={self.method}"
        return s


class ResizeConv1d(_ResizeConvNd):
    _rank = 1
    __doc__ = f"""Resize (nearest, or linear x2) then ``Conv1d``, computed as one transposed
    convolution; its parameters and state_dict are the ``Conv1d``'s (``weight``, ``bias``).
    {_RESIZE_ARGS}
    Shape:
        - Input: ``(N, C_in, L)`` or ``(C_in, L)``
        - Output: ``(N, C_out, L * r + pb + pe - dilation * (kernel_size - 1))``

    Example:
        >>> m = ResizeConv1d(4, 2, kernel_size=3, scale_factor=3, padding=1)
        >>> m(torch.randn(1, 4, 10)).shape
        torch.Size([1, 2, 30])
        >>> sorted(m.state_dict())
        ['bias', 'weight']
    """


class ResizeConv2d(_ResizeConvNd):
    _rank = 2
    __doc__ = f"""Resize (nearest, or bilinear x2) then ``Conv2d``, computed as one transposed
    convolution; its parameters and state_dict are the ``Conv2d``'s (``weight``, ``bias``).

    The upsampler of Stable Diffusion's VAE decoder and of many U-Nets (nearest x2 then a 3x3
    convolution with padding 1) is a stride-2, kernel-4, padding-1 transposed convolution whose
    taps per dimension are ``[w2, w1 + w2, w0 + w1, w0]``: 4/9 of the multiply-adds, and the
    4x larger resized tensor is never built.
    {_RESIZE_ARGS}
    Shape:
        - Input: ``(N, C_in, H, W)`` or ``(C_in, H, W)``
        - Output: ``(N, C_out, H_out, W_out)``, per dimension
          ``in * r + pb + pe - dilation * (kernel_size - 1)``

    Example:
        >>> up, conv = torch.nn.Upsample(scale_factor=2), torch.nn.Conv2d(8, 4, 3, padding=1)
        >>> pair = torch.nn.Sequential(up, conv)
        >>> m = ResizeConv2d.from_conv(pair[1], 2, method="native")
        >>> m
        ResizeConv2d(8, 4, kernel_size=(3, 3), scale_factor=(2, 2), padding=(1, 1), method=native)
        >>> x = torch.randn(1, 8, 16, 16)
        >>> torch.allclose(m(x), pair(x), atol=1e-5)
        True
        >>> m.weight is pair[1].weight
        True
    """


class ResizeConv3d(_ResizeConvNd):
    _rank = 3
    __doc__ = f"""Resize (nearest, or trilinear x2) then ``Conv3d``, computed as one transposed
    convolution; its parameters and state_dict are the ``Conv3d``'s (``weight``, ``bias``).
    {_RESIZE_ARGS}
    Shape:
        - Input: ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``
        - Output: ``(N, C_out, D_out, H_out, W_out)``, per dimension as in ResizeConv1d

    Example:
        >>> m = ResizeConv3d(2, 2, kernel_size=3, scale_factor=(1, 2, 2), padding=1)
        >>> m(torch.randn(1, 2, 3, 4, 5)).shape
        torch.Size([1, 2, 3, 8, 10])
    """


#: tconv's resize-convolution class per spatial rank.
RESIZE_CONV: dict[int, type[_ResizeConvNd]] = {1: ResizeConv1d, 2: ResizeConv2d, 3: ResizeConv3d}
