"""N-d pixel_shuffle / pixel_unshuffle: torch's 2-D functions exactly, a loop-written
definition in 1-3-D, inverse of each other, and errors that name the bad value."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tconv import ShapeError
from tconv.functional import pixel_shuffle, pixel_unshuffle


def shuffle_by_definition(x: np.ndarray, scale: tuple[int, ...]) -> np.ndarray:
    """input[n, c * P + p, *s] -> output[n, c, *(s * r + i)], p = row-major index of i."""
    n, cp, *size = x.shape
    p_total = int(np.prod(scale))
    out = np.zeros(
        (n, cp // p_total, *(s * r for s, r in zip(size, scale, strict=True))), dtype=x.dtype
    )
    phases = list(itertools.product(*(range(r) for r in scale)))  # row-major order
    for c in range(cp // p_total):
        for p, phase in enumerate(phases):
            for pos in itertools.product(*(range(s) for s in size)):
                dst = tuple(s * r + i for s, r, i in zip(pos, scale, phase, strict=True))
                out[(slice(None), c, *dst)] = x[(slice(None), c * p_total + p, *pos)]
    return out


@st.composite
def shuffle_cases(draw, ranks=(1, 2, 3)):
    rank = draw(st.sampled_from(ranks))
    scale = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    size = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    channels = draw(st.integers(1, 3))
    batch = draw(st.integers(0, 2))
    as_int = rank > 1 and len(set(scale)) == 1 and draw(st.booleans())
    return rank, (scale[0] if as_int else scale), scale, size, channels, batch


@given(shuffle_cases())
def test_shuffle_follows_the_definition(case):
    _, scale_arg, scale, size, channels, batch = case
    x = torch.randn(batch, channels * int(np.prod(scale)), *size, dtype=torch.float64)
    y = pixel_shuffle(x, scale_arg)
    expected = shuffle_by_definition(x.numpy(), scale)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.numpy(), expected)


@given(shuffle_cases())
def test_unshuffle_inverts_shuffle_and_back(case):
    _, scale_arg, scale, size, channels, batch = case
    x = torch.randn(batch, channels * int(np.prod(scale)), *size)
    y = pixel_shuffle(x, scale_arg)
    assert torch.equal(pixel_unshuffle(y, scale_arg), x)
    z = torch.randn(batch, channels, *(s * r for s, r in zip(size, scale, strict=True)))
    assert torch.equal(pixel_shuffle(pixel_unshuffle(z, scale), scale), z)


@given(
    r=st.integers(1, 4),
    c=st.integers(1, 3),
    h=st.integers(1, 5),
    w=st.integers(1, 5),
    n=st.integers(0, 2),
)
def test_2d_equals_torch_exactly(r, c, h, w, n):
    x = torch.randn(n, c * r * r, h, w)
    assert torch.equal(pixel_shuffle(x, r), F.pixel_shuffle(x, r))
    assert torch.equal(pixel_shuffle(x, (r, r)), F.pixel_shuffle(x, r))
    z = torch.randn(n, c, h * r, w * r)
    if n == 0:  # torch 2.13 returns an empty batch unchanged from pixel_unshuffle
        assert pixel_unshuffle(z, r).shape == (0, c * r * r, h, w)
    else:
        assert torch.equal(pixel_unshuffle(z, r), F.pixel_unshuffle(z, r))


def test_hand_worked_1d_and_2d():
    x = torch.tensor([[[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]]])  # 3 = 1 channel * scale 3
    assert pixel_shuffle(x, 3).tolist() == [[[1.0, 10.0, 100.0, 2.0, 20.0, 200.0]]]
    # 2-D, scale (1, 2): channel 2c + i goes to column 2 * w + i
    x = torch.arange(8.0).reshape(1, 2, 2, 2)  # channel 0: [[0,1],[2,3]], 1: [[4,5],[6,7]]
    assert pixel_shuffle(x, (1, 2)).tolist() == [[[[0.0, 4.0, 1.0, 5.0], [2.0, 6.0, 3.0, 7.0]]]]


def test_non_contiguous_and_channels_last_input():
    base = torch.randn(2, 8, 3, 10)
    x = base[..., ::2]  # (2, 8, 3, 5), not contiguous
    assert not x.is_contiguous()
    assert torch.equal(pixel_shuffle(x, 2), F.pixel_shuffle(x.contiguous(), 2))
    cl = torch.randn(1, 12, 4, 5).to(memory_format=torch.channels_last)
    assert torch.equal(pixel_shuffle(cl, (3, 2)), pixel_shuffle(cl.contiguous(), (3, 2)))
    v = torch.randn(1, 2, 6, 4, 4).to(memory_format=torch.channels_last_3d)
    assert torch.equal(pixel_unshuffle(v, 2), pixel_unshuffle(v.contiguous(), 2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64])
def test_dtype_is_kept(dtype):
    x = torch.arange(2 * 8 * 3).reshape(2, 8, 3).to(dtype)
    assert pixel_shuffle(x, 2).dtype == dtype
    assert torch.equal(pixel_unshuffle(pixel_shuffle(x, 2), 2), x)


def test_gradients_flow():
    x = torch.randn(1, 8, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: pixel_shuffle(t, (2, 4)), (x,))
    z = torch.randn(1, 1, 4, 6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: pixel_unshuffle(t, (2, 3, 1)), (z,))


def test_shuffle_error_names_channels_and_valid_counts():
    with pytest.raises(
        ShapeError,
        match=r"input has 10 channels.*multiple of prod\(scale\)=4 "
        r"\(e\.g\. 8 or 12\)",
    ):
        pixel_shuffle(torch.zeros(1, 10, 3, 3), 2)
    with pytest.raises(ShapeError, match=r"multiple of prod\(scale\)=6"):
        pixel_shuffle(torch.zeros(1, 4, 3), 6)


def test_unshuffle_error_names_the_dimension_and_nearest_sizes():
    with pytest.raises(
        ShapeError,
        match=r"\(4, 5\).*dimension 1 has length 5 \(nearest valid: "
        r"4 or 6\)",
    ):
        pixel_unshuffle(torch.zeros(1, 1, 4, 5), 2)


@pytest.mark.parametrize("fn", [pixel_shuffle, pixel_unshuffle])
def test_rank_and_scale_errors(fn):
    with pytest.raises(ShapeError, match=r"shape \(4, 4\).*batched \(N, C, \*spatial\)"):
        fn(torch.zeros(4, 4), 2)
    with pytest.raises(ShapeError, match=r"1, 2 or 3 spatial dimensions"):
        fn(torch.zeros(1, 1, 2, 2, 2, 2), 1)
    with pytest.raises(ShapeError, match=r"scale=\(0, 0\).*>= 1"):
        fn(torch.zeros(1, 4, 2, 2), 0)
    with pytest.raises(ShapeError, match=r"scale=\(2, 2, 2\) is invalid.*2 ints"):
        fn(torch.zeros(1, 4, 2, 2), (2, 2, 2))
    with pytest.raises(ShapeError):  # ShapeError is a ValueError
        fn(torch.zeros(1, 4, 2, 2), (2, -1))
    assert issubclass(ShapeError, ValueError)
