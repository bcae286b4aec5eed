"""Hypothesis strategies over the whole space of valid transposed-convolution settings."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume
from hypothesis import strategies as st


@dataclass
class Case:
    rank: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: object  # as passed to tconv (int tuple, pairs or a name)
    output_padding: tuple[int, ...]
    groups: int
    cin: int
    cout: int
    size: tuple[int, ...]
    batch: int | None  # None = unbatched
    bias: bool
    torch_style: bool  # padding/output_padding expressible by torch's own arguments

    @property
    def kwargs(self):
        return dict(
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            groups=self.groups,
            dilation=self.dilation,
        )


def _per_dim(draw, rank, strategy):
    return tuple(draw(strategy) for _ in range(rank))


@st.composite
def cases(
    draw,
    ranks=(1, 2, 3),
    paddings=("torch",),
    max_kernel=5,
    max_stride=4,
    max_dilation=3,
    max_size=None,
):
    """Valid settings. ``paddings`` picks the padding forms drawn: "torch" (int per dim with
    output_padding), "pairs" (explicit (begin, end), negative allowed), "named"."""
    rank = draw(st.sampled_from(ranks))
    max_size = max_size or {1: 9, 2: 6, 3: 4}[rank]
    kernel = _per_dim(draw, rank, st.integers(1, max_kernel))
    stride = _per_dim(draw, rank, st.integers(1, max_stride))
    dilation = _per_dim(draw, rank, st.integers(1, max_dilation))
    size = _per_dim(draw, rank, st.integers(1, max_size))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    form = draw(st.sampled_from(paddings))
    output_padding = (0,) * rank
    if form == "torch":
        padding = _per_dim(draw, rank, st.integers(0, 4))
        output_padding = tuple(
            draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)
        )
        crop = [(p, p - op) for p, op in zip(padding, output_padding)]
    elif form == "pairs":
        padding = tuple((draw(st.integers(-3, 5)), draw(st.integers(-3, 5))) for _ in range(rank))
        crop = list(padding)
    else:
        padding = draw(st.sampled_from(["same", "valid", "same_lower"]))
        crop = None
    if crop is not None:
        for i, k, s, d, (lo, hi) in zip(size, kernel, stride, dilation, crop):
            assume((i - 1) * s + d * (k - 1) + 1 - lo - hi >= 1)
    batch = draw(st.sampled_from([None, 1, 2]))
    bias = draw(st.booleans())
    return Case(
        rank,
        kernel,
        stride,
        dilation,
        padding,
        output_padding,
        groups,
        cin,
        cout,
        size,
        batch,
        bias,
        form == "torch",
    )
