"""``tconv bench``: time the layer catalog against torch and the peers."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from ._args import check_output, int_range, require

DESCRIPTION = """\
Time the layer catalog (tconv.bench.CATALOG: U-Net, DCGAN, the seed article's layer, FCN
bilinear, depthwise, ESPCN, HiFi-GAN 1-D, 'same', asymmetric and circular cases) forward and
forward+backward, in float32 and bfloat16, NCHW and channels_last: torch's kernel, tconv's
method="auto" and other methods, tconv.nn, and the peers (JAX, Keras 3 on the torch backend,
onnxruntime; the 'interop' extra). Figures are medians; speeds are medians of per-round ratios
to torch timed in the same run (round-robin, alternating order); GFLOP/s count true
multiply-adds, and '% mm' compares them with a matrix product of the same size in the same run.
"""

EPILOG = """\
examples:
  tconv bench --quick
  tconv bench --layers dcgan-b1 seed-k3 --dtypes float32 --peers
  tconv bench --markdown BENCHMARKS.md --plot docs/figures/bench.png --force   (= make bench)
  tconv bench --device cuda --peers --json gpu.json
"""

#: The most torch threads ``tconv bench --threads`` accepts.
BENCH_MAX_THREADS = max(os.cpu_count() or 1, 1)


def arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``tconv bench`` (its parser comes from the command table)."""
    from ..bench import CATALOG, DEFAULT_METHODS, DTYPES, LAYOUTS, PASSES, PEERS, TCONV_METHODS

    names = [layer.name for layer in CATALOG]
    p.add_argument(
        "--layers",
        nargs="+",
        choices=names,
        default=names,
        metavar="NAME",
        help="catalog layers to time: " + ", ".join(names),
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a quick subset: five layers, float32, NCHW, 3 rounds (unless given)",
    )
    p.add_argument(
        "--passes",
        nargs="+",
        choices=PASSES,
        default=list(PASSES),
        metavar="PASS",
        help="forward, and backward (= forward + backward)",
    )
    p.add_argument(
        "--dtypes",
        nargs="+",
        choices=list(DTYPES),
        default=list(DTYPES),
        metavar="DTYPE",
        help="float32, bfloat16",
    )
    p.add_argument(
        "--layouts",
        nargs="+",
        choices=LAYOUTS,
        default=list(LAYOUTS),
        metavar="LAYOUT",
        help="nchw, channels_last (input memory layout)",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        choices=TCONV_METHODS,
        default=list(DEFAULT_METHODS),
        metavar="METHOD",
        help="tconv methods to time: " + ", ".join(TCONV_METHODS),
    )
    p.add_argument(
        "--peers",
        nargs="*",
        choices=PEERS,
        default=list(PEERS),
        metavar="PEER",
        help="other frameworks to time (none: --peers alone)",
    )
    p.add_argument(
        "--repeat",
        type=int_range(1, 1000),
        default=None,
        metavar="N",
        help="timed rounds per median, 1 to 1000 (default: 7; 3 with --quick)",
    )
    p.add_argument(
        "--threads",
        type=int_range(1, BENCH_MAX_THREADS),
        default=min(2, BENCH_MAX_THREADS),
        metavar="N",
        help=f"torch threads, 1 to {BENCH_MAX_THREADS} (the CPU count)",
    )
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, ...")
    p.add_argument("--json", metavar="PATH", help="also write the rows to PATH as JSON")
    p.add_argument("--markdown", metavar="PATH", help="write the BENCHMARKS.md page to PATH")
    p.add_argument("--plot", metavar="PATH", help="write the speed plot (PNG) to PATH")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..bench import QUICK_LAYERS, get, machine, markdown, plot, run_catalog, summary
    from ..bench.report import format_table

    for path, flag in ((args.json, "--json"), (args.markdown, "--markdown"), (args.plot, "--plot")):
        check_output(path, flag=flag, force=args.force)
    if args.plot:
        require("matplotlib")  # before the long work, not after it
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise ValueError(
            f"--device {args.device} is invalid: valid devices are cpu and cuda[:N]"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device}: CUDA is not available on this machine")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {args.device} is invalid: valid devices are cpu and cuda[:N]")
    torch.set_num_threads(args.threads)
    names = list(args.layers)
    dtypes, layouts = args.dtypes, args.layouts
    repeat = args.repeat or (3 if args.quick else 7)
    if args.quick:
        names = [n for n in names if n in QUICK_LAYERS] or list(QUICK_LAYERS)
        dtypes, layouts = ["float32"], ["nchw"]
    layers = [get(n) for n in names]
    where = machine(args.device)
    print(f"{where}; {len(layers)} layers, {repeat} rounds; speeds are x torch (> 1 faster)")
    bar = _progress_bar()
    rows = run_catalog(
        layers,
        passes=args.passes,
        dtypes=dtypes,
        layouts=layouts,
        methods=args.methods,
        peers=args.peers,
        repeat=repeat,
        device=device,
        progress=bar,
    )
    for pass_ in args.passes:
        for dtype in dtypes:
            for layout in layouts:
                print(f"\n{pass_}, {dtype}, {layout}")
                print(format_table(rows, pass_, dtype, layout))
    print()
    for key, value in summary(rows).items():
        print(f"{key}: {value}")
    command = (
        f"tconv bench --threads {args.threads} --repeat {repeat} --device {args.device} "
        f"--layers {' '.join(names)} --dtypes {' '.join(dtypes)} --layouts {' '.join(layouts)} "
        f"--passes {' '.join(args.passes)} --methods {' '.join(args.methods)} "
        f"--peers {' '.join(args.peers)}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": where, "command": command, "rows": rows}, f, indent=1)
    plot_name = None
    if args.plot:
        plot(rows, args.plot, f"speed relative to torch native, float32 NCHW — {where}")
        if args.markdown:
            base = os.path.dirname(os.path.abspath(args.markdown))
            plot_name = os.path.relpath(os.path.abspath(args.plot), base)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(rows, command, where, plot_name))
    return 0


def _progress_bar() -> Callable[[str], None]:
    """A tqdm bar on stderr when tqdm is installed, else one line per configuration."""
    try:
        from tqdm import tqdm
    except ImportError:
        return lambda label: print(label, file=sys.stderr)
    state: dict[str, Any] = {}

    def update(label: str) -> None:
        done, total = (int(v) for v in label.split(" ", 1)[0].split("/"))
        if "bar" not in state:
            state["bar"] = tqdm(total=total, file=sys.stderr, unit="config", leave=False)
        state["bar"].set_description(label.split(" ", 1)[1])
        state["bar"].update(1)
        if done == total:
            state["bar"].close()

    return update
