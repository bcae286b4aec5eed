"""Time the layer catalog: torch, tconv (auto and the methods), JAX, Keras, onnxruntime.

The same as `tconv bench` (see `tconv bench --help`; `make bench` regenerates BENCHMARKS.md):

    python benchmarks/methods.py --quick                  # a five-layer subset, float32
    python benchmarks/methods.py --layers seed-k3 --peers # one layer, no peers
    python benchmarks/methods.py --json out.json

Prints medians (ms), speeds against torch measured in the same run, GFLOP/s and the share of
the same-run matmul rate.
"""

from __future__ import annotations

import sys

from tconv.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
