"""The task interface (:class:`Task`) and the one loop that trains it (:func:`fit`):
PyTorch's examples/imagenet style, DDP-ready through torchrun, stopped by Ctrl-C at a step
boundary and resumed from the checkpoint to the same result.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import gc
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

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
    seed_everything,
    unwrap,
)
from .report import Column, write_comparison

# ---------------------------------------------------------------------------------------------
# the task interface


class Task(abc.ABC):
    """A task is data + model + loss + metrics; the trainer does the rest.

    Subclasses set ``name`` and ``Config`` (a dataclass whose fields, all with defaults and of
    type int, float, str or bool, become the ``tconv train NAME`` flags; a field's
    ``metadata["help"]`` is its help text), and implement :meth:`setup`, :meth:`train_batches`,
    :meth:`train_step`, :meth:`evaluate` and optionally :meth:`report`. ``setup`` must fill
    ``self.models`` and ``self.optimizers`` (and ``self.schedulers``, if any: dicts by name,
    the checkpoint stores their state_dicts) and wrap trainable models with ``self.ctx.wrap``.
    :meth:`train_loader` makes a training DataLoader that the trainer can stop and resume at any
    step. Randomness in a step comes from the global generators (seeded and checkpointed by
    the trainer), so that a run interrupted and resumed equals one that was not.

    Args:
        config: an instance of ``Config``.
        ctx: the :class:`Context` to run in (device, rank; DDP wrapping and samplers).

    Class attributes:
        name: the registry name (``tconv train NAME``).
        Config: the config dataclass; its ``epochs`` and ``seed`` fields are required.
        QUICK: field overrides for ``--quick`` (a few minutes on 2 cores).
        VARIANTS: when the config has a field named by ``VARIANT_FIELD`` whose value is
            ``"all"``, :func:`tconv.train.run` trains each value of VARIANTS into its own
            sub-folder and calls :meth:`compare`.
        COLUMNS: the columns of the comparison table (:class:`tconv.train.report.Column`).
        DESCRIPTION, EXAMPLES: the ``tconv train NAME --help`` text and its examples.
        REQUIRES: the optional modules the task imports (``"skimage"``, ``"matplotlib"``):
            ``tconv train NAME`` checks them before any work.

    Example:
        >>> from tconv.train import get_task
        >>> task = get_task("sr")(get_task("sr").Config(), Context(torch.device("cpu")))
        >>> task.name, task.models
        ('sr', {})
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type] = object
    QUICK: ClassVar[dict[str, Any]] = {}
    VARIANT_FIELD: ClassVar[str | None] = None
    VARIANTS: ClassVar[tuple[str, ...]] = ()
    COLUMNS: ClassVar[tuple[Column, ...]] = ()
    DESCRIPTION: ClassVar[str] = ""
    EXAMPLES: ClassVar[str] = ""
    REQUIRES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any, ctx: Context) -> None:
        self.config = config
        self.ctx = ctx
        self.models: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        self.samplers: list[Any] = []
        #: True when the trainer will load a checkpoint's weights after :meth:`setup`
        #: (``--resume``): setup need not load initial weights of its own.
        self.resuming = False

    @abc.abstractmethod
    def setup(self) -> None:
        """Build data, models (wrapped with ``self.ctx.wrap``) and optimizers."""

    @abc.abstractmethod
    def train_batches(self, epoch: int) -> Iterable[Any]:
        """The batches of one epoch (a DataLoader; its DistributedSampler in ``self.samplers``)."""

    @abc.abstractmethod
    def train_step(self, batch: Any) -> dict[str, float]:
        """Forward, loss, backward and optimizer step(s) on one batch; return scalar metrics."""

    @abc.abstractmethod
    def evaluate(self) -> dict[str, float]:
        """Held-out metrics after an epoch (every rank calls it; rank 0's values are kept)."""

    def report(self, out_dir: Path, result: dict[str, Any]) -> None:  # noqa: B027
        """Write ``report.md`` and figures into ``out_dir`` (rank 0 only). Default: nothing."""

    def provenance(self) -> dict[str, Any]:
        """What the checkpoint records about the data (names of the images used, etc.)."""
        return {}

    @classmethod
    def compare(cls, out_dir: Path, results: dict[str, dict[str, Any]]) -> None:
        """Write the comparison of the VARIANTS runs (``results[variant]`` is each result):
        ``comparison.md`` (the ``COLUMNS`` table) and ``comparison.json``. A task overrides it
        to add a figure or notes (calling :func:`tconv.train.report.write_comparison`)."""
        write_comparison(
            out_dir, cls.name, results, cls.COLUMNS, variant_field=cls.VARIANT_FIELD or "variant"
        )

    def train_loader(
        self, dataset: Any, batch_size: int, seed: int, shuffle: bool = True
    ) -> torch.utils.data.DataLoader[Any]:
        """The training DataLoader of ``dataset``: the global ``batch_size`` split over the
        ranks (:meth:`Context.per_rank_batch`), the examples in the order of
        :meth:`Context.ordered_sampler` (reshuffled per epoch by the trainer), the last
        partial batch dropped. Call it in :meth:`setup`.

        Raises:
            ValueError: ``batch_size`` is not a multiple of the number of processes.
        """
        sampler = self.ctx.ordered_sampler(dataset, seed, shuffle)
        self.samplers.append(sampler)
        return torch.utils.data.DataLoader(
            dataset,
            batch_size=self.ctx.per_rank_batch(batch_size),
            sampler=sampler,
            drop_last=True,
        )

    def module(self, name: str) -> nn.Module:
        """``self.models[name]`` without its DistributedDataParallel wrapper."""
        return unwrap(self.models[name])


# ---------------------------------------------------------------------------------------------
# the loop


def _progress(total: int, desc: str, disable: bool, initial: int = 0) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, file=sys.stderr, disable=disable, leave=False, initial=initial
    )


class StopRequest:
    """Ctrl-C (SIGINT) during a run: remember it, so the loop stops at the next step boundary.

    While active (``with StopRequest() as stop:``), the first SIGINT only sets
    ``stop.requested`` and puts the previous handler back, so a second Ctrl-C stops at once.
    Outside the main thread (where Python cannot install handlers) it does nothing.

    Example:
        >>> import signal
        >>> with StopRequest() as stop:
        ...     signal.raise_signal(signal.SIGINT)
        ...     stop.requested
        True
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._previous)

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, self._handle)
            # None: a handler not installed from Python; put the default back then
            self._previous = signal.SIG_DFL if previous is None else previous
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False


def fit(
    task_cls: type[Task],
    config: Any,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    device: str | None = None,
    command: str | None = None,
    progress: bool = True,
    threads: int = 0,
) -> dict[str, Any]:
    """Train ``task_cls`` with ``config``; checkpoint every epoch, and on Ctrl-C, into ``out_dir``.

    Ctrl-C (SIGINT) stops the run at the next step boundary (every rank at the same step under
    torchrun): ``last.pt`` then holds the position inside the epoch (step, sampler epoch, RNG
    states, optimizers, schedulers, the epoch's running metric sums), and ``KeyboardInterrupt``
    is raised. ``resume=True`` continues from it; the finished run equals one that was never
    interrupted.

    Args:
        task_cls: a :class:`Task` subclass.
        config: an instance of ``task_cls.Config`` (with ``epochs`` and ``seed``).
        out_dir: the run's folder (created); it holds ``last.pt``, ``model.pt``,
            ``metrics.json``, ``report.md`` and figures.
        resume: continue from ``out_dir/last.pt`` (its config is used; ``config.epochs`` may
            raise the number of epochs).
        device: ``"cpu"``, ``"cuda"``, ...; default CUDA when available.
        command: the command line recorded in the checkpoint (default ``sys.argv``).
        progress: show a tqdm bar on stderr (rank 0).
        threads: ``torch.set_num_threads`` for the run (put back after it); 0 keeps torch's.

    Returns:
        ``{"task", "config", "epochs", "metrics", "history", "train_seconds", "out_dir"}``.

    Raises:
        ValueError: ``resume`` without a checkpoint of this task in ``out_dir``, or
            ``threads`` below 0.
        KeyboardInterrupt: Ctrl-C, after ``last.pt`` was written.

    Example:
        >>> import tempfile
        >>> from tconv.train import get_task, make_config
        >>> cfg = make_config("sr", width=2, depth=1, patch=4, batch_size=2,
        ...                   patches_per_epoch=2, eval_size=32, epochs=1)
        >>> with tempfile.TemporaryDirectory() as out:
        ...     result = fit(get_task("sr"), cfg, out, progress=False)
        ...     sorted(p.name for p in Path(out).iterdir())
        ['crops.png', 'last.pt', 'metrics.json', 'model.pt', 'report.md']
    """
    if threads < 0:
        raise ValueError(f"threads={threads} is invalid: it must be >= 0 (0 keeps torch's)")
    out = Path(out_dir)
    ctx = Context.from_env(device)
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    started = _init_distributed(ctx)
    try:
        return _fit(task_cls, config, out, ctx, resume, command, progress)
    finally:
        torch.set_num_threads(before)
        if started:
            # free the run's DDP wrappers (reference cycles included) while the process group
            # and the interpreter are alive: one left to interpreter shutdown can abort the
            # process ("terminate called without an active exception") after a finished run
            gc.collect()
            torch.distributed.destroy_process_group()


@dataclasses.dataclass
class _Position:
    """Where a run is: epochs done, steps done in the next epoch, and what that epoch has
    summed so far (this rank's); the RNG states to put back at the epoch's start and at the
    step (None: nothing to put back)."""

    epoch: int = 0
    step: int = 0
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    train_seconds: float = 0.0
    sums: dict[str, float] = dataclasses.field(default_factory=dict)
    count: int = 0
    epoch_rng: dict[str, Any] | None = None
    step_rng: dict[str, Any] | None = None


def _fit(
    task_cls: type[Task],
    config: Any,
    out: Path,
    ctx: Context,
    resume: bool,
    command: str | None,
    progress: bool,
) -> dict[str, Any]:
    ckpt = _resume_checkpoint(out, task_cls) if resume else None
    if ckpt is not None:
        config = _resumed_config(task_cls, ckpt, config)
    with no_empty_folder_left(out, ctx.is_main):
        return _fit_in(task_cls, config, out, ctx, ckpt, command, progress)


def _fit_in(
    task_cls: type[Task],
    config: Any,
    out: Path,
    ctx: Context,
    ckpt: dict[str, Any] | None,
    command: str | None,
    progress: bool,
) -> dict[str, Any]:
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    ctx.barrier()
    with StopRequest() as stop:
        # a different stream per rank, reproducible from the seed
        seed_everything(int(config.seed) + ctx.rank)
        task = task_cls(config, ctx)
        task.resuming = ckpt is not None
        task.setup()
        pos = _restore(task, ckpt)
        provenance = {
            "command": command if command is not None else " ".join(["tconv", *sys.argv[1:]]),
            "seed": int(config.seed),
            "world_size": ctx.world_size,
            "data": task.provenance(),
        }
        while pos.epoch < int(config.epochs):
            stopped = _train_epoch(task, pos, stop, progress)
            if not stopped:
                _end_epoch(task, pos)
                stopped = ctx.any(stop.requested)
            _save_last(task, pos, provenance, out)
            if stopped:
                _report_stop(task, pos, out)
                raise KeyboardInterrupt
    result = _result(task, pos, provenance, out)
    _finish(task, pos, provenance, result, out)
    return result


@contextlib.contextmanager
def no_empty_folder_left(folder: Path, main: bool = True) -> Iterator[None]:
    """Remove ``folder`` if the block fails (or is interrupted) and leaves it empty, when the
    block's caller created it: a refused setting (a bad photo name, an ``init`` of another
    network) leaves no empty run folder behind; a folder that holds anything is kept.

    Args:
        folder: the run's output folder (not yet created, or created by the caller).
        main: whether this process removes it (rank 0 under torchrun).

    Returns:
        A context manager; the block runs unchanged inside it.

    Raises:
        BaseException: whatever the block raised, re-raised after the folder is removed.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as root:
        ...     run = Path(root) / "run"
        ...     try:
        ...         with no_empty_folder_left(run):
        ...             run.mkdir()
        ...             raise ValueError("refused")
        ...     except ValueError:
        ...         pass
        ...     run.exists()
        False
    """
    created = not folder.exists()
    try:
        yield
    except BaseException:
        if main and created and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _resume_checkpoint(out: Path, task_cls: type[Task]) -> dict[str, Any]:
    path = out / LAST
    if not path.is_file():
        raise ValueError(f"--resume: no checkpoint {str(path)!r} to resume from")
    return load_checkpoint(path, task_cls.name)


def _resumed_config(task_cls: type[Task], ckpt: dict[str, Any], config: Any) -> Any:
    """The checkpoint's config, with ``config``'s epochs when that is more."""
    saved = dict(ckpt["config"])
    # "threads" was a config field of sr before it became the trainer's option
    saved.pop("threads", None)
    saved["epochs"] = max(int(saved["epochs"]), int(config.epochs))
    return config_from_dict(task_cls.Config, saved)


def _restore(task: Task, ckpt: dict[str, Any] | None) -> _Position:
    """Load the checkpoint's weights, optimizer and scheduler states into the task; return the
    position to continue from (the start, without a checkpoint)."""
    if ckpt is None:
        return _Position()
    for name, state in ckpt["models"].items():
        task.module(name).load_state_dict(state)
    for name, state in ckpt["optimizers"].items():
        task.optimizers[name].load_state_dict(state)
    for name, state in ckpt.get("schedulers", {}).items():
        task.schedulers[name].load_state_dict(state)
    rank = task.ctx.rank
    rng = ckpt.get("rng_per_rank", [])
    pos = _Position(
        epoch=int(ckpt["epoch"]),
        step=int(ckpt.get("step", 0)),
        history=list(ckpt["history"]),
        train_seconds=float(ckpt.get("train_seconds", 0.0)),
    )
    if pos.step:
        inside = ckpt["inside_epoch"][rank]
        pos.sums, pos.count = dict(inside["sums"]), int(inside["count"])
        pos.epoch_rng, pos.step_rng = inside["epoch_rng"], rng[rank]
    elif rank < len(rng):
        _set_rng_state(rng[rank])
    return pos


def _train_epoch(task: Task, pos: _Position, stop: StopRequest, progress: bool) -> bool:
    """Train epoch ``pos.epoch`` from step ``pos.step`` on; True when stopped by Ctrl-C (at a
    step boundary, the same step on every rank)."""
    ctx, config = task.ctx, task.config
    if pos.epoch_rng is not None:
        _set_rng_state(pos.epoch_rng)  # the epoch's start, as the interrupted run had it
    else:
        pos.epoch_rng = _rng_state()
    for sampler in task.samplers:
        sampler.set_epoch(pos.epoch)
    for model in task.models.values():
        model.train()
    t0 = time.perf_counter()
    batches = task.train_batches(pos.epoch)
    total = len(batches) if hasattr(batches, "__len__") else 0  # type: ignore[arg-type]
    desc = f"{task.name} epoch {pos.epoch + 1}/{config.epochs}"
    it = iter(batches)
    for _ in range(pos.step):  # the steps done before the checkpoint: same batches, skipped
        next(it)
    if pos.step_rng is not None:
        _set_rng_state(pos.step_rng)
        pos.step_rng = None
    stopped = False
    with _progress(total, desc, not (progress and ctx.is_main), pos.step) as bar:
        for batch in it:
            step = task.train_step(batch)
            for k, v in step.items():
                pos.sums[k] = pos.sums.get(k, 0.0) + float(v)
            pos.count += 1
            pos.step += 1
            bar.update(1)
            if step:
                bar.set_postfix({k: f"{v:.4g}" for k, v in step.items()}, refresh=False)
            if ctx.any(stop.requested):
                stopped = True
                break
    pos.train_seconds += time.perf_counter() - t0
    return stopped


def _end_epoch(task: Task, pos: _Position) -> None:
    """Average the epoch's step metrics over the ranks, evaluate, print; next epoch."""
    ctx = task.ctx
    train_metrics = ctx.mean({f"train_{k}": v / max(pos.count, 1) for k, v in pos.sums.items()})
    for model in task.models.values():
        model.eval()
    with torch.no_grad():
        held_out = task.evaluate()
    metrics = {"epoch": pos.epoch + 1, **train_metrics, **held_out}
    pos.history.append(metrics)
    if ctx.is_main:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float))
        print(f"{task.name} epoch {pos.epoch + 1}/{task.config.epochs}: {shown}", file=sys.stderr)
    pos.epoch, pos.step, pos.sums, pos.count, pos.epoch_rng = pos.epoch + 1, 0, {}, 0, None


def _save_last(task: Task, pos: _Position, provenance: dict[str, Any], out: Path) -> None:
    """Write ``last.pt`` (rank 0) with every rank's RNG state, and inside an epoch every rank's
    position in it; all ranks wait for the write."""
    ctx = task.ctx
    inside = {"sums": pos.sums, "count": pos.count, "epoch_rng": pos.epoch_rng}
    states = ctx.gather({"rng": _rng_state(), "inside": inside})
    if ctx.is_main:
        ckpt = _checkpoint(task, pos, provenance, [s["rng"] for s in states])
        if pos.step:
            ckpt["inside_epoch"] = [s["inside"] for s in states]
        save_atomic(ckpt, out / LAST)
    ctx.barrier()


def _report_stop(task: Task, pos: _Position, out: Path) -> None:
    if task.ctx.is_main:
        where = f"epoch {pos.epoch + 1} step {pos.step}" if pos.step else f"epoch {pos.epoch}"
        print(
            f"stopped after {where}: {out / LAST} holds the run; continue it with --resume",
            file=sys.stderr,
        )


def _result(task: Task, pos: _Position, provenance: dict[str, Any], out: Path) -> dict[str, Any]:
    return {
        "task": task.name,
        "config": config_to_dict(task.config),
        "epochs": int(task.config.epochs),
        "metrics": pos.history[-1] if pos.history else {},
        "history": pos.history,
        "train_seconds": pos.train_seconds,
        "world_size": task.ctx.world_size,
        "out_dir": str(out),
        "command": provenance["command"],
    }


def _finish(
    task: Task, pos: _Position, provenance: dict[str, Any], result: dict[str, Any], out: Path
) -> None:
    """Rank 0 writes ``model.pt`` (no optimizer or RNG state), the task's report and
    ``metrics.json``."""
    if task.ctx.is_main:
        final = _checkpoint(task, pos, provenance)
        del final["optimizers"], final["schedulers"]
        save_atomic(final, out / MODEL)
        task.report(out, result)
        with open(out / "metrics.json", "w") as f:
            json.dump(_jsonable(result), f, indent=1)
    task.ctx.barrier()


def _checkpoint(
    task: Task,
    pos: _Position,
    provenance: dict[str, Any],
    rng: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    ckpt: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "task": task.name,
        "epoch": pos.epoch,
        "step": pos.step,
        "config": config_to_dict(task.config),
        "models": {k: task.module(k).state_dict() for k in task.models},
        "optimizers": {k: o.state_dict() for k, o in task.optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in task.schedulers.items()},
        "history": pos.history,
        "metrics": pos.history[-1] if pos.history else {},
        "train_seconds": pos.train_seconds,
        "provenance": provenance,
    }
    if rng is not None:
        ckpt["rng_per_rank"] = rng
    return ckpt


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
