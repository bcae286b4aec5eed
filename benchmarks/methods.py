"""Time every tconv method against torch's native kernel, and the cost of padding='same'.

Usage:
    python benchmarks/methods.py              # both tables
    python benchmarks/methods.py --repeat 11  # more repetitions per median
    python benchmarks/methods.py --json out.json

Prints medians (ms) and ratios against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from tconv.bench import LAYERS, bench_methods, bench_same_padding


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7, help="timings per median")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, forward only")
    print("\nLayers:")
    for layer in LAYERS:
        print(f"  {layer.describe()}  ({layer.note})")
    rows = bench_methods(repeat=args.repeat)
    print(f"\n{'layer':<12} {'method':<9} {'median ms':>10} {'x native':>9} {'max rel err':>12}")
    for r in rows:
        if "skipped" in r:
            print(f"{r['layer']:<12} {r['method']:<9} {'skipped: ' + r['skipped']:>32}")
        else:
            print(
                f"{r['layer']:<12} {r['method']:<9} {r['median_ms']:>10.2f} {r['ratio']:>9.2f} "
                f"{r['max_rel_err']:>12.1e}"
            )
    same = bench_same_padding(repeat=max(args.repeat, 41))
    print("\npadding='same' (native method) vs torch of the same output size, 1x64x64x64 -> 64:")
    print(f"{'k':>2} {'s':>2} {'same ms':>9} {'base ms':>9} {'ratio':>6}  baseline")
    for r in same:
        print(
            f"{r['kernel']:>2} {r['stride']:>2} {r['same_ms']:>9.2f} {r['baseline_ms']:>9.2f} "
            f"{r['ratio']:>6.2f}  {r['baseline']}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"methods": rows, "same": same}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
