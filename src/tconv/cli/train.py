"""``tconv train TASK``: train a task of :mod:`tconv.train`, one flag per config field."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._args import Formatter, Subparsers, check_output, float_range, int_range, require

_TRAIN_DESCRIPTION = """\
Train a task on real images with one trainer: seeds, a progress bar, a checkpoint every epoch
(DIR/last.pt), --resume, and DIR/metrics.json + DIR/report.md + figures. Ctrl-C stops at the
next step and saves the position in DIR/last.pt; --resume continues it to the same result as
an uninterrupted run. Under torchrun the same command trains with DistributedDataParallel
(rank 0 writes).
"""

_TRAIN_EPILOG = """\
examples:
  tconv train sr --scale 2 --upsampler subpixel --out runs/sr-x2
  tconv train sr --upsampler all --quick --out runs/sr-compare
  tconv train sr --out runs/sr-x2 --resume
  torchrun --nproc-per-node 2 -m tconv train sr --quick --out runs/ddp

Run 'tconv train TASK --help' for the task's flags.
"""

#: how a config field of each type is read from its flag (bool fields are --x/--no-x switches)
_FIELD_TYPES: dict[str, Callable[[str], Any]] = {
    "int": int_range(),
    "float": float_range(),
    "str": str,
}


def add(subparsers: Subparsers) -> argparse.ArgumentParser:
    from .. import train

    p = subparsers.add_parser(
        "train",
        help="train a task (sr, ...) on real images; checkpoints, --resume, reports",
        description=_TRAIN_DESCRIPTION,
        epilog=_TRAIN_EPILOG,
        formatter_class=Formatter,
    )
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for name in train.task_names():
        cls = train.get_task(name)
        t = tasks.add_parser(
            name,
            help=cls.DESCRIPTION.split(". ")[0],
            description=cls.DESCRIPTION,
            epilog=cls.EXAMPLES,
            formatter_class=Formatter,
        )
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
            help="torch threads for the run (0 keeps torch's; 1 is often fastest on a busy "
            "machine)",
        )
        for f in dataclasses.fields(cls.Config):
            quick = f"; --quick: {cls.QUICK[f.name]}" if f.name in cls.QUICK else ""
            flag = "--" + f.name.replace("_", "-")
            text = f"{f.metadata.get('help', f.name)} (default: {f.default}{quick})"
            if str(f.type) == "bool":  # --x / --no-x; None: not given (the config decides)
                t.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, help=text)
                continue
            t.add_argument(
                flag,
                dest=f.name,
                type=_FIELD_TYPES.get(str(f.type), str),
                default=None,
                metavar=f.name.upper().split("_")[0],
                help=text,
                # a repeatable flag (a tuple field): each use adds one value
                action="append" if f.metadata.get("repeat") else "store",
            )
    return p


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
    # what every task uses (photos, the progress bar, the report's figures): said now, not
    # after the training
    require("skimage", "tqdm", "PIL", "matplotlib", extra="train")
    # the command recorded in checkpoints: every setting spelled out, so it reproduces the run
    flags = [_flag(k, v) for k, v in dataclasses.asdict(config).items()]
    command = " ".join(["tconv train", args.task, *flags, "--out", str(out)])
    with no_empty_folder_left(out, int(os.environ.get("RANK", "0")) == 0):
        out.mkdir(parents=True, exist_ok=True)
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
            print(f"wrote {out}/: last.pt model.pt metrics.json report.md")
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
