"""``tconv inspect``: walk a model with forward hooks and report its upsampling layers.

For every leaf module the forward pass reaches (and every upsampling block --
:class:`tconv.nn.Upsample`, :class:`tconv.convert.SubpixelConvTranspose` -- as one row), the
report gives the input -> output shape, the settings, whether the kernel taps overlap evenly
over the output phases (:func:`tconv.artifacts.overlap`), the layer's checkerboard score
(:func:`tconv.artifacts.checkerboard_score`, measured on the layer alone with a synthetic
input) and its multiply-adds; then a summary with advice. Any ``nn.Module`` works: torch's
layers, tconv's, a convolution followed by a pixel shuffle (scored as a pair).

Example:
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),
    ...     torch.nn.ReLU(),
    ...     torch.nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1),
    ... )
    >>> report = inspect_model(net, (1, 8, 16, 16))
    >>> [(row.name, row.uniform) for row in report.layers]
    [('0', False), ('1', None), ('2', True)]
    >>> report.advice[0]
    '0: k3 s2: uneven overlap (4/2/1 taps per output phase), consider k4 s2 or resize-conv'
    >>> report.total_macs == 8 * 16 * 16 * 4 * 9 + 4 * 32 * 32 * 3 * 16   # C_in * I * C_out * K
    True
    >>> print(report.format())
    layer  type             input -> output         settings      overlap       score  MACs
    -----  ---------------  ----------------------  ------------  ------------  -----  ------
    0      ConvTranspose2d  1x8x16x16 -> 1x4x32x32  k3 s2 p1 op1  uneven 4/2/1  ...    73.7K
    1      ReLU             1x4x32x32 -> 1x4x32x32                -             -      0
    2      ConvTranspose2d  1x4x32x32 -> 1x3x64x64  k4 s2 p1      even          ...    196.6K
    <BLANKLINE>
    model: model  input 1x8x16x16 -> output 1x3x64x64  multiply-adds: 270.3K
    advice: 0: k3 s2: uneven overlap (4/2/1 taps per output phase), consider k4 s2 or resize-conv
    advice: 2: checkerboard score ... with even overlap comes from the weights; ...
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from . import artifacts, blocks, convert
from ._messages import one_line
from .modules import PixelShuffle, geometry_of, is_conv
from .shapes import Geometry, ShapeError

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "SCORE_THRESHOLD",
    "InspectError",
    "LayerReport",
    "Report",
    "inspect_model",
    "parse_shape",
]

#: a checkerboard score above this (with even overlap) earns advice about the weights
SCORE_THRESHOLD = 0.05
#: the most memory (bytes) one layer step of the inspected model may need before it runs
DEFAULT_MAX_MEMORY = 4 * 2**30


class InspectError(ValueError):
    """A model that cannot be run as asked (one line for the command line)."""


@dataclass
class LayerReport:
    """One row of the table (``None`` = not applicable or not measurable)."""

    name: str
    type: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    settings: str
    overlap: list[Any] | None = None  # taps per output phase, nested lists of shape stride
    kernel_size: tuple[int, ...] | None = None  # of the transposed convolution, if one
    stride: tuple[int, ...] | None = None
    dilation: tuple[int, ...] | None = None
    uniform: bool | None = None
    score: float | None = None
    score_error: str | None = None  # why the score could not be measured, when it could not
    macs: int | None = None
    advice: str | None = None
    empty: str | None = None  # which output cells no input reaches (they hold only the bias)


@dataclass
class Report:
    """What :func:`inspect_model` found; :meth:`format` is the table, :meth:`to_json` the JSON."""

    model: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...] | None
    layers: list[LayerReport] = field(default_factory=list)
    total_macs: int | None = 0
    advice: list[str] = field(default_factory=list)
    fusable: list[str] = field(default_factory=list)  # resize -> conv pairs fuse_resize fuses

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists for shapes), as :meth:`to_json` prints it."""
        data = asdict(self)
        data["input_shape"] = list(self.input_shape)
        data["output_shape"] = None if self.output_shape is None else list(self.output_shape)
        for row in data["layers"]:
            for key in ("input_shape", "output_shape"):
                row[key] = None if row[key] is None else list(row[key])
        return data

    def to_json(self) -> str:
        """The report as one JSON object."""
        return json.dumps(self.to_dict())

    def format(self) -> str:
        """The report as a text table and a summary."""
        header = ("layer", "type", "input -> output", "settings", "overlap", "score", "MACs")
        rows = [header]
        for r in self.layers:
            shapes = (
                "?"
                if r.input_shape is None and r.output_shape is None
                else f"{_shape(r.input_shape)} -> {_shape(r.output_shape)}"
            )
            rows.append(
                (
                    r.name,
                    r.type,
                    shapes,
                    r.settings,
                    _overlap_text(r),
                    _score_text(r),
                    "-" if r.macs is None else _count(r.macs),
                )
            )
        widths = [max(len(row[j]) for row in rows) for j in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append("")
        lines.append(
            f"model: {self.model}  input {_shape(self.input_shape)} -> output "
            f"{_shape(self.output_shape)}  multiply-adds: "
            + ("?" if self.total_macs is None else _count(self.total_macs))
        )
        lines.extend(f"advice: {a}" for a in self.advice)
        lines.extend(f"fusable: {f}" for f in self.fusable)
        lines.extend(
            f"note: {r.name}: checkerboard score not measured: {r.score_error}"
            for r in self.layers
            if r.score_error is not None
        )
        return "\n".join(lines)


def _score_text(r: LayerReport) -> str:
    if r.score_error is not None:
        return "failed"
    return "-" if r.score is None else f"{r.score:.3f}"


def _shape(shape: Sequence[int] | None) -> str:
    return "?" if shape is None else "x".join(str(v) for v in shape)


def _count(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _overlap_text(r: LayerReport) -> str:
    if r.uniform is None:
        return "-"
    return "even" if r.uniform else f"uneven {_taps(r.overlap)}"


def _taps(overlap: Any) -> str:
    flat = torch.tensor(overlap).flatten().tolist()
    return "/".join(str(v) for v in sorted(set(flat), reverse=True))


# ---------------------------------------------------------------------------------------------
# the input


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1x3x64x64"`` (or ``"1,3,64,64"``) as a tuple of ints >= 1.

    >>> parse_shape("1x3x64x64")
    (1, 3, 64, 64)
    """
    parts = text.replace(",", "x").lower().split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) < 3 or any(v < 1 for v in shape):
        raise ShapeError(
            f"input shape {text!r} is invalid: expected N x C x spatial sizes such as 1x3x64x64 "
            "(3 to 5 positive integers)"
        )
    return shape


# ---------------------------------------------------------------------------------------------
# describing layers


#: TorchScript keeps no Python class: the classes its modules stand for, by original_name
_SCRIPTED: dict[str, type[torch.nn.Module]] = {
    cls.__name__: cls
    for cls in (
        torch.nn.ConvTranspose1d,
        torch.nn.ConvTranspose2d,
        torch.nn.ConvTranspose3d,
        torch.nn.Conv1d,
        torch.nn.Conv2d,
        torch.nn.Conv3d,
        torch.nn.PixelShuffle,
    )
}


def _class(module: torch.nn.Module) -> type:
    """The class a module is, or for a TorchScript module the torch class it was scripted from."""
    if isinstance(module, torch.jit.ScriptModule):
        return _SCRIPTED.get(str(getattr(module, "original_name", "")), type(module))
    return type(module)


def _kind(module: torch.nn.Module) -> str:
    return str(getattr(module, "original_name", type(module).__name__))


def _is_transposed(module: torch.nn.Module) -> bool:
    return issubclass(_class(module), torch.nn.modules.conv._ConvTransposeNd)


def _is_shuffle(module: torch.nn.Module) -> bool:
    return issubclass(_class(module), (torch.nn.PixelShuffle, PixelShuffle))


def _is_block(module: torch.nn.Module) -> bool:
    """An upsampling block reported as one row (its parts are not listed)."""
    return isinstance(module, (blocks.Upsample, convert.SubpixelConvTranspose))


def _tuple(value: Any, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * rank


def _short(values: Sequence[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "x".join(str(v) for v in values)


def _geometry(module: torch.nn.Module) -> Geometry | None:
    """The transposed-convolution geometry of a layer (or of what a block computes)."""
    geom = getattr(module, "geometry", None)  # tconv's layers, SubpixelConvTranspose
    if isinstance(geom, Geometry):
        return geom
    if isinstance(module, blocks.Upsample):
        return _geometry(module.conv) if module.mode == "transposed" and module.conv else None
    if not _is_transposed(module):
        return None
    try:
        if not isinstance(module, torch.jit.ScriptModule):
            return geometry_of(module)
        # TorchScript keeps a ConvTransposeNd's attributes but not its class
        rank = module.weight.dim() - 2
        return Geometry.create(
            _tuple(module.kernel_size, rank),
            _tuple(module.stride, rank),
            module.padding,
            _tuple(module.output_padding, rank),
            _tuple(module.dilation, rank),
            int(module.groups),
            str(module.padding_mode),
            rank=rank,
        )
    except ShapeError:  # a crop that depends on the input size: no fixed geometry to show
        return None


def _settings(module: torch.nn.Module) -> str:
    geom = _geometry(module) if not isinstance(module, blocks.Upsample) else None
    if geom is not None:
        text = f"k{_short(geom.kernel_size)} s{_short(geom.stride)}"
        padding = getattr(module, "padding", None)
        if isinstance(padding, str):
            text += f" p={padding}"
        else:
            lows = [lo for lo, _ in geom.crop]
            ops = [lo - hi for lo, hi in geom.crop]
            if geom.torch_padding() is not None:
                if any(lows):
                    text += f" p{_short(lows)}"
                if any(ops):
                    text += f" op{_short(ops)}"
            else:
                text += " crop=" + ",".join(f"{lo}:{hi}" for lo, hi in geom.crop)
        if any(d != 1 for d in geom.dilation):
            text += f" d{_short(geom.dilation)}"
        if geom.groups != 1:
            text += f" g{geom.groups}"
        if not _is_transposed(module):
            text += " as conv+shuffle"
        return text
    if is_conv(_class(module)):
        rank = module.weight.dim() - 2  # type: ignore[operator]
        text = f"k{_short(_tuple(module.kernel_size, rank))}"
        stride = _tuple(module.stride, rank)
        if any(v != 1 for v in stride):
            text += f" s{_short(stride)}"
        padding = module.padding
        if isinstance(padding, str):
            text += f" p={padding}"
        elif any(_tuple(padding, rank)):
            text += f" p{_short(_tuple(padding, rank))}"
        dilation = _tuple(module.dilation, rank)
        if any(v != 1 for v in dilation):
            text += f" d{_short(dilation)}"
        if int(module.groups) != 1:  # type: ignore[arg-type]
            text += f" g{module.groups}"
        return text
    if _is_shuffle(module):
        r = module.upscale_factor
        return f"r{_short(_tuple(r, 1) if isinstance(r, int) else tuple(r))}"  # type: ignore[arg-type]
    try:
        text = module.extra_repr()
    except Exception:  # pragma: no cover - ScriptModules without a Python extra_repr
        text = ""
    return text if len(text) <= 48 else text[:45] + "..."


def _macs(module: torch.nn.Module, inp: tuple[int, ...] | None, out: tuple[int, ...] | None) -> int:
    if inp is None or out is None:
        return 0
    if _is_transposed(module) or is_conv(_class(module)):
        weight = module.weight
        if not isinstance(weight, Tensor):
            return 0
        rank = weight.dim() - 2
        batch = math.prod(inp[: -rank - 1]) if len(inp) > rank + 1 else 1
        taps = math.prod(weight.shape[2:])
        if _is_transposed(module):  # every input element times every tap, per output channel
            return int(batch * math.prod(inp[-rank - 1 :]) * weight.shape[1] * taps)
        return int(batch * math.prod(out[-rank - 1 :]) * weight.shape[1] * taps)
    if isinstance(module, torch.nn.Linear):
        return int(math.prod(out) * module.in_features)
    return 0


# ---------------------------------------------------------------------------------------------
# the walk


@dataclass
class _Call:
    name: str
    module: torch.nn.Module
    order: int
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    macs: int = 0
    done: int = -1


def _first_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for v in value:
            t = _first_tensor(v)
            if t is not None:
                return t
    if isinstance(value, dict):
        for v in value.values():
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def _record(
    model: torch.nn.Module,
    x: Tensor,
    run: Callable[[torch.nn.Module, Tensor], Any] | None = None,
) -> tuple[list[_Call], Tensor | None]:
    """Call ``model`` on ``x`` (through ``run`` if given) and record every module call."""
    calls: list[_Call] = []
    open_calls: dict[int, list[_Call]] = {}
    names = {id(m): n for n, m in model.named_modules()}
    counter = [0]

    def pre(module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        call = _Call(names.get(id(module), "?") or "(model)", module, len(calls))
        t = _first_tensor(args)
        call.input_shape = None if t is None else tuple(t.shape)
        calls.append(call)
        open_calls.setdefault(id(module), []).append(call)

    def post(module: torch.nn.Module, args: tuple[Any, ...], output: Any) -> None:
        call = open_calls[id(module)].pop()
        t = _first_tensor(output)
        call.output_shape = None if t is None else tuple(t.shape)
        call.macs = _macs(module, call.input_shape, call.output_shape)
        counter[0] += 1
        call.done = counter[0]

    handles = []
    for _, m in model.named_modules():
        if m is model and any(True for _ in model.children()):
            continue
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    try:
        out = model(x) if run is None else run(model, x)
    finally:
        for h in handles:
            h.remove()
    return calls, _first_tensor(out)


def _probe_size(module: torch.nn.Module, rank: int) -> tuple[int, ...]:
    base = 8 if rank == 3 else 16
    geom = _geometry(module)
    if geom is None:
        return (base,) * rank
    return tuple(max(base, 4 * -(-sp // s)) for sp, s in zip(geom.span, geom.stride, strict=True))


def _score(
    row: LayerReport,
    fn: Callable[[Tensor], Tensor] | torch.nn.Module,
    channels: int,
    rank: int,
    module: torch.nn.Module,
    stride: tuple[int, ...] | None,
) -> None:
    """Set ``row.score``, or ``row.score_error`` with the reason it could not be measured."""
    shape = (1, channels, *_probe_size(module, rank))
    try:
        row.score = artifacts.checkerboard_score(fn, shape, stride=stride)
    except Exception as err:  # the layer is user code run on a synthetic input: anything goes
        why = one_line(err, foreign=True)
        row.score_error = f"on a probe input of shape {_shape(shape)}: {why}"


def _bytes(shape: Sequence[int] | None, itemsize: int) -> int:
    return 0 if shape is None else math.prod(shape) * itemsize


_SMALLER = "inspect a smaller input (the report's advice does not depend on its size)"


def _dtype(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _gib(n: int) -> str:
    """Bytes in binary units, e.g. ``'112 GiB'``."""
    for unit, power in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30)):
        if n >= 2**power:
            return f"{n / 2**power:.3g} {unit}"
    return f"{n / 2**20:.3g} MiB"


def _unbatched(calls: list[_Call], shape: tuple[int, ...]) -> None:
    """Refuse an input that reaches a convolution without a batch dimension.

    torch reads a ``(C, *spatial)`` input of a convolution as unbatched: ``3x32x32`` into a 2-D
    model would run as one image of 3 channels and report shapes the user did not mean.
    """
    for call in calls:
        m = call.module
        weight = getattr(m, "weight", None)
        if not (_is_transposed(m) or is_conv(_class(m))) or not isinstance(weight, Tensor):
            continue
        rank = weight.dim() - 2
        if call.input_shape is not None and len(call.input_shape) == rank + 1:
            raise InspectError(
                f"input shape {_shape(shape)} reaches layer {call.name!r} ({_kind(m)}, "
                f"{rank}-D) as {_shape(call.input_shape)}, which torch would read as one "
                f"unbatched (C, {('L', 'H, W', 'D, H, W')[rank - 1]}) sample; give N x C x "
                f"spatial sizes ({rank + 2} values), e.g. "
                f"1x{_shape(shape)}"
            )


def _check_memory(
    model: torch.nn.Module, shape: tuple[int, ...], dtype: torch.dtype, max_memory: int
) -> None:
    """Refuse before allocating when the input, or one layer step, would need too much memory.

    The input is counted from its shape alone; then the model runs once on the ``meta`` device
    (shapes only, no data): the largest step (a layer's input plus its output) must fit too.
    A model that cannot run on ``meta`` (data-dependent code) is only checked by its input.
    """
    itemsize = torch.empty((), dtype=dtype).element_size()
    need = _bytes(shape, itemsize)
    limit = f"--max-memory {_gib(max_memory)}"
    if need > max_memory:
        raise InspectError(
            f"an input of shape {_shape(shape)} ({_dtype(dtype)}) needs {_gib(need)}, more than "
            f"{limit}: {_SMALLER}"
        )
    if isinstance(model, torch.jit.ScriptModule):
        return
    state = {
        n: torch.empty_like(t, device="meta")
        for n, t in [*model.named_parameters(), *model.named_buffers()]
    }
    try:
        x = torch.empty(shape, dtype=dtype, device="meta")
        with torch.no_grad():
            calls, _ = _record(
                model, x, run=lambda m, t: torch.func.functional_call(m, state, (t,))
            )
    except Exception:  # not runnable on meta: the real run reports what is wrong with it
        return
    _unbatched(calls, shape)
    if not calls:
        return
    worst = max(calls, key=lambda c: _bytes(c.input_shape, 1) + _bytes(c.output_shape, 1))
    step = _bytes(worst.input_shape, itemsize) + _bytes(worst.output_shape, itemsize)
    if step > max_memory:
        raise InspectError(
            f"an input of shape {_shape(shape)} needs at least {_gib(step)} in layer "
            f"{worst.name!r} ({_shape(worst.input_shape)} -> {_shape(worst.output_shape)}, "
            f"{_dtype(dtype)}), more than {limit}: {_SMALLER}"
        )


def inspect_model(
    model: torch.nn.Module,
    input: Sequence[int] | Tensor,
    *,
    name: str = "model",
    max_memory: int | None = DEFAULT_MAX_MEMORY,
) -> Report:
    """Run ``model`` once on ``input`` (a tensor, or a shape for a seeded random tensor).

    The model runs in eval mode without autograd (its training flags are restored). Rows:
    every leaf module called, in call order (a module called twice gives two rows), with
    upsampling blocks as single rows. Per row: shapes, settings, and for upsampling layers
    (transposed convolutions, conv + pixel shuffle pairs, blocks, any layer whose output is
    spatially larger than its input) the overlap (:func:`tconv.artifacts.overlap`; "even" for
    a pixel shuffle after a convolution or a resize) and the checkerboard score of the layer
    alone (:func:`tconv.artifacts.checkerboard_score` on a constant synthetic input of the
    layer's channels, 16 samples per dimension, 8 in 3-D, more for large kernels); a score
    that cannot be measured leaves its reason in ``score_error``.
    Multiply-adds: convolutions (transposed: ``N * C_in * prod(I) * C_out / groups *
    prod(K)``) and linear layers; blocks sum their parts.

    Before a shape is allocated, the model runs on the ``meta`` device (shapes only): an input
    or a layer step (its input plus output) larger than ``max_memory`` bytes is refused, and so
    is an input without a batch dimension (torch would read ``(C, H, W)`` as unbatched).

    TorchScript modules cannot be hooked: their rows come from the module tree without
    shapes or multiply-adds.

    Args:
        model: any ``torch.nn.Module`` (TorchScript too).
        input: a tensor, or the shape ``(N, C, *spatial)`` of a seeded random one.
        name: the model's name in the report.
        max_memory: the most bytes the input or one layer step may need (None: no limit).

    Shape:
        - input: ``(N, C, *spatial)``, 1 to 3 spatial dimensions as the model expects

    Raises:
        InspectError: the input needs more than ``max_memory``, has no batch dimension, or
            the model fails on it (with the first line of the error).

    Example:
        >>> net = torch.nn.Sequential(torch.nn.ConvTranspose1d(2, 2, 4, stride=2, padding=1))
        >>> inspect_model(net, (1, 2, 8)).layers[0].settings
        'k4 s2 p1'
        >>> inspect_model(net, (1, 2, 10**6, 10**6))
        Traceback (most recent call last):
        tconv.inspection.InspectError: an input of shape 1x2x1000000x1000000 ... needs 7.28 TiB...
    """
    if isinstance(input, Tensor):
        x = input
        shape = tuple(x.shape)
    else:
        shape = tuple(int(v) for v in input)
        dtype, device = torch.float32, torch.device("cpu")
        for t in model.parameters():
            if t.is_floating_point():
                dtype, device = t.dtype, t.device
                break
        if max_memory is not None:
            _check_memory(model, shape, dtype, max_memory)
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(shape, generator=gen).to(dtype=dtype, device=device)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            if isinstance(model, torch.jit.ScriptModule):
                return _inspect_script(model, x, shape, name)
            try:
                calls, out = _record(model, x)
            except Exception as err:  # the model is user code: report any failure as one line
                why = one_line(err, foreign=True)
                raise InspectError(
                    f"running the model on an input of shape {shape} failed: {why}"
                ) from err
            _unbatched(calls, shape)
            rows = _rows(calls)
    finally:
        for m, training in modes:
            m.training = training
    report = Report(name, shape, None if out is None else tuple(out.shape), rows)
    report.total_macs = sum(c.macs for c in calls if not _is_block(c.module))
    report.advice = _advice(rows)
    _add_fusable(report, model)
    return report


def _add_fusable(report: Report, model: torch.nn.Module) -> None:
    """The resize -> convolution pairs that :func:`tconv.convert.fuse_resize` fuses exactly."""
    pairs = convert.resize_pairs(model).fused
    report.fusable = [p.where for p in pairs]
    if pairs:
        report.advice.append(
            f"{len(pairs)} resize -> convolution pair(s) are transposed convolutions in disguise "
            "(fusable lines below): tconv.convert.fuse_resize(model) computes each as one, "
            "with the same state_dict"
        )


def _rows(calls: list[_Call]) -> list[LayerReport]:
    blocks = [c for c in calls if _is_block(c.module)]
    rows: list[LayerReport] = []
    previous: _Call | None = None
    for call in calls:
        inside = [b for b in blocks if b is not call and call.name.startswith(b.name + ".")]
        if inside:
            continue
        children = any(True for _ in call.module.children())
        if children and not _is_block(call.module):
            continue
        if _is_block(call.module):
            call.macs = sum(
                c.macs for c in calls if c.name.startswith(call.name + ".") and c is not call
            )
        rows.append(_describe(call, previous))
        previous = call
    return rows


def _spatial_growth(call: _Call) -> bool:
    i, o = call.input_shape, call.output_shape
    if i is None or o is None or len(i) != len(o) or len(i) < 3:
        return False
    return any(b > a for a, b in zip(i[2:], o[2:], strict=True))


def _describe(call: _Call, previous: _Call | None) -> LayerReport:
    m = call.module
    row = LayerReport(
        call.name, _kind(m), call.input_shape, call.output_shape, _settings(m), macs=call.macs
    )
    rank = len(call.input_shape) - 2 if call.input_shape is not None else 0
    geom = _geometry(m)
    if geom is not None:
        _set_overlap(row, geom)
        _set_coverage(row, geom, call.input_shape)
        channels = int(m.weight.shape[0]) if _is_transposed(m) else (call.input_shape or (0, 0))[1]  # type: ignore[index]
        _score(row, m, channels, geom.rank, m, geom.stride)
    elif (
        _is_shuffle(m)
        and previous is not None
        and is_conv(_class(previous.module))
        and previous.output_shape == call.input_shape
        and previous.input_shape is not None
    ):
        conv: Any = previous.module
        shuffle = m
        r = _tuple(shuffle.upscale_factor, rank)
        taps = math.prod(conv.weight.shape[2:])
        row.overlap = torch.full(r, taps, dtype=torch.int64).tolist()
        row.uniform = True
        row.settings += f" (with {previous.name})"
        _score(row, lambda x: shuffle(conv(x)), previous.input_shape[1], rank, conv, r)
    elif _is_block(m) or _spatial_growth(call):
        row.uniform = True if _is_block(m) else None
        if call.input_shape is not None and call.input_shape[1:2]:
            _score(row, m, call.input_shape[1], rank, m, None)
    return row


def _set_overlap(row: LayerReport, geom: Geometry) -> None:
    counts = artifacts.overlap(geom.kernel_size, geom.stride, geom.dilation)
    row.overlap = counts.tolist()
    row.uniform = bool((counts == counts.flatten()[0]).all())
    row.kernel_size, row.stride, row.dilation = geom.kernel_size, geom.stride, geom.dilation


def _set_coverage(row: LayerReport, geom: Geometry, shape: tuple[int, ...] | None) -> None:
    """Output cells of this call that no input reaches (holes, or cells past the full output)."""
    if shape is None or len(shape) < geom.rank + 1:
        return
    try:
        row.empty = geom.coverage(shape[-geom.rank :]).describe() or None
    except ValueError:  # a ShapeError (not this input's geometry) or too large to count
        return


def _advice(rows: list[LayerReport]) -> list[str]:
    advice: list[str] = []
    upsampling = [r for r in rows if r.score is not None or r.uniform is not None]
    for r in rows:
        if r.uniform is False and r.overlap is not None and r.kernel_size and r.stride:
            k, st = r.kernel_size, r.stride
            label = f"k{_short(k)} s{_short(st)}"
            if r.dilation and any(d != 1 for d in r.dilation):
                label += f" d{_short(r.dilation)}"
            if (torch.tensor(r.overlap) == 0).any():
                text = (
                    f"{r.name}: {label}: some output phases get no kernel taps (gaps), "
                    "consider dilation 1 and a kernel size that is a multiple of the stride"
                )
            else:
                even = tuple(-(-kk // ss) * ss for kk, ss in zip(k, st, strict=True))
                text = (
                    f"{r.name}: {label}: uneven overlap ({_taps(r.overlap)} taps per "
                    f"output phase), consider k{_short(even)} s{_short(st)} or resize-conv"
                )
            r.advice = text
            advice.append(text)
            if r.empty and "gaps" not in text:  # border cells only: say which
                r.advice = text = f"{r.name}: {label}: {r.empty}"
                advice.append(text)
        elif r.empty and r.kernel_size and r.stride:
            label = f"k{_short(r.kernel_size)} s{_short(r.stride)}"
            text = (
                f"{r.name}: {label}: {r.empty}; `tconv plan` lists settings that reach this "
                "size with every output cell covered"
            )
            r.advice = text
            advice.append(text)
        elif r.score is not None and r.score > SCORE_THRESHOLD:
            text = (
                f"{r.name}: checkerboard score {r.score:.3f} with even overlap comes from the "
                "weights; consider tconv.init.icnr_ (or bilinear_) at initialisation, or "
                "tconv.nn.Upsample(mode='resize_conv')"
            )
            r.advice = text
            advice.append(text)
    if not upsampling:
        advice.append("no upsampling layers found")
    elif not advice:
        advice.append(f"no checkerboard risk found in {len(upsampling)} upsampling layer(s)")
    return advice


def _inspect_script(
    model: torch.jit.ScriptModule, x: Tensor, shape: tuple[int, ...], name: str
) -> Report:
    convs = [(n, m) for n, m in model.named_modules() if _is_transposed(m) or is_conv(_class(m))]
    if convs:  # no hooks in TorchScript: check the batch dimension by the first convolution
        _unbatched([_Call(convs[0][0], convs[0][1], 0, shape)], shape)
    try:
        out = _first_tensor(model(x))
    except Exception as err:  # the model is user code: report any failure as one line
        raise InspectError(
            f"running the model on an input of shape {shape} failed: {one_line(err, foreign=True)}"
        ) from err
    rows = []
    for n, m in model.named_modules():
        if any(True for _ in m.children()) or not n:
            continue
        settings = _settings(m) if _is_transposed(m) or is_conv(_class(m)) else ""
        row = LayerReport(n, _kind(m), None, None, settings)
        geom = _geometry(m)
        if geom is not None:
            _set_overlap(row, geom)
            weight: Any = m.weight
            _score(row, m, int(weight.shape[0]), geom.rank, m, geom.stride)
        rows.append(row)
    report = Report(name, shape, None if out is None else tuple(out.shape), rows, None)
    report.advice = [
        *_advice(rows),
        "TorchScript module: per-layer shapes and multiply-adds are not available (forward "
        "hooks do not run in TorchScript)",
    ]
    return report
