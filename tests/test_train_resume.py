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


def _interrupting(task_cls: type[train.Task], at_step: int) -> type[train.Task]:
    """``task_cls`` that sends itself SIGINT after its ``at_step``-th training step."""

    class Interrupting(task_cls):  # type: ignore[valid-type,misc]
        steps = 0

        def train_step(self, batch: Any) -> dict[str, float]:
            out = super().train_step(batch)
            Interrupting.steps += 1
            if Interrupting.steps == at_step:
                signal.raise_signal(signal.SIGINT)
            return out

    return Interrupting


def _same_run(run: Path, whole: Path) -> None:
    """The two runs' last checkpoints hold equal weights, optimizer states and metrics, and so
    do the weights they ship."""
    a, b = load_checkpoint(run / "last.pt"), load_checkpoint(whole / "last.pt")
    for part in ("models", "optimizers"):
        _equal(a[part], b[part], part)
    assert a["history"] == b["history"] and (a["epoch"], a["step"]) == (b["epoch"], 0)
    a, b = load_checkpoint(run / "model.pt"), load_checkpoint(whole / "model.pt")
    _equal(a["models"], b["models"], "model.pt")
    assert a["history"] == b["history"]


def _equal(a: Any, b: Any, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _equal(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _equal(x, y, f"{where}/{i}")
    else:
        assert a == b, where


@pytest.mark.parametrize(("name", "at_step"), [("sr", 2), ("seg", 6), ("gan", 3)])
def test_interrupted_and_resumed_equals_uninterrupted(
    tmp_path: Path, name: str, at_step: int, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(name, epochs=2, **TINY[name])
    task_cls = train.get_task(name)
    whole = tmp_path / "whole"
    fit(task_cls, config, whole, device="cpu", progress=False, threads=1)

    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(_interrupting(task_cls, at_step), config, run, device="cpu", progress=False, threads=1)
    epoch, step = divmod(at_step, STEPS_PER_EPOCH)
    last = load_checkpoint(run / "last.pt", name)
    assert (last["epoch"], last["step"]) == (epoch, step)
    assert len(last["history"]) == epoch and not (run / "model.pt").exists()
    assert f"stopped after epoch {epoch + 1} step {step}" in capsys.readouterr().err

    fit(task_cls, config, run, resume=True, device="cpu", progress=False, threads=1)
    _same_run(run, whole)
    assert len(load_checkpoint(run / "model.pt")["history"]) == 2


def test_a_second_interrupt_at_a_step_boundary_resumes_too(tmp_path: Path) -> None:
    # stopped twice inside the same epoch, then finished: still the uninterrupted run
    config = make_config("seg", epochs=1, **TINY["seg"])
    task_cls = train.get_task("seg")
    fit(task_cls, config, tmp_path / "whole", device="cpu", progress=False, threads=1)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(_interrupting(task_cls, 1), config, run, device="cpu", progress=False, threads=1)
    with pytest.raises(KeyboardInterrupt):
        fit(_interrupting(task_cls, 2), config, run, resume=True, progress=False, threads=1)
    assert load_checkpoint(run / "last.pt")["step"] == 3
    fit(task_cls, config, run, resume=True, device="cpu", progress=False, threads=1)
    _same_run(run, tmp_path / "whole")


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
    assert main(["train", "seg", "--out", str(out), "--resume", *flags]) == 0
    _same_run(out, tmp_path / "whole")


def test_threads_is_every_tasks_option_and_put_back(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    config = make_config("gan", epochs=1, **TINY["gan"])
    with pytest.raises(ValueError, match="threads=-1 is invalid"):
        fit(train.get_task("gan"), config, tmp_path / "x", threads=-1)
    fit(train.get_task("gan"), config, tmp_path / "y", device="cpu", progress=False, threads=1)
    assert torch.get_num_threads() == before
