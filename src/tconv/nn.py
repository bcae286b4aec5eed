"""Modules: drop-in replacements for ``torch.nn.ConvTranspose{1,2,3}d``.

They subclass torch's classes (same constructor, parameters, state_dict keys and default
initialisation) and add what the geometry in :mod:`tconv.shapes` allows: ``"same"``,
``"valid"``, ``"same_lower"`` and asymmetric ``(begin, end)`` padding, every
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

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .functional import METHODS, conv_transpose, pixel_shuffle, pixel_unshuffle
from .shapes import Geometry, PaddingSpec, ShapeError

__all__ = [
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "PixelShuffle",
    "PixelUnshuffle",
    "Upsample",
    "from_geometry",
]


class _ConvTransposeMixin:
    """Shared behaviour; mixed in before torch's ConvTransposeNd."""

    _rank: int
    weight: Tensor
    bias: Tensor | None
    stride: tuple[int, ...]
    padding: Any
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    padding_mode: str
    kernel_size: tuple[int, ...]

    def _setup(
        self, padding: PaddingSpec, padding_mode: str, method: str, allow_crop: bool
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"method={method!r} is invalid: valid methods are {METHODS}")
        # validate everything (raises ShapeError) and keep the user's padding spelling
        Geometry.create(
            self.kernel_size,
            self.stride,
            padding,
            self.output_padding,
            self.dilation,
            self.groups,
            padding_mode,
            rank=self._rank,
        )
        self.padding = padding if isinstance(padding, str) else _torch_style(padding, self._rank)
        self.padding_mode = padding_mode
        self.method = method
        self.allow_crop = allow_crop

    @property
    def geometry(self) -> Geometry:
        """This layer's :class:`~tconv.shapes.Geometry` (crops resolved from the settings)."""
        return Geometry.create(
            self.kernel_size,
            self.stride,
            self.padding,
            self.output_padding,
            self.dilation,
            self.groups,
            self.padding_mode,
            rank=self._rank,
        )

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return conv_transpose(
            input,
            self.weight,
            self.bias,
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
    """ints as a tuple (torch style); pairs as a tuple of pairs."""
    if isinstance(padding, int):
        return (padding,) * rank
    items = tuple(padding)
    if all(isinstance(v, int) for v in items):
        return items * rank if len(items) == 1 else items
    return tuple(tuple(int(x) for x in v) for v in items)


def _make(rank: int, base: type[torch.nn.Module]) -> type:
    class ConvTranspose(_ConvTransposeMixin, base):  # type: ignore[valid-type,misc]
        _rank = rank

        def __init__(
            self,
            in_channels: int,
            out_channels: int,
            kernel_size: int | tuple[int, ...],
            stride: int | tuple[int, ...] = 1,
            padding: PaddingSpec = 0,
            output_padding: int | tuple[int, ...] = 0,
            groups: int = 1,
            bias: bool = True,
            dilation: int | tuple[int, ...] = 1,
            padding_mode: str = "zeros",
            device: Any = None,
            dtype: Any = None,
            *,
            method: str = "native",
            allow_crop: bool = False,
        ) -> None:
            if groups < 1 or in_channels % groups or out_channels % groups:
                raise ShapeError(
                    f"in_channels={in_channels} and out_channels={out_channels} must both be "
                    f"divisible by groups={groups} (groups >= 1)"
                )
            # torch's constructor refuses non-zeros modes and string padding: give it zeros,
            # then store the real settings (same parameters, same init).
            base.__init__(
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
            self._setup(padding, padding_mode, method, allow_crop)

    return ConvTranspose


ConvTranspose1d = _make(1, torch.nn.ConvTranspose1d)
ConvTranspose1d.__name__ = ConvTranspose1d.__qualname__ = "ConvTranspose1d"
ConvTranspose1d.__doc__ = """Drop-in ``torch.nn.ConvTranspose1d`` with tconv's padding and methods.

    Shape:
        - Input: ``(N, C_in, L_in)`` or ``(C_in, L_in)``
        - Output: ``(N, C_out, L_out)``, ``L_out = (L_in - 1) * stride - lo - hi
          + dilation * (kernel_size - 1) + 1`` (see :mod:`tconv.shapes`)

    Example:
        >>> m = ConvTranspose1d(2, 4, kernel_size=4, stride=2, padding=1)
        >>> m(torch.randn(8, 2, 100)).shape
        torch.Size([8, 4, 200])
    """
ConvTranspose2d = _make(2, torch.nn.ConvTranspose2d)
ConvTranspose2d.__name__ = ConvTranspose2d.__qualname__ = "ConvTranspose2d"
ConvTranspose2d.__doc__ = """Drop-in ``torch.nn.ConvTranspose2d`` with tconv's padding and methods.

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
ConvTranspose3d = _make(3, torch.nn.ConvTranspose3d)
ConvTranspose3d.__name__ = ConvTranspose3d.__qualname__ = "ConvTranspose3d"
ConvTranspose3d.__doc__ = """Drop-in ``torch.nn.ConvTranspose3d`` with tconv's padding and methods.

    Shape:
        - Input: ``(N, C_in, D_in, H_in, W_in)`` or ``(C_in, D_in, H_in, W_in)``
        - Output: ``(N, C_out, D_out, H_out, W_out)``, per dimension as in ConvTranspose1d

    Example:
        >>> m = ConvTranspose3d(4, 2, kernel_size=3, stride=2, padding=1, output_padding=1)
        >>> m(torch.randn(1, 4, 4, 5, 6)).shape
        torch.Size([1, 2, 8, 10, 12])
    """


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
    choose another spelling of the same crops (checked). ``cls`` picks a subclass; other
    keyword arguments (``method=``, ``allow_crop=``...) go to the constructor.

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
    cls = cls or {1: ConvTranspose1d, 2: ConvTranspose2d, 3: ConvTranspose3d}[geom.rank]
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

    The module form of :func:`tconv.functional.pixel_shuffle`; in 2-D it equals
    ``torch.nn.PixelShuffle`` (same channel order: channel ``c * prod(r) + p``, ``p`` the
    row-major phase index). ``upscale_factor`` is an int (any rank, taken from the input) or
    one int per spatial dimension.

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

    The module form of :func:`tconv.functional.pixel_unshuffle`; in 2-D it equals
    ``torch.nn.PixelUnshuffle``.

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


from .blocks import Upsample  # noqa: E402  (blocks builds on the modules above)
