"""The segmentation and generator tasks: data, models, sizes, metrics (tiny, no long training)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tconv import artifacts
from tconv.planning import inverse_of
from tconv.train import data, gan, quality, seg

ALL = tuple(seg.UPSAMPLERS)


@pytest.mark.parametrize("name", ALL)
def test_unet_odd_sizes_exact_without_padding(name: str) -> None:
    model = seg.UNet(name, classes=3, width=4, depth=3)
    for size in ((99, 101), (64, 64), (33, 17), (8, 9)):
        assert model(torch.randn(1, 1, *size)).shape == (1, 3, *size)
    for down, up in zip(model.downs, model.ups):
        layer = up.layer
        if name.startswith("transposed"):
            # the decoder layer is the inverse of its level's downsampling convolution
            plan = inverse_of(down, (49, 50))
            assert isinstance(layer, torch.nn.ConvTranspose2d)
            assert (layer.kernel_size, layer.stride, layer.padding) == (
                plan.kernel_size,
                plan.stride,
                plan.padding,
            )
        else:
            assert down.stride == (2, 2) and down.kernel_size == (3, 3)


def test_unet_rejects_unknown_upsampler() -> None:
    with pytest.raises(ValueError, match=r"upsampler='nope' is invalid: valid upsamplers are"):
        seg.UNet("nope")
    with pytest.raises(ValueError, match=r"upsampler='nope' is invalid"):
        gan.Generator("nope")
    with pytest.raises(ValueError, match=r"upsampler='x' is invalid"):
        seg.SegConfig(upsampler="x")
    with pytest.raises(ValueError, match=r"batch_size=0 is invalid"):
        gan.GanConfig(batch_size=0)


def _constant_textures(monkeypatch: pytest.MonkeyPatch, by_column: bool) -> None:
    def fake(name: str) -> torch.Tensor:
        c = data.TEXTURES.index(name)
        if by_column:
            return torch.arange(512.0).expand(512, 512) + 1000 * c
        return torch.full((512, 512), float(c + 1))

    monkeypatch.setattr(data, "load_texture", fake)


def test_composite_labels_are_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    _constant_textures(monkeypatch, by_column=False)
    x, y = data.composites(5, (37, 41), "train", seed=3)
    assert torch.equal(x[:, 0], (y + 1).float())
    assert set(y.unique().tolist()) == {0, 1, 2}


def test_composite_parts_do_not_share_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    _constant_textures(monkeypatch, by_column=True)
    (lo, hi), (hlo, hhi) = data.TEXTURE_COLUMNS["train"], data.TEXTURE_COLUMNS["held_out"]
    assert hi <= hlo
    x, y = data.composites(6, (64, 64), "train", seed=1)
    col = x[:, 0] - 1000 * y
    assert col.min() >= lo and col.max() < hi
    x, y = data.composites(6, (99, 101), "held_out", seed=1)
    col = x[:, 0] - 1000 * y
    assert col.min() >= hlo and col.max() < hhi
    with pytest.raises(ValueError, match="part='test' is invalid"):
        data.composites(1, (8, 8), "test", seed=0)
    with pytest.raises(ValueError, match=r"size=\(600, 8\) is invalid"):
        data.composites(1, (600, 8), "train", seed=0)


def test_composites_are_seeded_and_textures_standardised() -> None:
    a = data.composites(2, (32, 32), "held_out", seed=5)
    b = data.composites(2, (32, 32), "held_out", seed=5)
    c = data.composites(2, (32, 32), "held_out", seed=6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    for name in data.TEXTURES:
        t = data.load_texture(name)
        assert abs(float(t.mean())) < 1e-4 and abs(float(t.std()) - 1) < 1e-4


def test_iou_matches_sklearn() -> None:
    from sklearn.metrics import jaccard_score

    g = torch.Generator().manual_seed(0)
    truth = torch.randint(3, (500,), generator=g)
    pred = torch.where(
        torch.rand(500, generator=g) < 0.6, truth, torch.randint(3, (500,), generator=g)
    )
    cm = torch.bincount(truth * 3 + pred, minlength=9).reshape(3, 3)
    m = quality.segmentation_metrics(cm, (3, 4))
    ref = jaccard_score(truth.numpy(), pred.numpy(), average=None)
    assert [m[f"iou_{k}"] for k in range(3)] == pytest.approx(ref.tolist())
    assert m["miou"] == pytest.approx(float(np.mean(ref)))
    assert m["pixel_accuracy"] == pytest.approx(float((truth == pred).double().mean()))
    assert m["boundary_accuracy"] == 0.75


def test_boundary_mask_matches_brute_force() -> None:
    y = data.region_labels(2, (23, 19), 3, torch.Generator().manual_seed(2), scale=0.1)
    r = 2
    got = quality.boundary_mask(y, r)
    want = torch.zeros_like(got)
    for n, i, j in itertools.product(range(2), range(23), range(19)):
        win = y[n, max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1]
        want[n, i, j] = bool((win != y[n, i, j]).any())
    assert torch.equal(got, want)
    assert 0 < got.double().mean() < 1


def test_stride_energy_sees_checkerboards() -> None:
    g = torch.Generator().manual_seed(0)
    smooth = artifacts.smooth_input((4, 1, 64, 64), seed=1).float()
    checker = (-1.0) ** (torch.arange(64)[:, None] + torch.arange(64))
    assert quality.stride_energy(smooth, 2) < 1e-3
    assert quality.stride_energy(checker.expand(2, 1, 64, 64), 2) == pytest.approx(1.0)
    noisy = quality.stride_energy(torch.randn(200, 1, 64, 64, generator=g), 2)
    assert noisy == pytest.approx(3 * 9 / 64**2, rel=0.1)  # the lobes' share of the bins
    # a period-4 pattern is at the period-4 frequencies, not at the period-2 ones
    four = torch.cos(torch.pi / 2 * torch.arange(64.0)).expand(1, 1, 64, 64)
    assert quality.stride_energy(four, 4) > 0.9 and quality.stride_energy(four, 2) < 1e-6
    with pytest.raises(ValueError, match="at least 3 periods"):
        quality.stride_energy(torch.randn(1, 1, 5, 64), 2)


def test_sliced_wasserstein_is_w1_in_one_dimension() -> None:
    from scipy.stats import wasserstein_distance

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 1, generator=g), 0.5 + 2 * torch.randn(400, 1, generator=g)
    ref = wasserstein_distance(a[:, 0].numpy(), b[:, 0].numpy())
    assert quality.sliced_wasserstein(a, b) == pytest.approx(ref, rel=1e-9)


def test_swd_orders_real_above_noise() -> None:
    real = data.texture_patches(48, "held_out", 0)
    other = data.texture_patches(48, "train", 1)
    noise = torch.rand(48, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    blurred = (
        torch.nn.functional.avg_pool2d(other, 2).repeat_interleave(2, 2).repeat_interleave(2, 3)
    )
    d_real = quality.swd(real, other)
    assert d_real < quality.swd(real, noise)
    assert d_real < quality.swd(real, blurred)


@pytest.mark.parametrize("name", ALL)
def test_generator_shapes(name: str) -> None:
    g = gan.Generator(name, width=4)
    assert g(torch.randn(5, gan.LATENT)).shape == (5, 1, 32, 32)
    assert gan.Discriminator(4)(torch.randn(5, 1, 32, 32)).shape == (5,)


def test_upsamplers_at_init_follow_the_overlap_lore() -> None:
    # one layer each, 8 -> 8 channels: the k3 s2 transposed layer has uneven overlap and a
    # checkerboard at init for any weights; ICNR sub-pixel, nearest resize-conv and bilinear
    # interpolation have none for a constant input
    torch.manual_seed(0)
    shape = (1, 8, 16, 16)
    score = {}
    for name in ALL:
        layer = gan._Up(name, 8, 8)
        score[name] = artifacts.checkerboard_score(layer, shape)
    assert score["transposed_k3"] > 0.05
    for name in ("subpixel", "resize_conv", "interpolate_bilinear"):
        assert score[name] < 1e-6, (name, score)


def test_texture_patches_split() -> None:
    a = data.texture_patches(9, "train", 0)
    assert a.shape == (9, 1, 32, 32) and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, data.texture_patches(9, "train", 0))
    with pytest.raises(ValueError, match="part='x' is invalid"):
        data.texture_patches(1, "x", 0)
