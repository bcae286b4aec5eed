"""Models built from SR models: the geometric self-ensemble and the two-path x4."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["SelfEnsemble", "TwoPathX4"]


def _layout(x: Tensor) -> torch.memory_format:
    """``x``'s memory format: channels-last when it is that and not also standard."""
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.contiguous_format if x.is_contiguous() else torch.channels_last
    return torch.contiguous_format


class SelfEnsemble(nn.Module):
    """The mean of a model's outputs over the 8 flips/rotations of its input (``--ensemble``).

    For each symmetry ``T`` of the square (a left-right flip or not, then 0-3 quarter turns)
    the model runs on ``T(x)`` and its output is mapped back by ``T``'s inverse; the result is
    the mean of the 8 (Lim et al. 2017, "geometric self-ensemble"). It costs 8 model runs.

    Args:
        model: a module mapping ``(N, C, h, w)`` to ``(N, C', h * s, w * s)`` for any ``h, w``.

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: the model's output shape

    Example:
        >>> import torch
        >>> double = torch.nn.Upsample(scale_factor=2)  # already symmetric: unchanged
        >>> x = torch.rand(1, 3, 5, 7)
        >>> torch.allclose(SelfEnsemble(double)(x), double(x))
        True
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        # rot90 and flip return standard-layout tensors: keep a channels-last input's layout
        # (the fast path of the CPU convolutions, see _bands) for each of the 8 runs
        layout = _layout(x)
        total: Tensor | None = None
        for t in range(8):
            y = x.flip(-1) if t & 4 else x
            y = y.rot90(t & 3, (-2, -1)).contiguous(memory_format=layout)
            z = self.model(y).rot90(-(t & 3), (-2, -1))
            z = z.flip(-1) if t & 4 else z
            total = z if total is None else total + z
        assert total is not None
        return total / 8


class TwoPathX4(nn.Module):
    """x4 as the mean of two paths: an x4 model, and an x2 model applied twice.

    The shipped ``quality="best"`` at x4 (:func:`shipped_model`). The two paths err
    differently (the x2 model is the stronger of the two shipped models, the x4 model was
    trained for this degradation), so their mean beats either alone: on the held-out photos
    +1.21 dB PSNR-Y over Pillow's bicubic against +1.10 for the x4 model, and on photos outside
    the project too (docs/results.md). Between the two x2 runs the image is clamped to
    ``[0, 1]`` and keeps a channels-last input's layout. About 3 times the time of the x4
    model alone (``benchmarks/upscale.py --best``).

    Args:
        x4: a module mapping ``(N, 3, h, w)`` to ``(N, 3, 4h, 4w)``.
        x2: a module mapping ``(N, 3, h, w)`` to ``(N, 3, 2h, 2w)``.

    Shape:
        - Input: ``(N, 3, H, W)``
        - Output: ``(N, 3, 4H, 4W)``

    Example:
        >>> import torch
        >>> up = lambda s: torch.nn.Upsample(scale_factor=s)
        >>> x = torch.rand(1, 3, 5, 7)
        >>> torch.equal(TwoPathX4(up(4), up(2))(x), up(4)(x))
        True
    """

    def __init__(self, x4: nn.Module, x2: nn.Module) -> None:
        super().__init__()
        self.x4 = x4
        self.x2 = x2

    def forward(self, x: Tensor) -> Tensor:
        layout = _layout(x)
        mid = self.x2(x).clamp(0, 1).contiguous(memory_format=layout)
        return (self.x4(x) + self.x2(mid)) / 2
