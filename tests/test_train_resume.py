"""Ctrl-C never loses a run: stopped at a step boundary, resumed, it equals an uninterrupted one.

For each task (sr, seg, gan; tiny configs of 4 steps per epoch, 2 epochs) a run gets a real
SIGINT (``signal.raise_signal``, caught by the trainer's handler) after a chosen step, inside an
epoch; ``last.pt`` then holds that position and ``fit(..., resume=True)`` finishes the run.
The finished weights, optimizer states and per-epoch metrics equal those of a run that was
never interrupted, exactly. The command line prints where it stopped and exits 130, and
``--resume`` continues.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
import torch

from tconv import train
from tconv.cli import main
from tconv.train import fit, load_checkpoint, make_config
from train_checks import assert_resumes_exactly, interrupting, same_run

TINY: dict[str, dict[str, Any]] = {
    "sr": {
        "upsampler": "transposed_k3",
        "width": 4,
        "depth": 1,
        "patch": 8,
        "batch_size": 4,
        "patches_per_epoch": 16,
        "eval_size": 32,
    },
    "seg": {
        "upsampler": "transposed_k3",
        "width": 4,
        "depth": 1,
        "batch_size": 8,
        "train_size": 16,
        "train_count": 32,
        "eval_count": 2,
        "eval_height": 17,
        "eval_width": 19,
    },
    "gan": {"upsampler": "subpixel", "width": 4, "batch_size": 8, "train_count": 32},
}
STEPS_PER_EPOCH = 4


@pytest.mark.parametrize(("name", "at_step"), [("sr", 2), ("seg", 6), ("gan", 3)])
def test_interrupted_and_resumed_equals_uninterrupted(
    tmp_path: Path, name: str, at_step: int, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(name, epochs=2, **TINY[name])
    last = assert_resumes_exactly(tmp_path, name, config, at_step)
    epoch, step = divmod(at_step, STEPS_PER_EPOCH)
    assert (last["epoch"], last["step"]) == (epoch, step) and len(last["history"]) == epoch
    assert f"stopped after epoch {epoch + 1} step {step}" in capsys.readouterr().err
    assert len(load_checkpoint(tmp_path / "run" / "model.pt")["history"]) == 2


def test_a_second_interrupt_at_a_step_boundary_resumes_too(tmp_path: Path) -> None:
    # stopped twice inside the same epoch, then finished: still the uninterrupted run
    config = make_config("seg", epochs=1, **TINY["seg"])
    task_cls = train.get_task("seg")
    fit(task_cls, config, tmp_path / "whole", device="cpu", progress=False, threads=1)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(interrupting(task_cls, 1), config, run, device="cpu", progress=False, threads=1)
    with pytest.raises(KeyboardInterrupt):
        fit(interrupting(task_cls, 2), config, run, resume=True, progress=False, threads=1)
    assert load_checkpoint(run / "last.pt")["step"] == 3
    fit(task_cls, config, run, resume=True, device="cpu", progress=False, threads=1)
    same_run(run, tmp_path / "whole")


def test_cli_ctrl_c_saves_then_resume_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seg = train.get_task("seg")
    flags = ["--epochs=1", "--threads=1", "--no-progress"]
    flags += [f"--{k.replace('_', '-')}={v}" for k, v in TINY["seg"].items()]
    assert main(["train", "seg", "--out", str(tmp_path / "whole"), *flags]) == 0
    step = seg.train_step
    calls = []

    def interrupted(self: Any, batch: Any) -> dict[str, float]:
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)
        return step(self, batch)

    out = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(seg, "train_step", interrupted)
        assert main(["train", "seg", "--out", str(out), *flags]) == 130
    err = capsys.readouterr().err
    assert "stopped after epoch 1 step 2" in err and "interrupted" in err
    assert sorted(p.name for p in out.iterdir()) == ["last.pt"]
    # without --epochs, --resume keeps the run's own epochs (1 here, not the default 12)
    again = [f for f in flags if not f.startswith("--epochs")]
    assert main(["train", "seg", "--out", str(out), "--resume", *again]) == 0
    same_run(out, tmp_path / "whole")


def test_threads_is_every_tasks_option_and_put_back(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    config = make_config("gan", epochs=1, **TINY["gan"])
    with pytest.raises(ValueError, match="threads=-1 is invalid"):
        fit(train.get_task("gan"), config, tmp_path / "x", threads=-1)
    fit(train.get_task("gan"), config, tmp_path / "y", device="cpu", progress=False, threads=1)
    assert torch.get_num_threads() == before
