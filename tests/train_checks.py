"""Checks every training task's tests share: interrupted at a step, resumed, equal to a whole run.

``assert_resumes_exactly(tmp_path, name, config, at_step)`` trains ``config`` of task ``name``
twice: once whole, once interrupted by a real SIGINT after step ``at_step`` and resumed; the
two runs must end with equal weights, optimizer states and per-epoch metrics.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import torch

from tconv import train
from tconv.train import fit, load_checkpoint


def assert_resumes_exactly(tmp_path: Path, name: str, config: Any, at_step: int) -> dict[str, Any]:
    """Run ``config`` whole and interrupted after step ``at_step`` then resumed; compare.

    Returns:
        The interrupted run's ``last.pt`` as it was at the interruption.
    """
    task_cls = train.get_task(name)
    whole, run = tmp_path / "whole", tmp_path / "run"
    fit(task_cls, config, whole, device="cpu", progress=False, threads=1)
    try:
        fit(interrupting(task_cls, at_step), config, run, device="cpu", progress=False, threads=1)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError(f"the run ended before step {at_step}: no interruption")
    stopped = load_checkpoint(run / "last.pt", name)
    assert not (run / "model.pt").exists()
    fit(task_cls, config, run, resume=True, device="cpu", progress=False, threads=1)
    same_run(run, whole)
    return stopped


def interrupting(task_cls: type[train.Task], at_step: int) -> type[train.Task]:
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


def same_run(run: Path, whole: Path) -> None:
    """The two runs' last checkpoints hold equal weights, optimizer states and metrics, and so
    do the weights they ship."""
    a, b = load_checkpoint(run / "last.pt"), load_checkpoint(whole / "last.pt")
    for part in ("models", "optimizers"):
        equal(a[part], b[part], part)
    assert a["history"] == b["history"] and (a["epoch"], a["step"]) == (b["epoch"], 0)
    a, b = load_checkpoint(run / "model.pt"), load_checkpoint(whole / "model.pt")
    equal(a["models"], b["models"], "model.pt")
    assert a["history"] == b["history"]


def equal(a: Any, b: Any, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            equal(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            equal(x, y, f"{where}/{i}")
    else:
        assert a == b, where
