"""tconv.nn.Upsample: four modes, 1-3-D, exact output sizes, no checkerboard at init."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
import torch.nn.functional as F

import tconv
from tconv.artifacts import checkerboard_score
from tconv.blocks import UPSAMPLE_MODES
from tconv.nn import Upsample

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}
SIZES = {1: (9,), 2: (5, 6), 3: (3, 4, 5)}


def x_for(dims, channels=3, dtype=torch.float64):
    return torch.randn(2, channels, *SIZES[dims], dtype=dtype)


@pytest.mark.parametrize("mode", UPSAMPLE_MODES)
@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("scale", [2, 3, "per-dim"])
def test_every_mode_upsamples_by_scale(mode, dims, scale):
    s = (1, 2, 3)[:dims] if scale == "per-dim" else (scale,) * dims
    block = Upsample(3, 4, s if scale == "per-dim" else scale, mode, dims, dtype=torch.float64)
    y = block(x_for(dims))
    assert y.shape == (2, 4, *(n * f for n, f in zip(SIZES[dims], s, strict=True)))


@pytest.mark.parametrize("mode", UPSAMPLE_MODES)
@pytest.mark.parametrize("dims", [1, 2])
def test_output_size_keeps_the_first_samples_of_the_full_output(mode, dims):
    block = Upsample(3, 2, 3, mode, dims, dtype=torch.float64)
    x = x_for(dims)
    full = block(x)
    for drop in range(3):  # any size in ((S - 1) * 3, S * 3]
        target = tuple(n * 3 - drop for n in SIZES[dims])
        y = block(x, output_size=target)
        assert tuple(y.shape[2:]) == target
        expected = full[(slice(None), slice(None), *(slice(0, t) for t in target))]
        torch.testing.assert_close(y, expected, atol=1e-12, rtol=0)
    # torch-style output_size with batch and channel entries
    assert block(x, output_size=(2, 2, *(n * 3 - 1 for n in SIZES[dims]))).shape[2:] == tuple(
        n * 3 - 1 for n in SIZES[dims]
    )


@pytest.mark.parametrize("mode", UPSAMPLE_MODES)
def test_unreachable_output_size_is_a_shape_error(mode):
    block = Upsample(2, 2, 2, mode, dims=2)
    x = torch.randn(1, 2, 17, 17)
    assert block.output_size_range((17, 17)) == ((33, 34), (33, 34))
    msg = r"output size of \(35, 34\), but .* reaches sizes from \(33, 33\) to \(34, 34\)"
    with pytest.raises(tconv.ShapeError, match=msg):
        block(x, output_size=(35, 34))
    with pytest.raises(tconv.ShapeError, match=r"\(32, 34\)"):
        block(x, output_size=(32, 34))
    with pytest.raises(tconv.ShapeError, match=r"expected 2 entries .* or 4 \(N, C, \*spatial\)"):
        block(x, output_size=(33,))


def test_unet_skip_sizes():
    # 33 -> 17 by a stride-2 conv; back to 33 with output_size
    skip = torch.randn(1, 4, 33, 33)
    low = torch.nn.Conv2d(4, 8, 3, stride=2, padding=1)(skip)
    assert low.shape[-1] == 17
    for mode in UPSAMPLE_MODES:
        assert Upsample(8, 4, 2, mode)(low, output_size=skip.shape).shape == skip.shape


@pytest.mark.parametrize("mode", UPSAMPLE_MODES)
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_no_checkerboard_at_initialisation(mode, dims):
    block = Upsample(3, 2, 2, mode, dims, interpolation="nearest", dtype=torch.float64)
    n = {1: 32, 2: 12, 3: 6}[dims]
    assert checkerboard_score(block, (1, 3, *(n,) * dims)) == pytest.approx(0.0, abs=1e-12)


def test_torch_init_of_the_transposed_mode_has_a_checkerboard():
    block = Upsample(3, 2, 2, "transposed", init="default", dtype=torch.float64)
    assert checkerboard_score(block, (1, 3, 12, 12)) > 0.01


def test_transposed_mode_default_is_kernel_2s_same_padding():
    block = Upsample(3, 2, (2, 3), dtype=torch.float64)
    conv = block.conv
    assert isinstance(conv, tconv.nn.ConvTranspose2d)
    assert conv.kernel_size == (4, 6) and conv.stride == (2, 3) and conv.padding == "same"
    x = x_for(2)
    ref = F.conv_transpose2d(x, conv.weight, conv.bias, (2, 3))  # full output, then "same"
    crop = tconv.Geometry.create((4, 6), (2, 3), "same").crop
    ref = ref[..., crop[0][0] : ref.shape[2] - crop[0][1], crop[1][0] : ref.shape[3] - crop[1][1]]
    torch.testing.assert_close(block(x), ref, atol=1e-12, rtol=0)


def test_transposed_bilinear_init_equals_interpolate_away_from_the_border():
    for scale in (2, 3):
        block = Upsample(3, 3, scale, init="bilinear", dtype=torch.float64)
        x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
        ref = F.interpolate(x, scale_factor=float(scale), mode="bilinear", align_corners=False)
        inner = (..., slice(scale, -scale), slice(scale, -scale))
        torch.testing.assert_close(block(x)[inner], ref[inner], atol=1e-12, rtol=0)


def test_subpixel_is_conv_then_shuffle_with_one_bias_per_channel():
    block = Upsample(3, 2, 2, "subpixel", dtype=torch.float64)
    assert block.conv.bias is None and block.bias.shape == (2,)
    with torch.no_grad():
        block.conv.weight.normal_()
    x = x_for(2)
    y = F.pixel_shuffle(F.conv2d(x, block.conv.weight, padding=1), 2) + block.bias.reshape(-1, 1, 1)
    torch.testing.assert_close(block(x), y, atol=1e-12, rtol=0)


def test_subpixel_icnr_is_nearest_upsampling_of_a_convolution():
    block = Upsample(3, 2, 3, "subpixel", dims=1, dtype=torch.float64)
    w = block.conv.weight[::3]  # one sub-kernel per output channel
    x = x_for(1)
    ref = F.interpolate(F.conv1d(x, w, block.bias, padding=1), scale_factor=3.0, mode="nearest")
    torch.testing.assert_close(block(x), ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("interpolation", ["nearest", "linear"])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_resize_conv_is_resize_then_conv(interpolation, dims):
    block = Upsample(3, 2, 2, "resize_conv", dims, interpolation=interpolation, dtype=torch.float64)
    x = x_for(dims)
    mode = "nearest" if interpolation == "nearest" else LINEAR[dims]
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    up = F.interpolate(x, scale_factor=2.0, mode=mode, **kwargs)
    ref = CONV[dims](up, block.conv.weight, block.conv.bias, padding=1)
    torch.testing.assert_close(block(x), ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("interpolation", ["nearest", "linear"])
def test_interpolate_mode(interpolation):
    same = Upsample(3, 3, 2, "interpolate", interpolation=interpolation)
    assert sum(p.numel() for p in same.parameters()) == 0
    x = x_for(2, dtype=torch.float32)
    mode = "nearest" if interpolation == "nearest" else "bilinear"
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    torch.testing.assert_close(same(x), F.interpolate(x, scale_factor=2.0, mode=mode, **kwargs))
    change = Upsample(3, 5, 2, "interpolate", interpolation=interpolation, dtype=torch.float64)
    x = x_for(2)
    assert change.conv.kernel_size == (1, 1)
    # the 1x1 conv commutes with the resize (interpolation weights sum to 1)
    after = F.conv2d(
        F.interpolate(x, scale_factor=2.0, mode=mode, **kwargs),
        change.conv.weight,
        change.conv.bias,
    )
    torch.testing.assert_close(change(x), after, atol=1e-12, rtol=0)


def test_argument_errors():
    with pytest.raises(ValueError, match=r"mode='deconv' is invalid: valid modes are \("):
        Upsample(2, 2, 2, "deconv")
    with pytest.raises(tconv.ShapeError, match="dims=4 is invalid"):
        Upsample(2, 2, 2, dims=4)
    with pytest.raises(ValueError, match="interpolation='cubic' is invalid"):
        Upsample(2, 2, 2, "resize_conv", interpolation="cubic")
    with pytest.raises(ValueError, match="init='bilinear' is for mode='transposed'"):
        Upsample(2, 2, 2, "subpixel", init="bilinear")
    with pytest.raises(tconv.ShapeError, match="in_channels must equal out_channels"):
        Upsample(2, 3, 2, init="bilinear")
    with pytest.raises(ValueError, match="init is not used by mode='interpolate'"):
        Upsample(2, 2, 2, "interpolate", init="icnr")
    with pytest.raises(tconv.ShapeError, match=r"scale=\(2, 0\) is invalid"):
        Upsample(2, 2, (2, 0))
    with pytest.raises(tconv.ShapeError, match=r"expects batched \(N, C, \*spatial\) input with 2"):
        Upsample(2, 2, 2)(torch.randn(2, 8, 8))


def test_repr_shows_non_defaults():
    assert repr(Upsample(4, 8, 2)).splitlines() == [
        "Upsample(",
        "  4, 8, scale=2",
        "  (conv): ConvTranspose2d(4, 8, kernel_size=(4, 4), stride=(2, 2), padding=same, "
        "allow_crop=True)",
        ")",
    ]
    text = Upsample(4, 8, (2, 3), "resize_conv", interpolation="linear", bias=False).extra_repr()
    assert text == "4, 8, scale=(2, 3), mode=resize_conv, interpolation=linear, bias=False"
    assert Upsample(4, 8, 2, "subpixel", 1, kernel_size=5).extra_repr() == (
        "4, 8, scale=2, mode=subpixel, dims=1, kernel_size=5"
    )


def test_pickle_and_state_dict_round_trip():
    block = Upsample(3, 2, 2, "subpixel")
    clone = pickle.loads(pickle.dumps(block))
    x = torch.randn(1, 3, 4, 4)
    torch.testing.assert_close(clone(x), block(x))
    fresh = Upsample(3, 2, 2, "subpixel")
    fresh.load_state_dict(block.state_dict())
    torch.testing.assert_close(fresh(x), block(x))
    assert set(block.state_dict()) == {"conv.weight", "bias"}
    assert math.prod(block.conv.weight.shape[:1]) == 8
