"""`tconv train seg|gan` end to end on tiny settings, and their bad input (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tconv.cli import main
from tconv.train import seg

SEG_TINY = [
    "--epochs=1",
    "--width=4",
    "--depth=2",
    "--train-size=16",
    "--train-count=8",
    "--batch-size=8",
    "--eval-count=2",
    "--eval-height=17",
    "--eval-width=19",
]
GAN_TINY = ["--epochs=1", "--width=4", "--train-count=16", "--batch-size=8", "--eval-count=16"]


def _one_line_error(capsys: pytest.CaptureFixture[str], needle: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err


def test_gan_all_upsamplers_then_seg_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gan_out = tmp_path / "gan"
    args = ["train", "gan", "--upsampler", "all", "--out", str(gan_out), "--no-progress"]
    assert main([*args, *GAN_TINY]) == 0
    assert "wrote" in capsys.readouterr().out
    table = (gan_out / "comparison.md").read_text()
    for name in seg.UPSAMPLERS:
        assert f"| {name} |" in table
        run = gan_out / name
        metrics = json.loads((run / "metrics.json").read_text())["metrics"]
        assert metrics["swd"] > 0 and metrics["checkerboard_ratio"] > 0
        for f in ("report.md", "samples.png", "last.pt", "model.pt"):
            assert (run / f).is_file(), f
    assert (gan_out / "comparison.png").is_file()
    summary = json.loads((gan_out / "comparison.json").read_text())
    assert set(summary["variants"]) == set(seg.UPSAMPLERS)

    seg_out = tmp_path / "seg"
    args = ["train", "seg", "--upsampler", "transposed_k3", "--out", str(seg_out)]
    assert main([*args, *SEG_TINY, "--no-progress"]) == 0
    capsys.readouterr()
    metrics = json.loads((seg_out / "metrics.json").read_text())["metrics"]
    assert 0 <= metrics["miou"] <= 1 and 0 <= metrics["boundary_accuracy"] <= 1
    assert (seg_out / "examples.png").is_file() and "| miou |" in (
        seg_out / "report.md"
    ).read_text()

    # bad input: one line, exit 2, nothing lost
    with pytest.raises(SystemExit) as exc:
        main(["train", "segment", "--out", str(tmp_path / "a")])
    assert exc.value.code == 2
    _one_line_error(capsys, "invalid choice: 'segment'")
    assert main(["train", "seg", "--out", str(tmp_path / "b"), "--upsampler", "deconv"]) == 2
    _one_line_error(capsys, "upsampler='deconv' is invalid")
    # a checkpoint of another task: refused, the file untouched
    ckpt = gan_out / "subpixel" / "last.pt"
    before = ckpt.read_bytes()
    assert main(["train", "seg", "--out", str(ckpt.parent), "--resume"]) == 2
    _one_line_error(capsys, "is of task 'gan', not 'seg'")
    assert ckpt.read_bytes() == before
    # an --out that cannot be a folder
    blocker = tmp_path / "file.txt"
    blocker.write_text("keep me")
    assert main(["train", "gan", "--out", str(blocker / "run"), *GAN_TINY]) == 2
    _one_line_error(capsys, "Not a directory")
    assert main(["train", "gan", "--out", str(blocker), *GAN_TINY]) == 2
    _one_line_error(capsys, "is not a folder")
    assert blocker.read_text() == "keep me"
    # --resume where there is no checkpoint
    (tmp_path / "empty").mkdir()
    assert main(["train", "gan", "--out", str(tmp_path / "empty"), "--resume"]) == 2
    _one_line_error(capsys, "does not exist")
    assert list((tmp_path / "empty").iterdir()) == []
    # help with examples
    with pytest.raises(SystemExit) as exc:
        main(["train", "seg", "--help"])
    assert exc.value.code == 0
    assert "tconv train seg --upsampler all --quick" in capsys.readouterr().out
    assert torch.load(seg_out / "model.pt", weights_only=True)["task"] == "seg"
