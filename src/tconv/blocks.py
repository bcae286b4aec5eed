"""``Upsample``: one upsampling block, four interchangeable ways, none with a checkerboard at init.

Exposed as :class:`tconv.nn.Upsample`. Modes (:data:`UPSAMPLE_MODES`):

- ``"transposed"`` -- a transposed convolution with even overlap (kernel ``2 * scale``, stride
  ``scale``, ``padding="same"``), ICNR-initialised (:func:`tconv.init.icnr_` with
  ``transposed=True``) by default.
- ``"subpixel"`` -- an ordinary convolution to ``out_channels * prod(scale)`` channels, then a
  pixel shuffle (Shi et al. 2016); ICNR-initialised, with one bias per output channel (tied
  across the sub-pixel phases, added after the shuffle).
- ``"resize_conv"`` -- nearest or (bi/tri)linear resize by ``scale``, then a convolution
  (Odena, Dumoulin, Olah 2016, "Deconvolution and Checkerboard Artifacts").
- ``"interpolate"`` -- resize only, no parameters; a 1x1 convolution (at the input
  resolution) when the channel count changes.

Every mode maps ``(N, C_in, *S)`` to ``(N, C_out, *(S * scale))``, and ``forward(x,
output_size=...)`` reaches any size ``T`` with ``(S - 1) * scale < T <= S * scale`` per
dimension by keeping the first ``T`` samples (the sizes whose ``ceil(T / scale) = S``, as a
U-Net needs after an odd-sized downsampling); the range comes from :mod:`tconv.shapes`.

Example:
    >>> import torch
    >>> from tconv.nn import Upsample
    >>> x = torch.randn(1, 8, 17, 17)
    >>> [Upsample(8, 4, 2, mode)(x).shape[-1] for mode in UPSAMPLE_MODES]
    [34, 34, 34, 34]
    >>> Upsample(8, 4, 2, "subpixel")(x, output_size=(33, 34)).shape
    torch.Size([1, 4, 33, 34])
"""

from __future__ import annotations

import math
from typing import Any, Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

from . import init as _init
from .modules import CONV, CONV_TRANSPOSE, PixelShuffle
from .shapes import Geometry, IntOrTuple, ShapeError, as_tuple, spatial_index, spatial_size

__all__ = [
    "INTERPOLATIONS",
    "UPSAMPLE_INITS",
    "UPSAMPLE_MODES",
    "Interpolation",
    "Upsample",
    "UpsampleInit",
    "UpsampleMode",
]


#: How :class:`Upsample` upsamples.
UpsampleMode = Literal["transposed", "subpixel", "resize_conv", "interpolate"]
UPSAMPLE_MODES: tuple[str, ...] = get_args(UpsampleMode)
#: The resize of the "resize_conv" and "interpolate" modes ("linear" is bi/trilinear in 2/3-D).
Interpolation = Literal["nearest", "linear"]
INTERPOLATIONS: tuple[str, ...] = get_args(Interpolation)
#: Initialisation: ICNR, exact bilinear (transposed mode, in == out), or torch's default.
UpsampleInit = Literal["icnr", "bilinear", "default"]
UPSAMPLE_INITS: tuple[str, ...] = get_args(UpsampleInit)

_DEFAULT_INIT = {"transposed": "icnr", "subpixel": "icnr", "resize_conv": "default"}
_DEFAULT_KERNEL = {"subpixel": 3, "resize_conv": 3}
_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


class Upsample(torch.nn.Module):
    """Upsample ``(N, C_in, *S)`` to ``(N, C_out, *(S * scale))`` by one of four modes.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        scale: the integer factor, an int or one per spatial dimension.
        mode: one of :data:`UPSAMPLE_MODES` (see the module docstring).
        dims: number of spatial dimensions, 1, 2 or 3.
        kernel_size: the convolution's kernel; default ``2 * scale`` ("transposed", or
            :func:`tconv.init.bilinear_kernel_size` with ``init="bilinear"``), 3 ("subpixel",
            "resize_conv"); not used by "interpolate" (its optional convolution is 1x1).
        interpolation: ``"nearest"`` or ``"linear"`` for "resize_conv" and "interpolate".
        bias: whether the convolution has a bias.
        init: ``"icnr"`` (default for "transposed" and "subpixel"), ``"bilinear"``
            ("transposed" with ``in_channels == out_channels`` only) or ``"default"`` (torch's
            initialisation; the default for "resize_conv").
        device: where to create the parameters.
        dtype: the parameters' floating-point type.

    Raises:
        ValueError: for an unknown ``mode``, ``interpolation`` or ``init``, or one that does
            not fit the mode (``init``/``kernel_size`` with "interpolate", ``"bilinear"`` with
            another mode than "transposed").
        ShapeError: for ``dims`` outside 1..3, channels or a scale below 1, or a kernel that
            does not fit the scale.
        TypeError: for channels that are not ints.

    Shape:
        - Input: ``(N, C_in, *S)``
        - Output: ``(N, C_out, *(S * scale))``, or ``output_size`` with
          ``(S - 1) * scale < output_size <= S * scale`` per dimension

    Example:
        >>> m = Upsample(16, 8, scale=2, mode="resize_conv", interpolation="linear")
        >>> m(torch.randn(2, 16, 10, 12)).shape
        torch.Size([2, 8, 20, 24])
        >>> Upsample(4, 4, (1, 2, 2), mode="interpolate", dims=3)
        Upsample(4, 4, scale=(1, 2, 2), mode=interpolate, dims=3)
        >>> sum(p.numel() for p in Upsample(4, 4, 2, "interpolate").parameters())
        0
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        scale: IntOrTuple,
        mode: str = "transposed",
        dims: int = 2,
        *,
        kernel_size: IntOrTuple | None = None,
        interpolation: str = "nearest",
        bias: bool = True,
        init: str | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        s, chosen = _checked(
            in_channels, out_channels, scale, mode, dims, kernel_size, interpolation, init
        )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.scale, self.mode, self.dims = s, mode, dims
        self.interpolation, self.init = interpolation, chosen
        self._given_kernel = kernel_size is not None
        factory = {"device": device, "dtype": dtype}
        self.conv: torch.nn.Module | None = None
        self.shuffle: torch.nn.Module | None = None
        self.bias: torch.nn.Parameter | None = None
        if mode == "transposed":
            self.conv = _transposed(
                in_channels, out_channels, s, kernel_size, chosen, bias, factory
            )
        elif mode in ("subpixel", "resize_conv"):
            self._build_conv(kernel_size, bias, factory)
        elif in_channels != out_channels:  # interpolate
            self.conv = CONV[dims](in_channels, out_channels, 1, bias=bias, **factory)

    def _build_conv(
        self, kernel_size: IntOrTuple | None, bias: bool, factory: dict[str, Any]
    ) -> None:
        """The ordinary convolution of "subpixel" (with its shuffle and tied bias) and
        "resize_conv"."""
        mode, s, dims = self.mode, self.scale, self.dims
        k = as_tuple(kernel_size or _DEFAULT_KERNEL[mode], dims, "kernel_size")
        phases = math.prod(s) if mode == "subpixel" else 1
        self.conv = CONV[dims](
            self.in_channels,
            self.out_channels * phases,
            k,
            padding="same",
            bias=bias and mode == "resize_conv",
            **factory,
        )
        if mode != "subpixel":
            return
        self.shuffle = PixelShuffle(s)
        if self.init == "icnr":
            _init.icnr_(self.conv.weight, s)  # type: ignore[arg-type]
        if bias:
            # one bias per output channel, torch's conv bound 1 / sqrt(fan_in)
            bound = 1 / math.sqrt(self.in_channels * math.prod(k))
            self.bias = torch.nn.Parameter(torch.empty(self.out_channels, **factory))
            torch.nn.init.uniform_(self.bias, -bound, bound)

    # -- sizes --------------------------------------------------------------------------------

    def output_size_range(self, input_size: IntOrTuple) -> tuple[tuple[int, int], ...]:
        """``(min, max)`` output length per dimension: ``((S - 1) * scale + 1, S * scale)``.

        The sizes whose ``ceil(T / scale) = S``: the output_padding range of the geometry
        (kernel ``scale``, stride ``scale``, end crop ``scale - 1``) of nearest upsampling.

        >>> Upsample(2, 2, 2, dims=1).output_size_range(17)
        ((33, 34),)
        """
        return self._nearest().output_size_range(input_size)

    def _nearest(self) -> Geometry:
        s = self.scale
        return Geometry.create(s, s, tuple((0, v - 1) for v in s), rank=self.dims)

    def _target(self, x: Tensor, output_size: IntOrTuple | None) -> tuple[int, ...] | None:
        if x.dim() != self.dims + 2:
            raise ShapeError(
                f"input of shape {tuple(x.shape)} is invalid: Upsample(dims={self.dims}) expects "
                f"batched (N, C, *spatial) input with {self.dims} spatial dimensions"
            )
        if output_size is None:
            return None
        target = spatial_size(output_size, self.dims)
        spatial = tuple(x.shape[2:])
        ranges = self.output_size_range(spatial)
        if any(not lo <= t <= hi for t, (lo, hi) in zip(target, ranges, strict=True)):
            raise ShapeError(
                f"requested an output size of {target}, but Upsample(scale={self.scale}) reaches "
                f"sizes from {tuple(r[0] for r in ranges)} to {tuple(r[1] for r in ranges)} for "
                f"an input of {spatial} (the sizes T with ceil(T / scale) = input size); resize "
                "the input or pick another scale"
            )
        return target

    # -- forward ------------------------------------------------------------------------------

    def _resize(self, x: Tensor) -> Tensor:
        mode = "nearest" if self.interpolation == "nearest" else _LINEAR[self.dims]
        kwargs: dict[str, Any] = {} if mode == "nearest" else {"align_corners": False}
        return F.interpolate(
            x, scale_factor=tuple(float(v) for v in self.scale), mode=mode, **kwargs
        )

    def forward(self, x: Tensor, output_size: IntOrTuple | None = None) -> Tensor:
        target = self._target(x, output_size)
        if self.mode == "transposed":
            assert self.conv is not None
            return self.conv(x, output_size=target)
        if self.mode == "subpixel":
            assert self.conv is not None and self.shuffle is not None
            y = self.shuffle(self.conv(x))
            if self.bias is not None:
                y = y + self.bias.reshape((-1,) + (1,) * self.dims)
        elif self.mode == "resize_conv":
            assert self.conv is not None
            y = self.conv(self._resize(x))
        else:
            y = self._resize(x if self.conv is None else self.conv(x))
        if target is not None and target != tuple(y.shape[2:]):
            y = y[spatial_index(slice(0, t) for t in target)]
        return y

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, scale={_compact(self.scale)}"
        if self.mode != "transposed":
            s += f", mode={self.mode}"
        if self.dims != 2:
            s += f", dims={self.dims}"
        if self._given_kernel and self.conv is not None:
            s += f", kernel_size={_compact(tuple(self.conv.kernel_size))}"  # type: ignore[arg-type]
        if self.interpolation != "nearest" and self.mode in ("resize_conv", "interpolate"):
            s += f", interpolation={self.interpolation}"
        has_bias = self.bias is not None or getattr(self.conv, "bias", None) is not None
        if not has_bias and not (self.mode == "interpolate" and self.conv is None):
            s += ", bias=False"
        if self.init is not None and self.init != _DEFAULT_INIT.get(self.mode):
            s += f", init={self.init}"
        return s


def _checked(
    in_channels: int,
    out_channels: int,
    scale: IntOrTuple,
    mode: str,
    dims: int,
    kernel_size: IntOrTuple | None,
    interpolation: str,
    init: str | None,
) -> tuple[tuple[int, ...], str | None]:
    """Upsample's arguments checked: the scale per dimension and the initialisation chosen."""
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f"mode={mode!r} is invalid: valid modes are {UPSAMPLE_MODES}")
    if dims not in (1, 2, 3):
        raise ShapeError(f"dims={dims!r} is invalid: Upsample supports 1, 2 or 3 dimensions")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"interpolation={interpolation!r} is invalid: valid values are {INTERPOLATIONS}"
        )
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(
                f"{name}={value!r} is invalid: expected an int, got {type(value).__name__}"
            )
        if value < 1:
            raise ShapeError(f"{name}={value!r} is invalid: it must be an int >= 1")
    s = as_tuple(scale, dims, "scale")
    if any(v < 1 for v in s):
        raise ShapeError(f"scale={s} is invalid: each scale must be an int >= 1")
    chosen = _DEFAULT_INIT.get(mode) if init is None else init
    if mode == "interpolate":
        if init is not None:
            raise ValueError("init is not used by mode='interpolate' (it has no kernel to fill)")
        if kernel_size is not None:
            raise ValueError("kernel_size is not used by mode='interpolate' (its conv is 1x1)")
    elif chosen not in UPSAMPLE_INITS:
        raise ValueError(f"init={init!r} is invalid: valid values are {UPSAMPLE_INITS}")
    elif chosen == "bilinear" and mode != "transposed":
        raise ValueError(f"init='bilinear' is for mode='transposed', not mode={mode!r}")
    elif chosen == "icnr" and mode == "resize_conv":
        raise ValueError("init='icnr' is for 'transposed' and 'subpixel', not 'resize_conv'")
    return s, chosen


def _transposed(
    in_channels: int,
    out_channels: int,
    s: tuple[int, ...],
    kernel_size: IntOrTuple | None,
    init: str | None,
    bias: bool,
    factory: dict[str, Any],
) -> torch.nn.Module:
    """The "transposed" mode's layer: kernel ``2 * scale`` (or the bilinear kernel's size),
    stride ``scale``, ``padding="same"``, ICNR or exact bilinear at init."""
    dims = len(s)
    if kernel_size is None:
        kernel_size = (
            _init.bilinear_kernel_size(s) if init == "bilinear" else tuple(2 * v for v in s)
        )
    k = as_tuple(kernel_size, dims, "kernel_size")
    conv: Any = CONV_TRANSPOSE[dims](
        in_channels,
        out_channels,
        k,
        stride=s,
        padding="same",
        bias=bias,
        allow_crop=True,
        **factory,
    )
    if init == "icnr":
        _init.icnr_(conv.weight, s, transposed=True)
    elif init == "bilinear":
        _init.bilinear_(conv.weight, s)
        if conv.bias is not None:
            torch.nn.init.zeros_(conv.bias)
    return conv


def _compact(value: tuple[int, ...]) -> int | tuple[int, ...]:
    return value[0] if len(set(value)) == 1 else value
