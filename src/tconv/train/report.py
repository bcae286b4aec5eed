"""One writer of a run's ``report.md`` and of a comparison of runs (Markdown and JSON).

A task declares the columns of its comparison table (:class:`Column`: a title, the metric keys
it shows and their format); :func:`write_comparison` writes ``comparison.md`` (that table, one
row per variant) and ``comparison.json`` (every variant's metrics), :func:`write_report` a
run's ``report.md``. Nothing here knows a task; figures are drawn elsewhere
(:mod:`tconv.train.figures`).

Example:
    >>> cols = (Column("mIoU", ("miou",)), Column("train s", ("train_seconds",), "{:.0f}"))
    >>> print(table({"k3": {"miou": 0.61234, "train_seconds": 12.3}}, cols))
    | upsampler | mIoU | train s |
    |---|---|---|
    | k3 | 0.6123 | 12 |
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "Column",
    "config_note",
    "metrics_table",
    "results_table",
    "table",
    "write_comparison",
    "write_report",
]


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a comparison table.

    Args:
        title: the header.
        keys: the metric keys shown in a cell (several: formatted together, e.g.
            ``"{:.2g} ({:.2g})"``).
        fmt: a :meth:`str.format` pattern taking the values of ``keys`` in order.
        divide_by: each value is divided by it first (``1e9``: counts in billions).

    Example:
        >>> Column("GMAC", ("macs",), "{:.2f}", divide_by=1e9).cell({"macs": 5.42e9})
        '5.42'
        >>> Column("ckb.", ("a", "b"), "{:.2g} ({:.2g})").cell({"a": 0.5})
        '-'
    """

    title: str
    keys: tuple[str, ...]
    fmt: str = "{:.4g}"
    divide_by: float = 1.0

    def cell(self, row: dict[str, Any]) -> str:
        """The cell of ``row`` (metrics by key); ``-`` when a value is missing or not a number."""
        values = [row.get(k) for k in self.keys]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return "-"
        if self.divide_by != 1.0:
            values = [v / self.divide_by for v in values]  # type: ignore[operator]
        return self.fmt.format(*values)


def results_table(
    results: dict[str, dict[str, Any]], columns: Sequence[Column], label: str = "upsampler"
) -> str:
    """:func:`table` of runs: one row per :func:`tconv.train.fit` result (its metrics, and its
    ``train_seconds`` where the metrics do not hold them).

    Args:
        results: run name -> :func:`tconv.train.fit`'s result.
        columns: the columns after the name.
        label: the header of the name column.

    Returns:
        The Markdown table, without a trailing newline.

    Example:
            >>> run = {"metrics": {"miou": 0.5}, "train_seconds": 3.2}
        >>> print(results_table({"k3": run}, [Column("train s", ("train_seconds",), "{:.0f}")]))
        | upsampler | train s |
        |---|---|
        | k3 | 3 |
    """
    rows = {
        name: {"train_seconds": r.get("train_seconds"), **r.get("metrics", {})}
        for name, r in results.items()
    }
    return table(rows, columns, label)


def table(
    rows: dict[str, dict[str, Any]], columns: Sequence[Column], label: str = "upsampler"
) -> str:
    """A Markdown table: one row per name in ``rows`` (its metrics), one column per Column.

    Args:
        rows: name -> metrics.
        columns: the columns after the name.
        label: the header of the name column.

    Returns:
        The table, without a trailing newline.

    Example:
        >>> print(table({"k4": {"swd": 238.81}}, [Column("SWD", ("swd",))], label="upsampler"))
        | upsampler | SWD |
        |---|---|
        | k4 | 238.8 |
    """
    lines = [
        f"| {label} | " + " | ".join(c.title for c in columns) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for name, metrics in rows.items():
        lines.append(f"| {name} | " + " | ".join(c.cell(metrics) for c in columns) + " |")
    return "\n".join(lines)


def metrics_table(metrics: dict[str, Any]) -> str:
    """A two-column Markdown table of every float metric (``| metric | value |``, 4 decimals).

    Args:
        metrics: metric name -> value (values that are not floats are left out).

    Returns:
        The table, without a trailing newline.

    Example:
        >>> print(metrics_table({"epoch": 2, "miou": 0.5}))
        | metric | value |
        |---|---|
        | miou | 0.5000 |
    """
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" for k, v in metrics.items() if isinstance(v, float)]
    return "\n".join(lines)


def _markdown(title: str, parts: Sequence[str], figure: tuple[str, str] | None) -> str:
    lines = [f"# {title}", ""]
    for part in parts:
        if part:
            lines += [part, ""]
    if figure is not None:
        alt, name = figure
        lines += [f"![{alt}]({name})", ""]
    return "\n".join(lines)


def write_report(
    out_dir: Path,
    title: str,
    parts: Sequence[str],
    figure: tuple[str, str] | None = None,
) -> Path:
    """Write ``out_dir/report.md``: the title, each part as a paragraph, then the figure.

    Args:
        out_dir: the run's folder.
        title: the heading.
        parts: Markdown paragraphs (tables included); empty ones are left out.
        figure: ``(alt text, file name)`` of a figure in ``out_dir``, shown last.

    Returns:
        The path written.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     print(write_report(Path(d), "seg: k3", ["Held-out: 2.", ""]).read_text())
        # seg: k3
        <BLANKLINE>
        Held-out: 2.
        <BLANKLINE>
    """
    path = Path(out_dir) / "report.md"
    path.write_text(_markdown(title, parts, figure))
    return path


def write_comparison(
    out_dir: Path,
    task: str,
    results: dict[str, dict[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    intro: Sequence[str] = (),
    notes: Sequence[str] = (),
    figure: tuple[str, str] | None = None,
    variant_field: str = "upsampler",
) -> dict[str, Any]:
    """Write ``comparison.md`` and ``comparison.json`` of the runs of a task's variants.

    Args:
        out_dir: the folder of the comparison (the runs are in its sub-folders).
        task: the task's name.
        results: variant -> :func:`tconv.train.fit`'s result.
        columns: the task's columns.
        title: the heading (default ``"<task>: <variant_field> comparison"``).
        intro: paragraphs before the table.
        notes: paragraphs after it.
        figure: ``(alt text, file name)`` of a figure in ``out_dir``, shown last.
        variant_field: the config field the variants differ in (the name column's header).

    Returns:
        What ``comparison.json`` holds: ``{"task", "variants": {variant: {"metrics",
        "train_seconds"}}, "config"}`` (the config without the variant field).

    Example:
        >>> import tempfile
        >>> runs = {"a": {"metrics": {"miou": 0.5}, "train_seconds": 3.0, "config": {"seed": 0}}}
        >>> with tempfile.TemporaryDirectory() as d:
        ...     summary = write_comparison(Path(d), "seg", runs, [Column("mIoU", ("miou",))])
        ...     print((Path(d) / "comparison.md").read_text())
        # seg: upsampler comparison
        <BLANKLINE>
        | upsampler | mIoU |
        |---|---|
        | a | 0.5 |
        <BLANKLINE>
        >>> summary["variants"]["a"]["metrics"]
        {'miou': 0.5}
    """
    out_dir = Path(out_dir)
    text = results_table(results, columns, variant_field)
    heading = title if title is not None else f"{task}: {variant_field} comparison"
    (out_dir / "comparison.md").write_text(_markdown(heading, [*intro, text, *notes], figure))
    first = next(iter(results.values()), {})
    config = {k: v for k, v in first.get("config", {}).items() if k != variant_field}
    summary = {
        "task": task,
        "variants": {
            v: {"metrics": r["metrics"], "train_seconds": r.get("train_seconds")}
            for v, r in results.items()
        },
        "config": config,
    }
    with open(out_dir / "comparison.json", "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def config_note(results: dict[str, dict[str, Any]], variant_field: str = "upsampler") -> str:
    """The line that gives a comparison's shared config, for :func:`write_comparison`'s notes.

    Args:
        results: variant -> :func:`tconv.train.fit`'s result (the first one's config is
            shown).
        variant_field: the config field the variants differ in (left out).

    Returns:
        ``Config (besides the <field>): `{...}`, N process(es).``

    Example:
        >>> config_note({"a": {"config": {"upsampler": "a", "seed": 0}, "world_size": 2}})
        'Config (besides the upsampler): `{"seed": 0}`, 2 process(es).'
    """
    first = next(iter(results.values()))
    config = {k: v for k, v in first["config"].items() if k != variant_field}
    return (
        f"Config (besides the {variant_field}): `{json.dumps(config)}`, "
        f"{first.get('world_size', 1)} process(es)."
    )
