"""The catalog rows as text tables, a Markdown page and a plot (matplotlib, imported lazily)."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .. import methods as _methods
from .catalog import CATALOG, DEPTHWISE_LAYERS
from .runner import DEFAULT_METHODS, TCONV_METHODS, geometric_mean

__all__ = ["format_table", "machine", "markdown", "plot", "summary"]

#: The peers' colours in the plot (tconv's methods bring theirs from the registry).
_PEER_COLORS = {"jax": "#2ca02c", "keras": "#ff7f0e", "onnxruntime": "#8c564b"}
# the tables' columns after auto's: tconv's other methods, the layer classes, the peers
_PEER_ORDER = (
    *(m for m in TCONV_METHODS if m != "auto"),
    "torch.nn",
    "tconv.nn",
    *_PEER_COLORS,
)


def machine(device: str = "cpu") -> str:
    """One line naming the machine the run measured.

    >>> "torch" in machine()
    True
    """
    if device.startswith("cuda") and torch.cuda.is_available():
        where = torch.cuda.get_device_name(torch.device(device))
    else:
        where = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    where = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
    n = torch.get_num_threads()
    return f"{where}, torch {torch.__version__}, {n} thread{'s' if n > 1 else ''}"


def _index(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str, str, str], dict[str, Any]]:
    return {(r["layer"], r["pass_"], r["dtype"], r["layout"], r["contender"]): r for r in rows}


def _cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return ""
    if "skipped" in r:
        return "n/a"
    return f"{r['speed']:.2f}"


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The speed targets, computed from the rows: auto's speed (min, geometric means),
    the share of the matmul rate, tconv.nn's speed, how often tconv beats JAX and Keras."""
    idx = _index(rows)
    autos = [r for r in rows if r["contender"] == "auto" and "skipped" not in r]
    res: dict[str, Any] = {}
    if not autos:
        return res
    worst = min(autos, key=lambda r: r["speed"])
    res["auto_min"] = (
        worst["speed"],
        f"{worst['layer']} {worst['pass_']} {worst['dtype']} {worst['layout']}",
    )
    for pass_ in ("forward", "backward"):
        f32 = [
            r["speed"]
            for r in autos
            if r["dtype"] == "float32" and r["layout"] == "nchw" and r["pass_"] == pass_
        ]
        dw = [
            r["speed"]
            for r in autos
            if r["layer"] in DEPTHWISE_LAYERS
            and r["pass_"] == pass_
            and r["dtype"] == "float32"
            and r["layout"] == "nchw"
        ]
        if f32:
            res[f"auto_geomean_{pass_}"] = geometric_mean(f32)
        if dw:
            res[f"auto_depthwise_geomean_{pass_}"] = geometric_mean(dw)
        copies = [
            (r["copy_share"], r["layer"])
            for r in autos
            if r["layer"] in DEPTHWISE_LAYERS
            and r["pass_"] == pass_
            and r["dtype"] == "float32"
            and r["layout"] == "nchw"
        ]
        if copies:
            res[f"auto_depthwise_copy_min_{pass_}"] = min(copies)
    aa = [r["aa_speed"] for r in rows if r["contender"] == "torch" and "aa_speed" in r]
    if aa:
        res["aa_range"] = (min(aa), max(aa))
    dense = {lay.name for lay in CATALOG if lay.groups == 1}
    bound = [
        r
        for r in autos
        if r["layer"] in dense and r["dtype"] == "float32" and r["layout"] == "nchw"
    ]
    if bound:
        low = [f"{r['layer']} {r['pass_']}" for r in bound if r["matmul_share"] < 0.6]
        res["roofline"] = (len(bound) - len(low), len(bound), low)
    mods = []  # tconv.nn over torch.nn: both paired with torch's function in the same run
    for r in rows:
        if r["contender"] != "tconv.nn" or "skipped" in r:
            continue
        t = idx.get((r["layer"], r["pass_"], r["dtype"], r["layout"], "torch.nn"))
        if t is not None and "skipped" not in t:
            mods.append((r["speed"] / t["speed"], f"{r['layer']} {r['pass_']}"))
    if mods:
        res["tconv_nn_min"] = min(mods)
    for peer in ("jax", "keras"):
        wins = total = 0
        for r in autos:
            p = idx.get((r["layer"], r["pass_"], r["dtype"], r["layout"], peer))
            if p is None or "skipped" in p:
                continue
            total += 1
            wins += r["median_ms"] < p["median_ms"]
        if total:
            res[f"beats_{peer}"] = (wins, total)
    return res


def format_table(rows: Sequence[dict[str, Any]], pass_: str, dtype: str, layout: str) -> str:
    """One configuration as a Markdown table: torch's median, auto's speed and choice, GFLOP/s
    and shares of the matmul and memory-copy rates for torch and auto, then every other
    contender's speed. torch's figures come from the calls paired with auto (auto's are
    torch's times its speed), so the row agrees with itself."""
    idx = _index(rows)
    layers = [lay.name for lay in CATALOG if (lay.name, pass_, dtype, layout, "torch") in idx]
    others = [c for c in _PEER_ORDER if any((n, pass_, dtype, layout, c) in idx for n in layers)]
    head = [
        "layer",
        "torch ms",
        "A/A",
        "torch GFLOP/s",
        "torch % mm",
        "torch % copy",
        "auto speed",
        "auto GFLOP/s",
        "auto % mm",
        "auto % copy",
        "auto runs",
        *others,
        "auto MB",
        "torch MB",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in layers:
        t = idx[(name, pass_, dtype, layout, "torch")]
        a = idx.get((name, pass_, dtype, layout, "auto"))
        if a and "skipped" in a:
            a = None
        base = a or t  # torch's figures from the pairs with auto: one row, one set of calls
        cells = [
            name,
            f"{base['base_ms']:.2f}",
            f"{t['aa_speed']:.2f}" if "aa_speed" in t else "",
            f"{base['base_gflops']:.1f}",
            f"{100 * base['base_matmul_share']:.0f}%",
            f"{100 * base['base_copy_share']:.0f}%",
        ]
        if a:
            cells += [
                f"**{a['speed']:.2f}**",
                f"{a['gflops']:.1f}",
                f"{100 * a['matmul_share']:.0f}%",
                f"{100 * a['copy_share']:.0f}%",
                f"`{a.get('choice', '')}`",
            ]
        else:
            cells += ["", "", "", "", ""]
        cells += [_cell(idx.get((name, pass_, dtype, layout, c))) for c in others]
        mem = [
            idx.get((name, pass_, dtype, layout, c), {}).get("memory_mb") for c in ("auto", "torch")
        ]
        cells += ["" if m is None else f"{m:.1f}" for m in mem]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


_PLOT_FLOOR = 0.02


def plot(rows: Sequence[dict[str, Any]], path: str | Path, title: str) -> None:
    """Speed relative to torch (log scale) per layer: auto, the methods and the peers, float32
    NCHW, forward and forward+backward side by side; the machine in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = _index(rows)
    colors = {m: _methods.spec(m).color for m in DEFAULT_METHODS} | _PEER_COLORS
    contenders = list(colors)
    layers = [
        lay.name for lay in CATALOG if (lay.name, "forward", "float32", "nchw", "torch") in idx
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.42 * len(layers) + 1.8), sharey=True)
    for ax, pass_ in zip(axes, ("forward", "backward"), strict=True):
        height = 0.8 / len(contenders)
        for j, c in enumerate(contenders):
            ys, xs = [], []
            for i, name in enumerate(layers):
                r = idx.get((name, pass_, "float32", "nchw", c))
                if r and "skipped" not in r:
                    ys.append(i + (j - len(contenders) / 2) * height)
                    xs.append(max(r["speed"], _PLOT_FLOOR))  # slower ones end at the edge
            ax.barh(ys, xs, height=height, color=colors[c], label=c, left=0)
        ax.axvline(1.0, color="black", lw=1)
        ax.set_xscale("log")
        ax.set_xlim(_PLOT_FLOOR, None)
        ax.set_yticks(range(len(layers)))
        ax.set_yticklabels(layers)
        ax.invert_yaxis()
        ax.set_xlabel("speed relative to torch native (>1 = faster; log scale)")
        ax.set_title("forward" if pass_ == "forward" else "forward + backward")
        ax.grid(axis="x", which="both", alpha=0.3)
    from matplotlib.patches import Patch

    handles = [Patch(color=colors[c], label=c) for c in contenders]
    fig.legend(handles=handles, loc="lower center", ncol=len(contenders), frameon=False)
    fig.suptitle(
        f"{title}\nbars at the left edge: {_PLOT_FLOOR}x or slower; no bar: the contender "
        "cannot express the layer",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(
    rows: Sequence[dict[str, Any]], command: str, machine_line: str, plot_name: str | None
) -> str:
    """The BENCHMARKS.md page: how it was made, the headline against the targets, the plot and
    one table per (pass, dtype, layout)."""
    out = _intro(command, machine_line)
    out += _headline(summary(rows))
    if plot_name:
        out += ["", f"![speed relative to torch per layer]({plot_name})"]
    out += _tables(rows)
    out += _agreement(rows)
    return "\n".join(out) + "\n"


def _intro(command: str, machine_line: str) -> list[str]:
    """How the page was made and how to read it, up to the targets' heading."""
    out = [
        "# Benchmarks",
        "",
        "Generated by this command (`make bench` runs the CPU one; do not edit by hand):",
        "",
        f"    {command}",
        "",
        f"Machine: **{machine_line}** ({_where(command)}). Absolute times vary from run to run "
        "when other work shares the machine; every speed is the median over rounds of "
        "time(torch) / time(contender), the two timed back to back as a pair (which goes first "
        "alternates), which holds far better than the times.",
        "",
        "Columns: *torch ms* median of torch's `conv_transpose{1,2,3}d` (tconv's `native` where "
        "torch's arguments cannot say the padding) over the calls paired with auto; *A/A* the "
        "same speed measured for torch against itself: how far from 1.00 two identical calls "
        "read in that configuration, the run's noise floor; *speed* = median per-pair time "
        "ratio to torch (> 1 is faster); *GFLOP/s* counts the true multiply-adds (x2; x3 for "
        "forward + backward), never the inserted zeros; *% mm* is that rate over a float "
        "matrix product of the same FLOP count and dtype timed in the same run (the machine's "
        "compute roofline); *% copy* is the rate at which the call moves the bytes it must "
        "(input, weight, bias and output; for forward + backward also their gradients) over a "
        "memory copy of as many bytes timed in the same run (the memory roofline: what a "
        "depthwise layer is bound by). Every figure of a row comes from the same pairs: auto's "
        "GFLOP/s and shares are torch's times auto's speed, so they never disagree with it; "
        '*auto runs* is the execution `method="auto"` measured and picked; *torch.nn* and '
        '*tconv.nn* time the layer classes (tconv\'s with `method="native"`), each against '
        "torch's function; *MB* is, on CPU, "
        "what autograd saves for the backward (forward+backward tables only). Peers run float32 "
        "in their own (channels-last) layout: JAX `lax.conv_transpose` (jit, "
        "`block_until_ready`), Keras 3 `ConvNDTranspose` on the torch backend, onnxruntime on "
        "the layer as an ONNX ConvTranspose node; n/a = the framework cannot express the layer.",
        "",
        "Reading it: a speed within the A/A band of its row is a tie. `auto` decides once per "
        "process from pairs timed in isolation; when other work shares the caches and the "
        "allocator (here: the other contenders, in a network: the other layers) a pick that "
        "won there by 10-30% can read slower (look for an `auto runs` other than `native` with "
        'a speed below 1). Set `TCONV_AUTOTUNE=0` for the fixed rule, or `method="native"`. '
        "`dilate` multiplies the inserted zeros (stride^rank times the true multiply-adds: 64x "
        "on fcn-x8), so its speed is bounded by that by construction; `matrix` is not timed by "
        "default (it scales with the non-zeros, not the time).",
        "",
        "## Against the targets",
        "",
    ]
    return out


def _where(command: str) -> str:
    """Which device the page measured, read from its own command.

    >>> _where("tconv bench --device cuda --quick")
    'GPU: CUDA kernels, each call synchronised before its clock is read'
    >>> _where("tconv bench --threads 2")
    'CPU; `--device cuda` runs the same catalog on a GPU'
    """
    words = command.split()
    device = words[words.index("--device") + 1] if "--device" in words[:-1] else "cpu"
    if device.startswith("cuda"):
        return "GPU: CUDA kernels, each call synchronised before its clock is read"
    return "CPU; `--device cuda` runs the same catalog on a GPU"


def _headline(s: dict[str, Any]) -> list[str]:
    """The :func:`summary` against the targets, one line each."""
    out: list[str] = []
    if "auto_min" in s:
        out.append(
            f"- auto's slowest configuration: {s['auto_min'][0]:.2f}x torch "
            f"({s['auto_min'][1]}); target >= 0.97"
        )
    for pass_, label in (("forward", "forward"), ("backward", "forward+backward")):
        if f"auto_geomean_{pass_}" in s:
            out.append(
                f"- auto, geometric mean over the float32 NCHW layers, {label}: "
                f"{s[f'auto_geomean_{pass_}']:.2f}x (target >= 1.15)"
            )
        if f"auto_depthwise_geomean_{pass_}" in s:
            out.append(
                f"- auto on the depthwise layers ({', '.join(DEPTHWISE_LAYERS)}), {label}: "
                f"{s[f'auto_depthwise_geomean_{pass_}']:.2f}x (target >= 1.5 forward+backward)"
            )
    for pass_, label in (("forward", "forward"), ("backward", "forward+backward")):
        if f"auto_depthwise_copy_min_{pass_}" in s:
            share, where = s[f"auto_depthwise_copy_min_{pass_}"]
            out.append(
                f"- auto on the depthwise layers, {label}: at least {100 * share:.0f}% of the "
                f"same-run memory-copy rate ({where})"
                + ("; target >= 70%" if pass_ == "forward" else "")
            )
    if "roofline" in s:
        ok, total, low = s["roofline"]
        out.append(
            f"- auto at >= 60% of the same-run matmul rate on {ok} of {total} float32 NCHW "
            "configurations of the dense (groups = 1) layers (target: all)"
            + (f"; below: {', '.join(low)}" if low else "")
        )
    if "tconv_nn_min" in s:
        ratio, where = s["tconv_nn_min"]
        out.append(
            f"- tconv.nn modules (method='native') against torch.nn's: slowest {ratio:.2f}x "
            f"({where}; the columns' ratio, each against torch's function); target >= 0.97"
        )
    for peer in ("jax", "keras"):
        if f"beats_{peer}" in s:
            w, t = s[f"beats_{peer}"]
            out.append(
                f"- auto faster than {peer} on {w} of {t} configurations where both ran "
                "(target: 80%)"
            )
    if "aa_range" in s:
        lo, hi = s["aa_range"]
        out.append(
            f"- noise floor: torch against itself (A/A) read {lo:.2f}x to {hi:.2f}x across the "
            "configurations of this run; a speed inside that band is a tie"
        )
    return out


def _tables(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The catalog, then one table per (pass, dtype, layout) the rows hold."""
    out = ["", "## The catalog", ""]
    out += [f"- `{lay.name}`: {lay.describe()} ({lay.note})" for lay in CATALOG]
    idx = _index(rows)
    for pass_ in ("forward", "backward"):
        for dtype in ("float32", "bfloat16"):
            for layout in ("nchw", "channels_last"):
                if not any(k[1:4] == (pass_, dtype, layout) for k in idx):
                    continue
                label = "forward" if pass_ == "forward" else "forward + backward"
                out += ["", f"## {label}, {dtype}, {layout}", ""]
                out.append(format_table(rows, pass_, dtype, layout))
    return out


def _agreement(rows: Sequence[dict[str, Any]]) -> list[str]:
    """How closely every float32 forward agreed with torch (the worst contender)."""
    out: list[str] = []
    errs = [r for r in rows if r.get("max_rel_err") is not None and r["dtype"] == "float32"]
    if errs:
        worst = max(errs, key=lambda r: r["max_rel_err"])
        out += [
            "",
            f"Every float32 forward agreed with torch to {worst['max_rel_err']:.1e} "
            f"relative to torch's largest magnitude (worst: {worst['contender']} on "
            f"{worst['layer']}).",
        ]
    return out
