"""tconv.nn.PixelShuffle / PixelUnshuffle: thin 1-3-D modules; 2-D equals torch's."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

import tconv
from tconv.functional import pixel_shuffle, pixel_unshuffle
from tconv.nn import PixelShuffle, PixelUnshuffle


@pytest.mark.parametrize("r", [1, 2, 3])
def test_2d_equals_torch_modules(r):
    x = torch.randn(2, 3 * r * r, 4, 5)
    torch.testing.assert_close(PixelShuffle(r)(x), torch.nn.PixelShuffle(r)(x), atol=0, rtol=0)
    y = torch.randn(2, 3, 4 * r, 5 * r)
    torch.testing.assert_close(PixelUnshuffle(r)(y), torch.nn.PixelUnshuffle(r)(y), atol=0, rtol=0)


def test_1d_channel_order_by_hand():
    # channel c * r + i goes to position s * r + i of channel c
    x = torch.tensor([[[0.0, 1.0], [10.0, 11.0], [20.0, 21.0]]])  # (1, 3, 2), r = 3
    assert PixelShuffle(3)(x).tolist() == [[[0.0, 10.0, 20.0, 1.0, 11.0, 21.0]]]


@pytest.mark.parametrize(
    ("shape", "r"),
    [
        ((2, 4, 6), 2),
        ((1, 3, 6, 9, 3), 3),
        ((2, 2, 4, 6, 8), (1, 2, 4)),
        ((1, 1, 6, 4), (3, 2)),
    ],
)
def test_unshuffle_then_shuffle_is_the_identity(shape, r):
    x = torch.randn(shape)
    y = PixelUnshuffle(r)(x)
    assert torch.equal(PixelShuffle(r)(y), x)
    assert torch.equal(PixelUnshuffle(r)(PixelShuffle(r)(y)), y)


def test_modules_equal_the_functions():
    x = torch.randn(2, 16, 3, 4, 5)
    assert torch.equal(PixelShuffle((2, 2, 4))(x), pixel_shuffle(x, (2, 2, 4)))
    y = torch.randn(2, 1, 6, 6, 6)
    assert torch.equal(PixelUnshuffle(3)(y), pixel_unshuffle(y, 3))


def test_3d_shapes():
    assert PixelShuffle(2)(torch.randn(1, 16, 3, 4, 5)).shape == (1, 2, 6, 8, 10)
    assert PixelUnshuffle((1, 2, 3))(torch.randn(1, 2, 3, 4, 6)).shape == (1, 12, 3, 2, 2)


def test_extra_repr_and_pickle():
    assert repr(PixelShuffle(2)) == "PixelShuffle(upscale_factor=2)"
    assert repr(PixelUnshuffle((1, 2))) == "PixelUnshuffle(downscale_factor=(1, 2))"
    m = pickle.loads(pickle.dumps(PixelShuffle((2, 3))))
    x = torch.randn(1, 12, 2, 2)
    assert torch.equal(m(x), copy.deepcopy(PixelShuffle((2, 3)))(x))
    assert list(PixelShuffle(2).parameters()) == []


def test_errors_come_from_the_functions():
    with pytest.raises(tconv.ShapeError, match="multiple of prod\\(scale\\)=4"):
        PixelShuffle(2)(torch.randn(1, 6, 3, 3))
    with pytest.raises(tconv.ShapeError, match="must be a multiple of its scale factor"):
        PixelUnshuffle(2)(torch.randn(1, 1, 5))
