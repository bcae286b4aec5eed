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

from typing import Any, ClassVar

import torch
from torch import Tensor

from . import methods as _methods
from .functional import _recording, conv_transpose, prepare, run, shapes_of
from .methods import Method
from .shapes import Geometry, IntOrTuple, PaddingMode, PaddingSpec, ShapeError
from .shuffle import pixel_shuffle, pixel_unshuffle

__all__ = [
    "CONV",
    "CONV_TRANSPOSE",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "PixelShuffle",
    "PixelUnshuffle",
    "from_geometry",
    "geometry_of",
    "is_conv",
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
        self.__dict__["_tconv_geometry"] = (settings, geom)
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
                if not _recording():
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
