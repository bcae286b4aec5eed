"""Training on real images: one trainer (:mod:`tconv.train.trainer`), tasks by name.

Tasks register themselves in :data:`TASKS` by name (``"sr"``; ``"seg"`` and ``"gan"`` live
in their own modules). :func:`run` trains one task into a folder, or, when the task's variant
field (e.g. ``upsampler``) is ``"all"``, each variant into a sub-folder and then one
comparison table.

Heavy dependencies (scikit-image, tqdm, Pillow, matplotlib) are imported inside the functions
that need them.

Example:
    >>> from tconv import train
    >>> "sr" in train.task_names()
    True
    >>> train.get_task("sr").Config().scale
    2
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any

from .trainer import Context, Task, config_from_dict, fit, load_checkpoint

__all__ = [
    "TASKS",
    "Context",
    "Task",
    "config_from_dict",
    "fit",
    "get_task",
    "load_checkpoint",
    "register_task",
    "run",
    "task_names",
]

#: name -> module that defines (and registers) the task; imported on first use.
TASK_MODULES: dict[str, str] = {
    "sr": "tconv.train.sr",
    "seg": "tconv.train.seg",
    "gan": "tconv.train.gan",
}
#: name -> Task subclass, filled by :func:`register_task`.
TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: add ``cls`` to :data:`TASKS` under ``cls.name``.

    Args:
        cls: a :class:`Task` subclass with a ``name``.

    Returns:
        ``cls`` itself.

    Raises:
        ValueError: ``cls.name`` is empty.

    Example:
        >>> register_task(get_task("sr")) is TASKS["sr"]
        True
    """
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    TASKS[cls.name] = cls
    return cls


def task_names() -> list[str]:
    """The names of the tasks whose modules exist (importable).

    Returns:
        The names, in :data:`TASK_MODULES` order.

    Example:
        >>> task_names()[0]
        'sr'
    """
    names = []
    for name, module in TASK_MODULES.items():
        if name in TASKS or importlib.util.find_spec(module) is not None:
            names.append(name)
    return names


def get_task(name: str) -> type[Task]:
    """The Task class registered under ``name``.

    Args:
        name: a task name (``tconv train NAME``).

    Returns:
        The :class:`Task` subclass.

    Raises:
        ValueError: no such task.

    Example:
        >>> get_task("sr").name
        'sr'
    """
    module = TASK_MODULES.get(name)
    if name not in TASKS and module is not None and importlib.util.find_spec(module) is not None:
        importlib.import_module(module)
    if name not in TASKS:
        raise ValueError(f"task={name!r} is invalid: valid tasks are {task_names()}")
    return TASKS[name]


def make_config(name: str, /, quick: bool = False, **overrides: Any) -> Any:
    """The task's config: defaults, then ``QUICK`` (with ``quick``), then ``overrides``.

    ``None`` overrides are ignored (flags the user did not give).

    >>> make_config("sr", quick=True, scale=4).scale
    4
    """
    cls = get_task(name)
    values: dict[str, Any] = {}
    if quick:
        values.update(cls.QUICK)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return config_from_dict(cls.Config, values)


def run(
    name: str,
    config: Any,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    device: str | None = None,
    command: str | None = None,
    progress: bool = True,
    threads: int = 0,
) -> dict[str, Any]:
    """Train task ``name`` with ``config`` into ``out_dir`` (see :func:`tconv.train.fit`).

    Args:
        name: the task's name.
        config: its config (:func:`make_config`).
        out_dir: the run's folder.
        resume: continue from the folder's last checkpoint(s).
        device: the torch device (default: CUDA when available).
        command: the command line to record in the checkpoints.
        progress: show progress bars.
        threads: ``torch.set_num_threads`` for the run; 0 keeps torch's.

    Returns:
        :func:`fit`'s result, or ``{variant: result}`` for ``"all"``.

    When the task has a ``VARIANT_FIELD`` whose value is ``"all"``, every variant in
    ``VARIANTS`` is trained into ``out_dir/<variant>`` and the task's ``compare`` writes one
    table into ``out_dir``; the result is then ``{variant: result}``.

    Example:
        >>> import tempfile
        >>> cfg = make_config("sr", upsampler="bicubic", eval_size=32, epochs=1)
        >>> with tempfile.TemporaryDirectory() as out:
        ...     run("sr", cfg, out, progress=False)["metrics"]["psnr_gain_db"]
        0.0
    """
    cls = get_task(name)
    field = cls.VARIANT_FIELD
    if field is None or getattr(config, field) != "all":
        return fit(
            cls,
            config,
            out_dir,
            resume=resume,
            device=device,
            command=command,
            progress=progress,
            threads=threads,
        )
    results: dict[str, Any] = {}
    for variant in cls.VARIANTS:
        sub = Path(out_dir) / variant
        cfg = dataclasses.replace(config, **{field: variant})
        again = resume and (sub / "last.pt").is_file()
        results[variant] = fit(
            cls,
            cfg,
            sub,
            resume=again,
            device=device,
            command=command,
            progress=progress,
            threads=threads,
        )
    if Context.from_env(device).is_main:
        cls.compare(Path(out_dir), results)
    return results
