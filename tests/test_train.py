"""The trainer (checkpoints, resume after a kill, registry, CLI) and the SR task, tiny configs."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tconv import train
from tconv.cli import build_parser, main
from tconv.train import get_task, make_config, sr
from tconv.train.data import HELD_OUT_PHOTOS, TRAIN_PHOTOS, degrade, load_photo, to_y

# a run of seconds: tiny body, tiny patches, held-out centre crops
TINY = {
    "width": 4,
    "depth": 1,
    "patch": 8,
    "batch_size": 4,
    "patches_per_epoch": 8,
    "eval_size": 32,
}
TINY_FLAGS = [*(f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()), "--threads=1"]
ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


def test_split_is_by_image_and_offline():
    assert not set(TRAIN_PHOTOS) & set(HELD_OUT_PHOTOS)
    for name in HELD_OUT_PHOTOS:
        x = load_photo(name)
        assert x.shape[0] == 3 and float(x.min()) >= 0 and float(x.max()) <= 1


def test_degradation_is_antialiased_bicubic():
    hr = load_photo("chelsea")[:, :64, :64]
    lr = degrade(hr, 2)
    import numpy as np
    import PIL.Image as pil

    # Pillow's BICUBIC resize is the antialiased bicubic filter too (a reference, not our code)
    img = pil.fromarray((hr.permute(1, 2, 0).numpy() * 255).round().astype("uint8"))
    ref = np.asarray(img.resize((32, 32), pil.Resampling.BICUBIC)).astype("float32") / 255
    assert abs(lr.permute(1, 2, 0).numpy() - ref).max() < 3 / 255


def test_psnr_ssim_follow_the_conventions():
    hr = load_photo("coffee")[:, :40, :40]
    noisy = (hr + 0.05 * torch.randn(hr.shape, generator=torch.Generator().manual_seed(0))).clamp(
        0, 1
    )
    psnr, ssim = sr.psnr_ssim(noisy, hr, 2)
    ys, yh = to_y(noisy)[2:-2, 2:-2], to_y(hr)[2:-2, 2:-2]
    mse = float(((ys - yh) ** 2).mean())
    assert psnr == pytest.approx(10 * torch.log10(torch.tensor(255.0**2 / mse)).item())
    from skimage.metrics import peak_signal_noise_ratio

    assert psnr == pytest.approx(peak_signal_noise_ratio(yh.numpy(), ys.numpy(), data_range=255))
    assert 0 < ssim < 1
    # the border is shaved: a wrong border does not count
    broken = hr.clone()
    broken[:, :2] = 0
    assert sr.psnr_ssim(broken, hr, 2)[0] == float("inf")


@pytest.mark.parametrize("upsampler", sr.UPSAMPLERS)
@pytest.mark.parametrize("scale", sr.SCALES)
def test_models_upscale_by_scale(upsampler, scale):
    model = sr.build_model(upsampler, scale, width=4, depth=1)
    assert model(torch.rand(2, 3, 7, 9)).shape == (2, 3, 7 * scale, 9 * scale)


def test_bilinear_upsampler_starts_as_bilinear():
    # the head: a 1x1 convolution to RGB, then a transposed k4 s2 p1 that starts as bilinear
    model = sr.build_model("transposed_bilinear", 2, width=5, depth=1)
    head = model.head[0][1]
    x = torch.rand(1, 3, 12, 12)
    ref = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")
    assert torch.allclose(head(x)[..., 2:-2, 2:-2], ref[..., 2:-2, 2:-2], atol=1e-6)


def test_bad_choices_raise_value_error():
    with pytest.raises(ValueError, match="upsampler='nope' is invalid"):
        sr.build_model("nope", 2)
    with pytest.raises(ValueError, match="scale=3 is invalid"):
        sr.build_model("subpixel", 3)
    with pytest.raises(ValueError, match="task='nope' is invalid"):
        train.get_task("nope")
    with pytest.raises(ValueError, match="unknown config fields"):
        train.make_config("sr", widht=3)


def test_checkpoint_every_epoch_weights_only(tmp_path):
    cfg = train.make_config("sr", upsampler="subpixel", epochs=2, **TINY)
    result = train.run(
        "sr", cfg, tmp_path, progress=False, command="tconv train sr (test)", threads=1
    )
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["format"] == "tconv-checkpoint" and ckpt["task"] == "sr"
    assert ckpt["epoch"] == 2 and len(ckpt["history"]) == 2
    assert ckpt["config"]["upsampler"] == "subpixel"
    assert ckpt["provenance"]["command"] == "tconv train sr (test)"
    assert ckpt["provenance"]["data"]["held_out"] == list(HELD_OUT_PHOTOS)
    assert set(ckpt["optimizers"]) == {"model"} and "rng_per_rank" in ckpt
    final = torch.load(tmp_path / "model.pt", weights_only=True)
    assert "optimizers" not in final
    metrics = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    for key in ("psnr_y", "ssim_y", "bicubic_psnr_y", "checkerboard_score", "parameters"):
        assert key in metrics
    assert metrics["parameters"] == sum(
        p.numel() for p in sr.build_model("subpixel", 2, 4, 1).parameters()
    )
    assert result["metrics"]["epoch"] == 2
    assert "| subpixel |" in (tmp_path / "report.md").read_text()
    assert (tmp_path / "crops.png").stat().st_size > 1000


def test_kill_and_resume_continues_like_an_uninterrupted_run(tmp_path):
    flags = [*TINY_FLAGS, "--patches-per-epoch=64", "--epochs=6", "--upsampler=transposed_k4"]
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "tconv", "train", "sr", *flags, "--no-progress"]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out)], env=_env(), stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not (out / "last.pt").exists():
            assert proc.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = torch.load(out / "last.pt", weights_only=True)["epoch"]
    assert 1 <= done < 6, done
    assert not (out / "model.pt").exists()
    resumed = subprocess.run(
        [*cmd, "--out", str(out), "--resume"], env=_env(), capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # the resumed run printed only the epochs after the checkpoint
    assert f"epoch {done + 1}/6" in resumed.stderr and f"epoch {done}/6:" not in resumed.stderr
    cfg = train.make_config("sr", upsampler="transposed_k4", epochs=6, **TINY)
    cfg.patches_per_epoch = 64
    whole = train.run("sr", cfg, tmp_path / "whole", progress=False, threads=1)
    a = torch.load(out / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)
    for k, v in b["models"]["model"].items():
        torch.testing.assert_close(a["models"]["model"][k], v, rtol=0, atol=1e-6)
    assert [h["epoch"] for h in a["history"]] == list(range(1, 7))
    assert a["history"][-1]["psnr_y"] == pytest.approx(whole["metrics"]["psnr_y"], abs=1e-4)


def test_all_upsamplers_write_one_table(tmp_path):
    results = train.run(
        "sr",
        train.make_config("sr", upsampler="all", epochs=1, **TINY),
        tmp_path,
        progress=False,
        threads=1,
    )
    assert list(results) == list(sr.UPSAMPLERS)
    table = (tmp_path / "comparison.md").read_text()
    for name in sr.UPSAMPLERS:
        assert f"| {name} |" in table
        assert (tmp_path / name / "metrics.json").exists()
    summary = json.loads((tmp_path / "comparison.json").read_text())
    assert summary["task"] == "sr" and summary["config"]["scale"] == 2
    rows = {v: run["metrics"] for v, run in summary["variants"].items()}
    assert rows["bicubic"]["psnr_gain_db"] == 0 and rows["bicubic"]["parameters"] == 0
    # the k3 s2 layer's uneven overlap shows at any weights; bilinear-initialised even overlap
    # is far smaller after one tiny epoch
    for key in ("checkerboard_score", "checkerboard_score_branch"):
        assert rows["transposed_k3"][key] > rows["transposed_bilinear"][key]
    assert rows["transposed_k3"]["checkerboard_score_branch"] > 0.05
    assert (tmp_path / "comparison.png").stat().st_size > 1000


def test_cli_train_and_its_errors(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "sr", "--out", str(out), "--epochs=1", *TINY_FLAGS, "--no-progress"]) == 0
    assert "psnr_y=" in capsys.readouterr().out
    ckpt = torch.load(out / "last.pt", weights_only=True)
    # the command recorded (and in report.md) is the one given, shell-quoted
    command = ckpt["provenance"]["command"]
    assert command.startswith("tconv train sr ") and " --epochs 1 " in command
    assert command.endswith(f"--no-progress --out {shlex.quote(str(out))}")
    assert f"Command: `{command}`" in (out / "report.md").read_text()
    again = build_parser().parse_args(shlex.split(command)[1:])
    assert make_config("sr", quick=again.quick, **_config_flags(again)) == make_config(
        "sr", **{**TINY, "epochs": 1}
    )
    # an existing run is not overwritten without --force
    assert main(["train", "sr", "--out", str(out), "--epochs=1", *TINY_FLAGS]) == 2
    assert "already holds files" in capsys.readouterr().err
    assert main(["train", "sr", "--out", str(tmp_path / "none"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
    assert main(["train", "sr", "--out", str(tmp_path / "x"), "--upsampler", "nope"]) == 2
    assert "upsampler='nope' is invalid" in capsys.readouterr().err
    assert main(["train", "sr", "--out", str(tmp_path / "y"), "--scale", "3"]) == 2
    assert "scale=3 is invalid" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", "sr", "--help"])
    assert exc.value.code == 0
    assert "tconv train sr --upsampler all --quick" in capsys.readouterr().out


def _config_flags(args: argparse.Namespace) -> dict[str, object]:
    cls = get_task(args.task)
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls.Config)}


@pytest.mark.parametrize(
    "flags",
    [
        ["--photos", "", "--weighting", "area", "--init", "", "--out", "runs/a"],
        ["--quick", "--upsampler", "all", "--out", "my runs/x2 'best'"],
        ["--scale", "4", "--lr", "1e-3", "--arch", "fsrcnn", "--device", "cpu", "--out", "r"],
        ["--photos", "+motorcycle_left, rocket", "--threads", "2", "--force", "--out", "$HOME"],
    ],
)
def test_recorded_command_parses_back_to_the_same_configuration(flags):
    """The report's "Command:" line, pasted into a shell, is the run's configuration (it
    printed `--photos  --init  --out` for empty values: argparse refused it)."""
    from tconv.cli.train import given_command

    args = build_parser().parse_args(["train", "sr", *flags])
    command = given_command(args)
    assert command.startswith("tconv train sr ")
    again = build_parser().parse_args(shlex.split(command)[1:])
    for key in ("task", "quick", "out", "device", "threads", "force", "resume"):
        assert getattr(again, key) == getattr(args, key), key
    config = make_config("sr", quick=args.quick, **_config_flags(args))
    assert make_config("sr", quick=again.quick, **_config_flags(again)) == config
