"""The classic SR networks, the on-device patch sampler, the recipe's schedules and the
self-ensemble (tiny sizes; the long trainings are commands whose results are in the docs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tconv import train
from tconv.cli import main
from tconv.train import Context, sr
from tconv.train.patches import PatchSampler, dihedral
from tconv.train.sr_models import ARCHS, CLASSIC_ARCHS, EDSR, ESPCN, FSRCNN, build_arch
from tconv.upscale import SelfEnsemble, load_sr_model, upscale

TINY = {
    "width": 4,
    "depth": 1,
    "patch": 8,
    "batch_size": 4,
    "patches_per_epoch": 8,
    "eval_size": 32,
}


@pytest.mark.parametrize("arch", CLASSIC_ARCHS)
@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("size", [(5, 7), (8, 3)])
def test_networks_upscale_by_scale(arch, scale, size):
    y = build_arch(arch, scale)(torch.rand(2, 3, *size))
    assert y.shape == (2, 3, size[0] * scale, size[1] * scale)


@pytest.mark.parametrize("scale", [2, 4])
def test_fsrcnn_head_is_the_full_transposed_convolution_cropped(scale):
    net = FSRCNN(scale)
    x = torch.randn(1, 56, 6, 5)
    full = F.conv_transpose2d(x, net.last.weight, net.last.bias, stride=scale)
    extra = 9 - scale  # 'same': output = input * scale, the odd pixel cropped at the end
    lo, hi = extra // 2, extra - extra // 2
    ref = full[..., lo : full.shape[-2] - hi, lo : full.shape[-1] - hi]
    torch.testing.assert_close(net.last(x), ref)


def test_parameter_counts_follow_the_papers():
    d, s, m = 56, 12, 4
    fsrcnn = (5 * 5 * 3 * d + d + d) + (d * s + s + s) + m * (9 * s * s + s + s)
    fsrcnn += (s * d + d + d) + (9 * 9 * d * 3 + 3)
    assert sum(p.numel() for p in FSRCNN(2).parameters()) == fsrcnn
    espcn4 = (25 * 3 * 64 + 64) + (9 * 64 * 32 + 32) + (9 * 32 * 48 + 48)
    assert sum(p.numel() for p in ESPCN(4).parameters()) == espcn4
    f = 48
    conv = 9 * f * f + f
    # the sub-pixel stage: 3x3 conv to 4F channels, one bias per output channel (F)
    edsr2 = (27 * f + f) + 12 * conv + conv + (9 * f * 4 * f + f) + (9 * f * 3 + 3)
    assert sum(p.numel() for p in EDSR(2).parameters()) == edsr2


def test_build_model_dispatches_and_refuses():
    assert isinstance(sr.build_model("subpixel", 2, arch="espcn"), ESPCN)
    assert isinstance(sr.build_model("subpixel", 2), sr.SRNet)
    with pytest.raises(ValueError, match="arch='vdsr' is invalid"):
        sr.build_model("subpixel", 2, arch="vdsr")
    with pytest.raises(ValueError, match="scale=3"):
        build_arch("edsr", 3)
    assert ARCHS[0] == "srnet"


def _reference_dihedral(a: np.ndarray, t: int) -> np.ndarray:
    if t & 4:
        a = a[..., ::-1]
    return np.rot90(a, t & 3, axes=(-2, -1))


def test_dihedral_matches_numpy_per_image():
    x = torch.randn(16, 2, 5, 5)
    t = torch.arange(16) % 8
    out = dihedral(x, t)
    for i in range(16):
        ref = _reference_dihedral(x[i].numpy(), int(t[i]))
        np.testing.assert_array_equal(out[i].numpy(), ref)
    # the 8 are distinct symmetries
    assert len({tuple(out[i].flatten().tolist()) for i in range(8)}) == 8


def test_patches_are_aligned_deterministic_and_checked():
    g = torch.Generator().manual_seed(0)
    lows = [torch.rand(3, 12, 17, generator=g), torch.rand(3, 20, 9, generator=g)]
    # HR = nearest upsampling of LR: an aligned HR patch is the nearest upsampling of its LR
    highs = [x.repeat_interleave(3, -1).repeat_interleave(3, -2) for x in lows]
    sampler = PatchSampler(highs, lows, scale=3, seed=5)
    batches = list(sampler.batches(epoch=2, steps=3, batch_size=8, patch=6))
    for lr, hr in batches:
        assert lr.shape == (8, 3, 6, 6) and hr.shape == (8, 3, 18, 18)
        torch.testing.assert_close(hr, F.interpolate(lr, scale_factor=3, mode="nearest"))
    again = list(sampler.batches(epoch=2, steps=3, batch_size=8, patch=6))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again))
    other = next(iter(sampler.batches(epoch=3, steps=1, batch_size=8, patch=6)))
    assert not torch.equal(other[0], batches[0][0])
    # a patch of 10 fits only the first photo's 12 rows... and its 17 columns
    for lr, _ in sampler.batches(0, 2, 8, 10):
        assert lr.shape[-1] == 10
    with pytest.raises(ValueError, match="patch=21 is invalid"):
        next(iter(sampler.batches(0, 1, 1, 21)))


def test_patch_and_learning_rate_schedules():
    cfg = train.make_config(
        "sr",
        epochs=5,
        patch=24,
        patch_max=48,
        lr=0.01,
        **{k: v for k, v in TINY.items() if k != "patch"},
    )
    task = sr.SRTask(cfg, Context(torch.device("cpu")))
    sizes = [task.patch_size(e) for e in range(5)]
    assert sizes[0] == 24 and sizes[-1] == 48 and sizes == sorted(sizes)
    assert all(p % 4 == 0 for p in sizes)
    task.steps_per_epoch = 100
    rates = [task.learning_rate(s) for s in range(500)]
    assert rates[0] == pytest.approx(0.01 / 10)  # warm-up over the first 2 % (10 steps)
    assert max(rates) == pytest.approx(0.01, rel=1e-3)
    assert rates[-1] < 1e-6 and rates[300] < rates[100]


def test_classic_network_trains_and_upscales(tmp_path):
    cfg = train.make_config("sr", arch="fsrcnn", epochs=1, **TINY)
    result = train.run("sr", cfg, tmp_path, progress=False)
    assert result["metrics"]["parameters"] == sum(p.numel() for p in FSRCNN(2).parameters())
    assert "# SR x2: fsrcnn" in (tmp_path / "report.md").read_text()
    model, _, ckpt = load_sr_model(2, tmp_path / "model.pt")
    assert isinstance(model, FSRCNN) and ckpt["config"]["arch"] == "fsrcnn"
    assert upscale(np.zeros((5, 6, 3), np.uint8), 2, model=model).shape == (10, 12, 3)


def test_classic_network_refuses_another_upsampler(tmp_path):
    cfg = train.make_config("sr", arch="espcn", upsampler="transposed_k4", epochs=1, **TINY)
    with pytest.raises(ValueError, match="invalid with arch='espcn'"):
        train.run("sr", cfg, tmp_path, progress=False)
    assert main(["train", "sr", "--out", str(tmp_path / "x"), "--arch", "nope"]) == 2


def test_self_ensemble_is_the_mean_over_the_eight_symmetries():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 12, 3, padding=1), torch.nn.PixelShuffle(2))
    x = torch.randn(1, 3, 5, 7)
    outs = []
    for t in range(8):
        a = _reference_dihedral(x.numpy(), t).copy()
        y = net(torch.from_numpy(a)).detach().numpy()
        # undo: rotate back, then flip back
        y = np.rot90(y, -(t & 3), axes=(-2, -1))
        outs.append(y[..., ::-1] if t & 4 else y)
    ref = np.mean(outs, axis=0)
    with torch.no_grad():
        got = SelfEnsemble(net)(x)
        single = net(x)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(got, single, atol=1e-3)  # the ensemble does change the output


def test_upscale_ensemble_option(tmp_path):
    img = (np.random.default_rng(0).random((12, 10, 3)) * 255).astype(np.uint8)
    model, _, _ = load_sr_model(2)
    plain = upscale(img, 2, model=model)
    ens = upscale(img, 2, model=model, ensemble=True)
    with torch.no_grad():
        ref = SelfEnsemble(model)(torch.from_numpy(img / 255.0).float().permute(2, 0, 1)[None])
    ref_img = np.clip(np.rint(ref[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255), 0, 255)
    assert np.abs(ens.astype(int) - ref_img.astype(int)).max() <= 1
    assert ens.shape == plain.shape and not np.array_equal(ens, plain)
    from PIL import Image

    Image.fromarray(img).save(tmp_path / "in.png")
    code = main(["upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"),
                 "--ensemble", "--no-progress"])  # fmt: skip
    assert code == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), ens)


def test_training_photos_setting_adds_replaces_and_refuses_held_out():
    from tconv.train.data import HELD_OUT_PHOTOS, TRAIN_PHOTOS, load_photo

    assert sr.train_photos("") == TRAIN_PHOTOS
    assert sr.train_photos("+motorcycle_left") == (*TRAIN_PHOTOS, "motorcycle_left")
    assert sr.train_photos(" astronaut , rocket ") == ("astronaut", "rocket")
    # the stereo pair: two views of one scene, each a (3, 500, 741) photo, not alike
    left, right = load_photo("motorcycle_left"), load_photo("motorcycle_right")
    assert left.shape == right.shape == (3, 500, 741) and not torch.equal(left, right)
    for name in HELD_OUT_PHOTOS:
        with pytest.raises(ValueError, match=f"photo '{name}' is invalid for training"):
            sr.train_photos("+" + name)
    with pytest.raises(ValueError, match="photo 'cat' is invalid for training"):
        sr.train_photos("cat")  # skimage.data.cat() is chelsea
    with pytest.raises(ValueError, match="listed twice"):
        sr.train_photos("+astronaut")
    with pytest.raises(ValueError, match="an empty name"):
        sr.train_photos("astronaut,,rocket")
    with pytest.raises(ValueError, match=r"'nosuch' is not in skimage\.data"):
        load_photo("nosuch")


def test_photo_weighting_draws_each_photo_alike():
    big, small = torch.rand(3, 64, 64), torch.rand(3, 8, 8)
    counts = {}
    for weighting in ("area", "photo"):
        s = PatchSampler([big, small], [big, small], scale=1, seed=0, weighting=weighting)
        lr, _ = next(iter(s.batches(0, 1, 2000, 8)))
        # a patch of the whole small photo is one of 8 symmetries of it
        sym = [dihedral(small[None], torch.tensor([t]))[0] for t in range(8)]
        counts[weighting] = sum(any(torch.equal(p, q) for q in sym) for p in lr)
    # area: 64 / (4096 + 64) of the draws; photo: half of them
    assert counts["area"] < 100 and 850 < counts["photo"] < 1150
    with pytest.raises(ValueError, match="weighting='pixels' is invalid"):
        PatchSampler([big], [big], scale=1, seed=0, weighting="pixels")


def test_init_fine_tunes_from_a_checkpoint_of_the_same_network(tmp_path):
    first = tmp_path / "first"
    train.run("sr", train.make_config("sr", epochs=1, **TINY), first, progress=False)
    start = load_sr_model(2, first / "model.pt")[0].state_dict()
    # zero steps of training (lr 0): the fine-tuned model starts from the checkpoint's weights
    cfg = train.make_config(
        "sr", epochs=1, lr=0.0, init=str(first / "model.pt"), photos="+motorcycle_left", **TINY
    )
    train.run("sr", cfg, tmp_path / "again", progress=False)
    _, _, ckpt = load_sr_model(2, tmp_path / "again" / "model.pt")
    again = ckpt["models"]["model"]
    assert all(torch.equal(start[k], again[k]) for k in start)
    assert ckpt["provenance"]["data"]["train"][-1] == "motorcycle_left"
    other = train.make_config("sr", epochs=1, init=str(first / "model.pt"), **{**TINY, "width": 5})
    with pytest.raises(ValueError, match="width=4 there, 5 here"):
        train.run("sr", other, tmp_path / "other", progress=False)
    assert main(["train", "sr", "--out", str(tmp_path / "x"), "--init", str(tmp_path)]) == 2
    # a refused setting leaves no empty run folder behind
    assert not (tmp_path / "other").exists() and not (tmp_path / "x").exists()
    # --resume of a fine-tuning run continues from its own last.pt: the init file may be gone
    init = tmp_path / "init.pt"
    init.write_bytes((first / "model.pt").read_bytes())
    tuned = train.make_config("sr", epochs=1, init=str(init), **TINY)
    train.run("sr", tuned, tmp_path / "tuned", progress=False)
    init.unlink()
    more = train.make_config("sr", epochs=2, init=str(init), **TINY)
    result = train.run("sr", more, tmp_path / "tuned", resume=True, progress=False)
    assert result["epochs"] == 2 and len(result["history"]) == 2


def test_ensemble_keeps_a_channels_last_input_channels_last():
    # rot90/flip return standard-layout tensors; the CPU fast path needs channels-last
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append(x.is_contiguous(memory_format=torch.channels_last))
            return x

    x = torch.rand(1, 3, 5, 7)
    SelfEnsemble(Probe())(x.contiguous(memory_format=torch.channels_last))
    SelfEnsemble(Probe())(x)
    assert seen == [True] * 8 + [False] * 8


def test_unseen_photos_script_prints_gains_of_the_shipped_models(capsys):
    import runpy
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "docs" / "sr_unseen.py"
    argv = sys.argv
    try:
        sys.argv = [str(script)]
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = argv
    lines = capsys.readouterr().out.splitlines()
    flower = [ln.split(" | ") for ln in lines if "| flower |" in ln]
    assert [row[1] for row in flower] == ["x2", "x4", "x4"]  # x2; x4 fast and best
    # the shipped models beat both bicubics on the flower photo (a bicubic-like model would not)
    assert all(float(row[-2]) > 0.5 and float(row[-1].rstrip(" |")) > 0.5 for row in flower)


def test_best_x4_is_the_mean_of_the_x4_model_and_the_x2_model_twice():
    from tconv.upscale import TwoPathX4, _features, memory_needed, shipped_model

    x4, x2 = load_sr_model(4)[0], load_sr_model(2)[0]
    best = shipped_model(4, "best")
    assert isinstance(best, TwoPathX4) and not best.training
    x = torch.rand(1, 3, 20, 17)
    with torch.no_grad():
        want = (x4(x) + x2(x2(x).clamp(0, 1))) / 2
        assert torch.allclose(best(x), want, atol=1e-6)
        # channels-last in: the same numbers
        cl = best(x.contiguous(memory_format=torch.channels_last))
        assert torch.allclose(cl, want, atol=1e-5)
    # tiled equals untiled within one 8-bit level (the context covers both paths)
    img = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    whole = upscale(img, 4, quality="best", tile=0).astype(int)
    tiled = upscale(img, 4, quality="best", tile=32).astype(int)
    assert whole.shape == (280, 360, 3) and np.abs(whole - tiled).max() <= 1
    # its second x2 run works at twice the size: the memory estimate counts it
    assert _features(best) == _features(x4) + 4 * _features(x2)
    small = memory_needed(100, 100, 3, np.uint8, 4, "PNG", features=_features(x4))
    assert memory_needed(100, 100, 3, np.uint8, 4, "PNG", features=_features(best)) > small


def test_quality_is_checked(tmp_path):
    from PIL import Image

    from tconv.upscale import shipped_model

    with pytest.raises(
        ValueError, match=r"quality='good' is invalid: valid qualities are \('fast', 'best'\)"
    ):
        shipped_model(4, "good")
    with pytest.raises(
        ValueError, match="quality='best' is invalid at scale 2: it exists for scale 4"
    ):
        upscale(np.zeros((8, 8, 3), np.uint8), 2, quality="best")
    with pytest.raises(
        ValueError,
        match=r"quality='best' \(--quality best\) is invalid with a checkpoint or a model",
    ):
        upscale(np.zeros((8, 8, 3), np.uint8), 4, quality="best", model=load_sr_model(4)[0])
    src = tmp_path / "a.png"
    Image.fromarray(np.zeros((12, 10, 3), np.uint8)).save(src)
    assert main(["upscale", str(src), "-o", str(tmp_path / "b.png"), "--quality", "best"]) == 2
    args = ["upscale", str(src), "-o", str(tmp_path / "c.png"), "--scale", "4"]
    assert main([*args, "--quality", "best", "--checkpoint", str(src)]) == 2
    assert main([*args, "--quality", "best", "--no-progress"]) == 0
    assert Image.open(tmp_path / "c.png").size == (40, 48)
