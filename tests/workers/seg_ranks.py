"""torchrun worker of tests/test_train_distributed.py: the seg task, saving every rank's weights.

Run as ``torchrun ... tests/workers/seg_ranks.py OUT KEY=VALUE ...``: trains ``tconv.train``'s
seg task (the same trainer as ``tconv train seg``) into OUT and, after every epoch, writes the
weights each rank holds to ``OUT/rank<R>.pt`` (the trainer itself only writes from rank 0).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> None:
    import torch

    from tconv.train import fit, make_config
    from tconv.train.seg import SegTask

    out = Path(argv[0])
    values: dict[str, Any] = {}
    for item in argv[1:]:
        key, value = item.split("=")
        values[key] = value if key == "upsampler" else float(value) if key == "lr" else int(value)

    class RankWeights(SegTask):  # same name "seg": `tconv train seg --resume` accepts its runs
        def evaluate(self) -> dict[str, float]:
            state = self.module("unet").state_dict()
            torch.save(state, out / f"rank{self.ctx.rank}.pt")
            return super().evaluate()

    fit(RankWeights, make_config("seg", **values), out, device="cpu", progress=False)


if __name__ == "__main__":
    main(sys.argv[1:])
