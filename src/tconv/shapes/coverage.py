"""Coverage: which output cells the kernel taps reach (:class:`Coverage`); no input reaches
the others, which hold only the bias."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from .formula import _full_length
from .validation import Crop, IntOrTuple, as_tuple


class _Geometry(Protocol):
    """What coverage reads of a :class:`~tconv.shapes.Geometry` (geometry.py imports this
    module for ``Geometry.coverage``; naming the class here would close an import circle)."""

    @property
    def kernel_size(self) -> tuple[int, ...]: ...
    @property
    def stride(self) -> tuple[int, ...]: ...
    @property
    def dilation(self) -> tuple[int, ...]: ...
    @property
    def crop(self) -> Crop: ...
    @property
    def padding_mode(self) -> str: ...
    @property
    def rank(self) -> int: ...
    def output_size(self, input_size: IntOrTuple) -> tuple[int, ...]: ...
    def check_padding_mode(self, input_size: IntOrTuple) -> None: ...


# ---------------------------------------------------------------------------------------------
# coverage: which output cells the kernel taps reach (no input reaches the others)
#
# Input cell n with kernel tap j lands on full-output cell x = n * s + j * d. Taps j and
# j + p, p = s / gcd(s, d), land in the same residue class r = j * d mod s, shifted by
# D = d / gcd(s, d) in q = (x - r) / s; so each of the min(k, p) classes covers M intervals
# [q0 + m * D, q0 + m * D + i - 1] of q, and every count below is arithmetic on those: the
# work grows with min(kernel, stride), never with the input or output length.

_DIM_NAMES = {1: ("positions",), 2: ("rows", "columns"), 3: ("planes", "rows", "columns")}
#: at most this many residue classes per dimension are counted (beyond it, a ValueError)
MAX_COVERAGE_CLASSES = 1_000_000

_Taps = dict[int, tuple[int, int, int, int]]  # residue -> (q0, D, M, i)


def _tap_classes(i: int, k: int, s: int, d: int) -> _Taps:
    """Residue ``r`` -> ``(q0, D, M, i)``: the q intervals ``[q0 + m*D, q0 + m*D + i - 1]``,
    ``0 <= m < M``, whose cells ``r + q * s`` some tap reaches."""
    g = math.gcd(s, d)
    p, step = s // g, d // g
    classes = min(k, p)
    if classes > MAX_COVERAGE_CLASSES:
        raise ValueError(
            f"coverage of kernel_size={k}, stride={s}, dilation={d} is not counted: it takes "
            f"min(kernel, stride / gcd(stride, dilation)) = {classes} steps, above "
            f"{MAX_COVERAGE_CLASSES}"
        )
    taps: _Taps = {}
    for j0 in range(classes):
        q0, r = divmod(j0 * d, s)
        taps[r] = (q0, step, (k - 1 - j0) // p + 1, i)
    return taps


def _covered_q(tap: tuple[int, int, int, int], qa: int, qb: int) -> int:
    """How many q in ``[qa, qb]`` one residue class covers."""
    q0, step, m, i = tap
    if step <= i or m == 1:  # the intervals touch or overlap: one interval
        return max(0, min(qb, q0 + (m - 1) * step + i - 1) - max(qa, q0) + 1)

    def below(t: int) -> int:  # covered t' = q - q0 in [0, t)
        t = min(max(t, 0), m * step)
        return (t // step) * i + min(t % step, i)

    return max(0, below(qb - q0 + 1) - below(qa - q0))


def _covered_between(taps: _Taps, s: int, a: int, b: int) -> int:
    """How many full-output cells in ``[a, b)`` some tap reaches."""
    total = 0
    for r, tap in taps.items():
        qa, qb = -((r - a) // s), -((r - b) // s) - 1  # r + q * s in [a, b)
        total += _covered_q(tap, qa, qb)
    return total


def _is_covered(taps: _Taps, s: int, x: int) -> bool:
    q, r = divmod(x, s)
    return r in taps and _covered_q(taps[r], q, q) == 1


def _fold_source(t: int, n: int, mode: str) -> int:
    """The output cell a cropped cell ``t`` (``t < 0`` or ``t >= n``) is folded onto."""
    if mode == "circular":
        return t % n
    if mode == "reflect":
        return -t if t < 0 else 2 * (n - 1) - t
    return min(max(t, 0), n - 1)  # replicate


@dataclass(frozen=True)
class Coverage:
    """Which output cells of a transposed convolution receive input, for one input size.

    Made by :meth:`Geometry.coverage`. A cell that no kernel tap reaches holds only the bias,
    whatever the weights: a *hole* inside the full output (the taps miss some positions of
    every stride, e.g. kernel 2 with stride 3, or kernel 2 with dilation 2 and stride 2), or a
    cell *beyond* the full output that ``output_padding``, ``output_size`` or a negative crop
    adds as zeros. Per dimension the counts are exact and cost nothing for any size; in N-d a
    cell is uncovered when any of its coordinates is.

    Args:
        geometry: the settings.
        input_size: the input spatial size.
        output_size: the output spatial size.
        uncovered_positions: per dimension, how many output positions no tap reaches.
        beyond: per dimension, how many of those lie before the start and past the end of the
            full output (zero extension); the rest are holes.

    Example:
        >>> from tconv.shapes import Geometry
        >>> c = Geometry.create(2, stride=2, output_padding=1).coverage(16)
        >>> c.output_size, c.uncovered, c.beyond, c.full
        ((33,), 1, ((0, 1),), False)
        >>> print(c.describe())
        1 of 33 output positions receives no input (1 past the end of the full output of 32:
        output_padding, output_size or a negative end crop adds zeros there); it holds only the
        bias
        >>> c2 = Geometry.create((5, 4), stride=(6, 2)).coverage((16, 8))
        >>> c2.uncovered_positions, c2.uncovered, c2.cells
        ((15, 0), 270, 1710)
        >>> Geometry.create(4, stride=2, padding=1, output_padding=1).coverage(16).full
        True
    """

    geometry: _Geometry
    input_size: tuple[int, ...]
    output_size: tuple[int, ...]
    uncovered_positions: tuple[int, ...]
    beyond: tuple[tuple[int, int], ...]

    @property
    def cells(self) -> int:
        """Number of output cells (the product of the output size)."""
        return math.prod(self.output_size)

    @property
    def uncovered(self) -> int:
        """Number of output cells that no input reaches (they hold only the bias)."""
        covered = math.prod(o - u for o, u in zip(self.output_size, self.uncovered_positions))
        return self.cells - covered

    @property
    def fraction(self) -> float:
        """Uncovered cells as a fraction of all output cells (0.0 when every cell is reached)."""
        return self.uncovered / self.cells

    @property
    def full(self) -> bool:
        """True when every output cell receives input."""
        return not any(self.uncovered_positions)

    def counts(self) -> tuple[tuple[int, ...], ...]:
        """Kernel taps per output position, per dimension (memory grows with the output).

        With an all-ones input and an all-ones kernel the output at cell ``(o_1, .., o_n)``
        equals ``counts[0][o_1] * .. * counts[n-1][o_n]`` (the border folding of a non-zeros
        ``padding_mode`` included); a zero marks a cell no input reaches.

        >>> from tconv.shapes import Geometry
        >>> Geometry.create(2, stride=2, dilation=2).coverage(3).counts()
        ((1, 0, 2, 0, 2, 0, 1),)
        >>> Geometry.create(3, padding=1, padding_mode="circular").coverage(3).counts()
        ((3, 3, 3),)
        """
        g = self.geometry
        out = []
        for i, k, s, d, (lo, hi), n in zip(
            self.input_size, g.kernel_size, g.stride, g.dilation, g.crop, self.output_size
        ):
            full_len = _full_length(i, k, s, d)
            full = [0] * full_len
            for j in range(k):
                for x in range(j * d, j * d + i * s, s):
                    full[x] += 1

            def at(x: int, full: list[int] = full) -> int:
                return full[x] if 0 <= x < len(full) else 0

            row = [at(o + lo) for o in range(n)]
            if g.padding_mode != "zeros":
                a, b = max(lo, 0), max(hi, 0)
                for t in (*range(-a, 0), *range(n, n + b)):
                    row[_fold_source(t, n, g.padding_mode)] += at(t + lo)
            out.append(tuple(row))
        return tuple(out)

    def describe(self) -> str:
        """One line saying which cells no input reaches and why ("" when every cell does).

        >>> from tconv.shapes import Geometry
        >>> print(Geometry.create(5, stride=6).coverage(16).describe())
        15 of 95 output positions receive no input (15 holes where no tap lands: the taps of
        kernel 5 reach 5 of every 6 positions at stride 6); they hold only the bias
        >>> g = Geometry.create((2, 2), stride=2, padding=((0, -1), (0, 0)))
        >>> print(g.coverage((4, 4)).describe())
        1 of 9 rows receives no input (1 past the end of the full output of 8: output_padding,
        output_size or a negative end crop adds zeros there): 8 of 72 output cells (11.1%) hold
        only the bias
        >>> print(Geometry.create((2, 2), stride=2, output_padding=1).coverage((4, 4)).describe())
        1 of 9 rows and 1 of 9 columns receive no input (in each, 1 past the end of the full
        output of 8: output_padding, output_size or a negative end crop adds zeros there): 17 of
        81 output cells (21.0%) hold only the bias
        """
        if self.full:
            return ""
        g = self.geometry
        names = _DIM_NAMES[g.rank]
        clauses = []
        for j, (u, (e0, e1)) in enumerate(zip(self.uncovered_positions, self.beyond)):
            if not u:
                continue
            k, s, d, i = g.kernel_size[j], g.stride[j], g.dilation[j], self.input_size[j]
            full_len = _full_length(i, k, s, d)
            reasons = []
            holes = u - e0 - e1
            if holes:
                reached = min(k, s // math.gcd(s, d))  # residue classes the taps reach
                taps = f"kernel {k}" + (f" with dilation {d}" if d > 1 else "")
                plural = "hole" if holes == 1 else "holes"
                if reached < s:
                    reasons.append(
                        f"{holes} {plural} where no tap lands: the taps of {taps} reach {reached} "
                        f"of every {s} positions at stride {s}"
                    )
                else:
                    reasons.append(f"{holes} {plural} near the border that the taps of {taps} skip")
            if e0:
                reasons.append(
                    f"{e0} before the start of the full output of {full_len}: a negative begin "
                    "crop adds zeros there"
                )
            if e1:
                reasons.append(
                    f"{e1} past the end of the full output of {full_len}: output_padding, "
                    "output_size or a negative end crop adds zeros there"
                )
            what = f"output {names[j]}" if g.rank == 1 else names[j]
            clauses.append((f"{u} of {self.output_size[j]} {what}", u, "; ".join(reasons)))
        groups: dict[str, list[tuple[str, int]]] = {}  # dimensions with the same reasons
        for what, u, why in clauses:
            groups.setdefault(why, []).append((what, u))
        parts = []
        for why, dims in groups.items():
            verb = "receives" if len(dims) == 1 and dims[0][1] == 1 else "receive"
            each = "in each, " if len(dims) > 1 else ""
            parts.append(f"{' and '.join(w for w, _ in dims)} {verb} no input ({each}{why})")
        text = "; ".join(parts)
        n = self.uncovered
        if g.rank == 1:
            return text + ("; it holds" if n == 1 else "; they hold") + " only the bias"
        return (
            f"{text}: {n} of {self.cells} output cells ({100 * self.fraction:.1f}%) "
            + ("holds" if n == 1 else "hold")
            + " only the bias"
        )


def _coverage(geom: _Geometry, input_size: IntOrTuple) -> Coverage:
    """:meth:`Geometry.coverage` (validates like :meth:`Geometry.output_size`)."""
    i = as_tuple(input_size, geom.rank, "input_size")
    out = geom.output_size(i)
    geom.check_padding_mode(i)
    per_dim, beyond = [], []
    for ii, k, s, d, (lo, hi), n in zip(
        i, geom.kernel_size, geom.stride, geom.dilation, geom.crop, out
    ):
        taps = _tap_classes(ii, k, s, d)
        full_len = _full_length(ii, k, s, d)
        a, b = lo, full_len - hi  # the output is full[a:b], zeros outside the full output
        e0 = max(0, min(0, b) - a)
        e1 = max(0, b - max(full_len, a))
        inside = max(0, min(b, full_len) - max(a, 0))
        u = inside - _covered_between(taps, s, max(a, 0), min(b, full_len)) + e0 + e1
        if geom.padding_mode != "zeros" and u:  # the cropped border folds back in
            if max(lo, 0) + max(hi, 0) > MAX_COVERAGE_CLASSES:
                raise ValueError(
                    f"coverage of crop {(lo, hi)} with padding_mode={geom.padding_mode!r} is not "
                    f"counted: folding it takes more than {MAX_COVERAGE_CLASSES} steps"
                )
            hit = set()
            for t in (*range(-max(lo, 0), 0), *range(n, n + max(hi, 0))):
                if _is_covered(taps, s, t + lo):
                    hit.add(_fold_source(t, n, geom.padding_mode))
            for o in hit:
                x = o + lo
                if x < 0:
                    e0 -= 1
                elif x >= full_len:
                    e1 -= 1
                elif _is_covered(taps, s, x):
                    continue
                u -= 1
        per_dim.append(u)
        beyond.append((e0, e1))
    return Coverage(geom, i, out, tuple(per_dim), tuple(beyond))


# ---------------------------------------------------------------------------------------------
