"""Timing two computations against each other on a machine whose speed drifts.

A ratio of two times read in separate runs mixes the two costs with whatever else the machine
did meanwhile (a shared machine's speed moves by 2-5x between minutes). :func:`paired_timings`
times each function back to back with a baseline, the order of the two alternating, each
function's pairs in one block (as a training loop calls a layer), and
:func:`paired_speed` turns the pairs into one ratio that favours neither order: the second call
of a pair finds the caches warm with the first one's tensors, worth 10-20% on small layers.
``method="auto"`` (:mod:`tconv.methods.auto`) and the benchmark (:mod:`tconv.bench`) both
measure this way.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable, Sequence

__all__ = ["paired_speed", "paired_timings"]


def paired_timings(
    base: Callable[[], object],
    fns: Sequence[Callable[[], object]],
    repeat: int,
    warmup: int = 2,
    sync: Callable[[], None] = lambda: None,
    seed: int = 0,
    blocks: bool = True,
) -> list[list[tuple[float, float, bool]]]:
    """``repeat`` pairs ``(time of base, time of fn, base ran first)`` per function, each pair
    timed back to back.

    Which of the two goes first alternates between rounds. With ``blocks`` (the default) each
    function's pairs run one after another, after its own warm-up, the functions in a random
    order (fixed by ``seed``): every pair then meets the caches and the memory allocator as
    a training loop leaves them for that layer. Without, the rounds interleave all functions
    (a random order per round), so one function's allocations disturb the next one's pair;
    on this project's CPU that turned several 1.25-1.45x wins into 0.7x readings.

    The second call of a pair finds the caches warm with the first one's tensors (small layers
    run 10-20% faster so), which :func:`paired_speed` cancels by weighing both orders equally.

    >>> t = paired_timings(lambda: None, [lambda: sum(range(100))] * 2, repeat=3)
    >>> [len(v) for v in t], all(a > 0 and b > 0 for v in t for a, b, _ in v)
    ([3, 3], True)
    """
    rng = random.Random(seed)
    pairs: list[list[tuple[float, float, bool]]] = [[] for _ in fns]
    order = list(range(len(fns)))

    def clock(fn: Callable[[], object]) -> float:
        t0 = time.perf_counter()
        fn()
        sync()
        return time.perf_counter() - t0

    def pair(r: int, j: int) -> None:
        first = (r + j) % 2 == 0
        if first:
            tb = clock(base)
            tc = clock(fns[j])
        else:
            tc = clock(fns[j])
            tb = clock(base)
        pairs[j].append((tb, tc, first))

    def warm(*group: Callable[[], object]) -> None:
        for fn in group:
            for _ in range(warmup):
                fn()
        sync()

    if blocks:
        rng.shuffle(order)
        for j in order:
            warm(base, fns[j])
            for r in range(repeat):
                pair(r, j)
        return pairs
    warm(base, *fns)
    for r in range(repeat):
        rng.shuffle(order)
        for j in order:
            pair(r, j)
    return pairs


def paired_speed(pairs: Sequence[tuple[float, float, bool]]) -> float:
    """``time(base) / time(fn)`` from :func:`paired_timings`: the geometric mean of the median
    ratio with base first and the median ratio with fn first (either alone when the other
    order never ran), so going second, into warm caches, favours neither.

    >>> paired_speed([(2.0, 1.0, True), (1.0, 1.0, False)])  # sqrt(2 * 1)
    1.4142135623730951
    """
    by_order = [[b / c for b, c, first in pairs if first == order] for order in (True, False)]
    medians = [statistics.median(v) for v in by_order if v]
    return math.sqrt(medians[0] * medians[1]) if len(medians) == 2 else medians[0]
