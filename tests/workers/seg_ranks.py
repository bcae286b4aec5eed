"""torchrun worker of tests/test_train_distributed.py: the seg task, saving every rank's weights.

Run as ``torchrun ... tests/workers/seg_ranks.py OUT KEY=VALUE ...``: trains ``tconv.train``'s
seg task (the same trainer as ``tconv train seg``) into OUT and, after every epoch, writes the
weights each rank holds to ``OUT/rank<R>.pt`` (the trainer itself only writes from rank 0).
With ``stop_at=K``, rank 1 alone sends itself SIGINT (Ctrl-C) after its K-th training step:
every rank stops at that step, rank 0 writes the checkpoint, and the worker exits with 130.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> None:
    import torch

    from tconv.train import fit, make_config
    from tconv.train.seg import SegTask

    out = Path(argv[0])
    values: dict[str, Any] = {}
    stop_at = 0
    for item in argv[1:]:
        if item.startswith("stop_at="):
            stop_at = int(item.split("=")[1])
            continue
        key, value = item.split("=")
        values[key] = value if key == "upsampler" else float(value) if key == "lr" else int(value)

    class RankWeights(SegTask):  # same name "seg": `tconv train seg --resume` accepts its runs
        steps = 0

        def train_step(self, batch: Any) -> dict[str, float]:
            out = super().train_step(batch)
            RankWeights.steps += 1
            if self.ctx.rank == 1 and RankWeights.steps == stop_at:
                signal.raise_signal(signal.SIGINT)
            return out

        def evaluate(self) -> dict[str, float]:
            state = self.module("unet").state_dict()
            torch.save(state, out / f"rank{self.ctx.rank}.pt")
            return super().evaluate()

    try:
        fit(RankWeights, make_config("seg", **values), out, device="cpu", progress=False)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main(sys.argv[1:])
