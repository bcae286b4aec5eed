"""Time every tconv method against torch's native kernel, and the cost of padding='same'.

The same as `tconv bench` (see `tconv bench --help`):

    python benchmarks/methods.py              # both tables
    python benchmarks/methods.py --repeat 15  # more rounds per median
    python benchmarks/methods.py --json out.json

Prints medians (ms) and ratios against a baseline measured in the same run.
"""

from __future__ import annotations

import sys

from tconv.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
