"""``tconv train TASK``: train a task of :mod:`tconv.train`, one flag per config field."""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._args import Formatter, check_output, float_range, int_range, require

DESCRIPTION = """\
Train a task on real images with one trainer: seeds, a progress bar, a checkpoint every epoch
(DIR/last.pt), --resume, and DIR/metrics.json + DIR/report.md + figures. Ctrl-C stops at the
next step and saves the position in DIR/last.pt; --resume continues it to the same result as
an uninterrupted run. Under torchrun the same command trains with DistributedDataParallel
(rank 0 writes).
"""

EPILOG = """\
examples:
  tconv train sr --scale 2 --upsampler subpixel --out runs/sr-x2
  tconv train sr --upsampler all --quick --out runs/sr-compare
  tconv train sr --out runs/sr-x2 --resume
  torchrun --nproc-per-node 2 -m tconv train sr --quick --out runs/ddp

Run 'tconv train TASK --help' for the task's flags.
"""

#: how a config field of each type is read from its flag (bool fields are --x/--no-x switches)
_FIELD_TYPES: dict[type, Callable[[str], Any]] = {
    int: int_range(),
    float: float_range(),
    str: str,
}


def arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``tconv train`` (its parser comes from the command table)."""
    from .. import train

    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for name in train.task_names():
        try:
            cls = train.get_task(name)
        except ImportError as err:  # that task's error when it is asked for, never another's
            # takes any arguments (no flag character) so that the run says the import error
            t = tasks.add_parser(name, help="(cannot be loaded)", add_help=False, prefix_chars="\0")
            t.add_argument("arguments", nargs="*")
            t.set_defaults(run=_failed(err), parser=t)
            continue
        t = tasks.add_parser(
            name,
            help=cls.DESCRIPTION.split(". ")[0],
            description=cls.DESCRIPTION,
            epilog=cls.EXAMPLES,
            formatter_class=Formatter,
        )
        _add_run_flags(t, cls)
        _add_config_flags(t, cls)


def _failed(err: ImportError) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise err

    return run


def _add_run_flags(t: argparse.ArgumentParser, cls: Any) -> None:
    """The flags of every task: where the run goes and how it runs."""
    t.add_argument("--out", required=True, metavar="DIR", help="the run's folder")
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue from DIR/last.pt (its config; --epochs may raise the epochs)",
    )
    t.add_argument(
        "--quick", action="store_true", help=f"a small run of a few minutes: {cls.QUICK}"
    )
    t.add_argument(
        "--force",
        action="store_true",
        help="train into a DIR that already holds a run (its files are replaced)",
    )
    t.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument(
        "--threads",
        type=int_range(0),
        default=0,
        metavar="N",
        help="torch threads for the run (0 keeps torch's; 1 is often fastest on a busy machine)",
    )


def _add_config_flags(t: argparse.ArgumentParser, cls: Any) -> None:
    """One flag per field of the task's config, read by the field's real type (the resolved
    annotation, with or without ``from __future__ import annotations``); a bool is a
    ``--x``/``--no-x`` switch. Each default is None: not given, the config decides."""
    for f, kind in config_fields(cls.Config):
        quick = f"; --quick: {cls.QUICK[f.name]}" if f.name in cls.QUICK else ""
        flag = "--" + f.name.replace("_", "-")
        text = f"{f.metadata.get('help', f.name)} (default: {f.default}{quick})"
        if kind is bool:
            t.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, help=text)
            continue
        t.add_argument(
            flag,
            dest=f.name,
            type=_FIELD_TYPES[kind],
            default=None,
            metavar=f.name.upper().split("_")[0],
            help=text,
        )


def config_fields(config: type) -> list[tuple[dataclasses.Field[Any], type]]:
    """The fields of a config dataclass with their resolved types (int, float, str or bool).

    Raises:
        TypeError: a field of another type (it could not be given on the command line).

    >>> @dataclasses.dataclass
    ... class C:
    ...     epochs: int = 1
    ...     augment: "bool" = True
    >>> [(f.name, kind.__name__) for f, kind in config_fields(C)]
    [('epochs', 'int'), ('augment', 'bool')]
    """
    hints = typing.get_type_hints(config)
    fields = []
    for f in dataclasses.fields(config):
        kind = hints[f.name]
        if kind is not bool and kind not in _FIELD_TYPES:
            raise TypeError(
                f"{config.__name__}.{f.name}: type {kind!r} is not a command-line type: use "
                "int, float, str or bool"
            )
        fields.append((f, kind))
    return fields


def run(args: argparse.Namespace) -> int:
    from .. import train
    from ..train.trainer import no_empty_folder_left

    cls = train.get_task(args.task)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls.Config)}
    out = Path(args.out)
    if args.resume and values.get("epochs") is None:
        values["epochs"] = _saved_epochs(out, cls)  # the run's own, not the default
    config = train.make_config(args.task, quick=args.quick, **values)
    check_output(out, flag="--out", folder=True)
    if args.resume:
        field = cls.VARIANT_FIELD
        variants = field is not None and getattr(config, field) == "all"
        if not variants and not (out / "last.pt").is_file():
            raise ValueError(f"--resume: {str(out / 'last.pt')!r} does not exist")
    elif not args.force and out.is_dir() and any(out.iterdir()):
        raise ValueError(
            f"--out {str(out)!r} already holds files; pass --resume to continue that run or "
            "--force to train into it anyway"
        )
    # what this task uses (its photos, its figures) and the progress bar: said now, not after
    # the training
    require(*cls.REQUIRES, *([] if args.no_progress else ["tqdm"]), extra="train")
    # the command recorded in checkpoints: every setting spelled out, so it reproduces the run
    flags = [_flag(k, v) for k, v in dataclasses.asdict(config).items()]
    command = " ".join(["tconv train", args.task, *flags, "--out", str(out)])
    with no_empty_folder_left(out, int(os.environ.get("RANK", "0")) == 0):
        out.mkdir(parents=True, exist_ok=True)
        started = time.time()
        result = train.run(
            args.task,
            config,
            out,
            resume=args.resume,
            device=args.device,
            command=command,
            progress=not args.no_progress,
            threads=args.threads,
        )
    if int(os.environ.get("RANK", "0")) == 0:
        if cls.VARIANT_FIELD is not None and getattr(config, cls.VARIANT_FIELD) == "all":
            print(f"wrote {out / 'comparison.md'}")
            for variant, r in result.items():
                print(f"  {variant}: {_summary(r['metrics'])}")
        else:
            print(f"wrote {out}/: {' '.join(_written(out, started))}")
            print(f"  {_summary(result['metrics'])}")
    return 0


def _saved_epochs(out: Any, cls: Any) -> int | None:
    """The epochs of the run in ``out`` (its ``last.pt``, or a variant's), None without one."""
    from ..train import load_checkpoint

    paths = [out / "last.pt", *(out / v / "last.pt" for v in cls.VARIANTS)]
    for path in paths:
        if path.is_file():
            return int(load_checkpoint(path, cls.name)["config"]["epochs"])
    return None


def _written(out: Path, since: float) -> list[str]:
    """The files of ``out`` that this run wrote (modified since ``since``), by name."""
    return sorted(p.name for p in out.iterdir() if p.is_file() and p.stat().st_mtime >= since - 1)


def _summary(metrics: dict[str, Any]) -> str:
    keys = [k for k, v in metrics.items() if isinstance(v, float) and "/" not in k]
    return ", ".join(f"{k}={metrics[k]:.4g}" for k in keys[:8])


def _flag(name: str, value: Any) -> str:
    """A config value as the flag that sets it: ``--epochs 3``, ``--augment``, ``--no-augment``.

    >>> _flag("learning_rate", 0.001), _flag("augment", True), _flag("augment", False)
    ('--learning-rate 0.001', '--augment', '--no-augment')
    """
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return f"--{flag}" if value else f"--no-{flag}"
    return f"--{flag} {value}"
