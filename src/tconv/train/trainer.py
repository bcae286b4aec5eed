"""One trainer for every task: a plain loop, DDP-ready through torchrun.

The loop is PyTorch's examples/imagenet style: seed, build the task, then for each epoch set
the sampler's epoch, run ``task.train_step`` on every batch (the task does its own forward,
backward and optimizer steps, so a GAN with two models and two optimizers fits), average the
step metrics across ranks, evaluate, and write a checkpoint. Rank 0 alone writes files.

Its rooms: :mod:`~tconv.train.context` (device, ranks under torchrun, seeds),
:mod:`~tconv.train.checkpoint` (the files and their format) and :mod:`~tconv.train.loop` (the
Task interface and :func:`fit`); this module gathers the names tasks and the command line use.

Example:
    >>> from tconv.train import trainer
    >>> trainer.Context.from_env().world_size
    1
"""

from __future__ import annotations

from .checkpoint import CHECKPOINT_FORMAT, config_from_dict, load_checkpoint, save_atomic
from .context import Context
from .loop import Task, fit, no_empty_folder_left

__all__ = [
    "CHECKPOINT_FORMAT",
    "Context",
    "Task",
    "config_from_dict",
    "fit",
    "load_checkpoint",
    "no_empty_folder_left",
    "save_atomic",
]
