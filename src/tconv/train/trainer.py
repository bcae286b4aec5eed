"""One trainer for every task: a plain loop, DDP-ready through torchrun.

Its rooms: :mod:`~tconv.train.context` (device, ranks, seeds), :mod:`~tconv.train.checkpoint`
(the files) and :mod:`~tconv.train.loop` (the Task interface and :func:`fit`); this module
gathers their names.

The loop is PyTorch's examples/imagenet style: seed, build the task, then for each epoch set
the sampler's epoch, run ``task.train_step`` on every batch (the task does its own forward,
backward and optimizer steps, so a GAN with two models and two optimizers fits), average the
step metrics across ranks, evaluate, and write a checkpoint. Rank 0 alone writes files.

Scale-out is PyTorch's own: under ``torchrun`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` in the
environment) :func:`fit` calls ``init_process_group`` (gloo on CPU, nccl on CUDA), the task
wraps its models with :meth:`Context.wrap` (``DistributedDataParallel``) and its loaders use
:meth:`Context.sampler` (``DistributedSampler``); metrics are ``all_reduce``d.

A checkpoint (``DIR/last.pt``, replaced atomically every epoch) is a plain dict of tensors,
numbers, strings, lists and dicts, so ``torch.load(path, weights_only=True)`` reads it:

    {"format": "tconv-checkpoint", "version": 1, "task": name, "epoch": n (epochs done),
     "config": {...}, "models": {name: state_dict}, "optimizers": {name: state_dict},
     "history": [per-epoch metrics], "metrics": last epoch's metrics, "rng": {...},
     "provenance": {"command": ..., "seed": ..., "data": ...}}

At the end :func:`fit` writes ``DIR/model.pt`` (the same without optimizers and RNG state:
the weights to ship), ``DIR/metrics.json`` and lets the task write ``DIR/report.md`` and its
figures.

Example:
    >>> from tconv.train import trainer
    >>> trainer.Context.from_env().world_size
    1
"""

# ruff: noqa: F401  (the rooms' names, gathered: `from tconv.train.trainer import X` for each)
from __future__ import annotations

from .checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    LAST,
    MODEL,
    config_from_dict,
    config_to_dict,
    load_checkpoint,
    save_atomic,
)
from .context import (
    Context,
    _init_distributed,
    _rng_state,
    _set_rng_state,
    _to_lists,
    _to_tuples,
    seed_everything,
    unwrap,
)
from .loop import (
    StopRequest,
    Task,
    _checkpoint,
    _end_epoch,
    _finish,
    _fit,
    _fit_in,
    _jsonable,
    _Position,
    _progress,
    _report_stop,
    _restore,
    _result,
    _resume_checkpoint,
    _resumed_config,
    _save_last,
    _train_epoch,
    fit,
    no_empty_folder_left,
)

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
