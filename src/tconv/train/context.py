"""Where a task runs: the device, the rank and the world size under torchrun
(:class:`Context`, the only place that knows about DistributedDataParallel), the process
group, and the seeds and random-generator states a checkpoint stores.

Example:
    >>> Context.from_env().world_size
    1
"""

from __future__ import annotations

import dataclasses
import os
import random
from typing import Any

import numpy as np
import torch
from torch import nn

# ---------------------------------------------------------------------------------------------
# the distributed context


@dataclasses.dataclass
class Context:
    """Where a task runs: device, rank and world size; the only place that knows about DDP.

    Args:
        device: the torch device of this process.
        rank: this process's rank (torchrun's ``RANK``; 0 alone).
        world_size: the number of processes (``WORLD_SIZE``; 1 alone).
        local_rank: the rank on this machine (``LOCAL_RANK``; picks the CUDA device).
        distributed: whether a process group is in use.

    Example:
        >>> ctx = Context(torch.device("cpu"))
        >>> ctx.is_main, ctx.mean({"loss": 0.5}), ctx.sampler(range(4)) is None
        (True, {'loss': 0.5}, True)
    """

    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    distributed: bool = False

    @classmethod
    def from_env(cls, device: str | None = None) -> Context:
        """Read torchrun's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``; no process group is started.

        >>> Context.from_env("cpu").device
        device(type='cpu')
        """
        rank = int(os.environ.get("RANK", "0"))
        world = int(os.environ.get("WORLD_SIZE", "1"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device is None:
            device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device("cuda", local)
        return cls(dev, rank, world, local, world > 1)

    @property
    def is_main(self) -> bool:
        """True on rank 0, the rank that writes files and prints."""
        return self.rank == 0

    def wrap(self, module: nn.Module) -> nn.Module:
        """Move ``module`` to the device; wrap it in DistributedDataParallel when distributed.

        A module without trainable parameters is only moved.
        """
        module = module.to(self.device)
        if not self.distributed or not any(p.requires_grad for p in module.parameters()):
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def sampler(
        self, dataset: Any, shuffle: bool = True, seed: int = 0
    ) -> torch.utils.data.Sampler[int] | None:
        """A DistributedSampler when distributed (the trainer calls ``set_epoch``); else None."""
        if not self.distributed:
            return None
        return torch.utils.data.DistributedSampler(
            dataset, num_replicas=self.world_size, rank=self.rank, shuffle=shuffle, seed=seed
        )

    def per_rank_batch(self, batch_size: int) -> int:
        """This rank's share of the global ``batch_size`` (the same share on every rank).

        Raises:
            ValueError: ``batch_size`` is not a multiple of the number of processes.

        >>> Context(torch.device("cpu"), world_size=2, distributed=True).per_rank_batch(8)
        4
        """
        if batch_size % self.world_size:
            raise ValueError(
                f"batch_size={batch_size} is invalid for {self.world_size} processes: the "
                "global batch must be a multiple of the number of processes"
            )
        return batch_size // self.world_size

    def ordered_sampler(
        self, dataset: Any, seed: int, shuffle: bool = True
    ) -> torch.utils.data.DistributedSampler[int]:
        """The run's DistributedSampler; alone, a one-replica one, so that one process visits
        the examples in the same order as DDP does (the trainer calls ``set_epoch``).

        >>> sampler = Context(torch.device("cpu")).ordered_sampler(range(4), seed=0)
        >>> sampler.set_epoch(0); sorted(sampler)
        [0, 1, 2, 3]
        """
        sampler = self.sampler(dataset, shuffle=shuffle, seed=seed)
        if sampler is None:
            sampler = torch.utils.data.DistributedSampler(
                dataset, num_replicas=1, rank=0, shuffle=shuffle, seed=seed
            )
        assert isinstance(sampler, torch.utils.data.DistributedSampler)
        return sampler

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any rank (all_reduce MAX); ``flag`` alone.

        >>> Context(torch.device("cpu")).any(True)
        True
        """
        if not self.distributed:
            return bool(flag)
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item() > 0)

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value`` (all_gather_object), in rank order; ``[value]`` alone."""
        if not self.distributed:
            return [value]
        values: list[Any] = [None] * self.world_size
        torch.distributed.all_gather_object(values, value)
        return values

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Average each value over the ranks (all_reduce SUM / world size); identity alone."""
        if not self.distributed or not values:
            return dict(values)
        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
        t = t.to(self.device)
        torch.distributed.all_reduce(t)
        return {k: float(v) / self.world_size for k, v in zip(keys, t.tolist())}

    def barrier(self) -> None:
        """Wait for every rank (nothing to do alone)."""
        if self.distributed:
            if self.device.type == "cuda":
                torch.distributed.barrier(device_ids=[self.device.index or 0])
            else:
                torch.distributed.barrier()


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (the module itself otherwise)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def _rng_state() -> dict[str, Any]:
    np_state: Any = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [
            str(np_state[0]),
            torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
        "python": _to_lists(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _to_lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_lists(v) for v in value]
    return value


def _to_tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_to_tuples(v) for v in value)
    return value


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    random.setstate(_to_tuples(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _init_distributed(ctx: Context) -> bool:
    """Start the process group under torchrun; return whether this call started it."""
    if not ctx.distributed or torch.distributed.is_initialized():
        return False
    backend = "nccl" if ctx.device.type == "cuda" else "gloo"
    if ctx.device.type == "cuda":
        torch.cuda.set_device(ctx.device)
    torch.distributed.init_process_group(backend=backend)
    return True
