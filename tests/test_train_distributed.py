"""Scale-out through torchrun (gloo on CPU): DDP equals one process, resumes, two "nodes".

Three torchrun launches on 127.0.0.1 with a tiny seg configuration (a few steps):

1. 2 processes: both ranks end the first epoch with identical weights, equal (within float
   tolerance) to one process with the same global batch; in the second epoch rank 1 alone gets
   Ctrl-C (SIGINT): both ranks stop at the same step and rank 0 writes that position.
2. the same run resumed by ``torchrun -m tconv train seg --resume``: equal to an uninterrupted
   2-epoch run in one process.
3. ``--nnodes 2``: two local launches (one per "node") meeting at a c10d rendezvous on
   127.0.0.1 train and write one report.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch

from tconv.train import fit, load_checkpoint, make_config
from tconv.train.seg import SegTask

TINY = {
    "upsampler": "transposed_k3",
    "epochs": 1,
    "seed": 3,
    "batch_size": 8,
    "lr": 0.01,
    "width": 4,
    "depth": 1,
    "train_size": 16,
    "train_count": 32,
    "eval_count": 4,
    "eval_height": 17,
    "eval_width": 19,
}
WORKER = Path(__file__).parent / "workers" / "seg_ranks.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
TIMEOUT = 300


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", XDG_CACHE_HOME=str(tmp / "cache"), MPLBACKEND="Agg")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(cmd: list[str], tmp: Path, ok: bool = True) -> None:
    proc = subprocess.run(
        cmd, env=_env(tmp), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert (proc.returncode == 0) == ok, proc.stderr[-3000:]


def _flags(config: dict[str, object]) -> list[str]:
    return [f"--{k.replace('_', '-')}={v}" for k, v in config.items()]


def _single(tmp: Path, name: str, epochs: int) -> dict[str, torch.Tensor]:
    torch.set_num_threads(1)
    config = make_config("seg", **{**TINY, "epochs": epochs})
    fit(SegTask, config, tmp / name, device="cpu", progress=False)
    return load_checkpoint(tmp / name / "model.pt", "seg")["models"]["unet"]


def _close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)


def test_two_processes_equal_one_and_resume(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    out.mkdir()
    rdzv = ["--nnodes=1", "--nproc-per-node=2", "--rdzv-backend=c10d"]
    port = _free_port()
    # 32 composites, a global batch of 8: 4 steps an epoch; rank 1 stops after step 2 of epoch 2
    worker_args = [f"{k}={v}" for k, v in {**TINY, "epochs": 2}.items()]
    _run(
        [
            *TORCHRUN,
            *rdzv,
            f"--rdzv-endpoint=127.0.0.1:{port}",
            str(WORKER),
            str(out),
            *worker_args,
            "stop_at=6",
        ],
        tmp_path,
        ok=False,
    )
    rank0 = torch.load(out / "rank0.pt", weights_only=True)
    rank1 = torch.load(out / "rank1.pt", weights_only=True)
    for k in rank0:  # DDP: the same averaged gradient on both ranks, so the same weights
        assert torch.equal(rank0[k], rank1[k]), k
    # the weights a rank saw before evaluating epoch 1 = one process, global batch 8
    _close(rank0, _single(tmp_path, "one-epoch", 1))
    ckpt = load_checkpoint(out / "last.pt", "seg")
    assert ckpt["provenance"]["world_size"] == 2
    assert (ckpt["epoch"], ckpt["step"], len(ckpt["inside_epoch"])) == (1, 2, 2)

    # resume the interrupted 2-process run through the command line, under torchrun
    port = _free_port()
    cmd = ["-m", "tconv", "train", "seg", "--out", str(out), "--resume", "--epochs", "2"]
    _run(
        [*TORCHRUN, *rdzv, f"--rdzv-endpoint=127.0.0.1:{port}", *cmd, "--no-progress"],
        tmp_path,
    )
    ckpt = load_checkpoint(out / "last.pt", "seg")
    assert ckpt["epoch"] == 2 and len(ckpt["history"]) == 2
    _close(ckpt["models"]["unet"], _single(tmp_path, "two-epochs", 2))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and 0 <= metrics["metrics"]["miou"] <= 1


def test_two_nodes_on_one_machine(tmp_path: Path) -> None:
    out = tmp_path / "nodes"
    port = _free_port()
    common = [
        *TORCHRUN,
        "--nnodes=2",
        "--nproc-per-node=1",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{port}",
        "--rdzv-id=tconv-test",
        "-m",
        "tconv",
        "train",
        "seg",
        "--out",
        str(out),
        "--no-progress",
        *_flags(TINY),
    ]
    env = _env(tmp_path)
    nodes = [
        subprocess.Popen(common, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        results = [node.communicate(timeout=TIMEOUT) for node in nodes]
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
    for node, (_, err) in zip(nodes, results):
        assert node.returncode == 0, err[-3000:]
    ckpt = load_checkpoint(out / "last.pt", "seg")
    assert ckpt["provenance"]["world_size"] == 2
    assert (out / "report.md").is_file() and (out / "metrics.json").is_file()
