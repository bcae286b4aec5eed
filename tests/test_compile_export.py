"""Every method under torch.compile, torch.export and both ONNX exporters, inside a model of
several layers (a small DCGAN-style generator: transposed convolutions with BatchNorm and ReLU,
one layer called with ``output_size``), in training (outputs and gradients) and in inference
(``no_grad``).

Compiling is slow on a small CPU, so every method compiles with the ``aot_eager`` backend
(Dynamo and AOTAutograd, the graph run by eager kernels), and native, auto and subpixel also
with inductor (the default backend, which generates code). Compiling prints no warning from
tconv's code (Dynamo warned about each ``functools.lru_cache`` it met there).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import tconv
from tconv.methods import METHODS

SRC = str(Path(tconv.__file__).parent)
NO_BREAKS = ("native", "auto", "subpixel")  # the methods that must trace as one graph


class Generator(torch.nn.Module):
    """k4 s1 p0 from 1x1, then k4 s2 p1 and k3 s2 p1 with ``output_size``, BatchNorm, ReLU."""

    def __init__(self, method: str) -> None:
        super().__init__()
        conv = tconv.nn.ConvTranspose2d
        self.a = conv(6, 8, 4, method=method)
        self.bn_a = torch.nn.BatchNorm2d(8)
        self.b = conv(8, 4, 4, stride=2, padding=1, bias=False, method=method)
        self.bn_b = torch.nn.BatchNorm2d(4)
        self.c = conv(4, 3, 3, stride=2, padding=1, method=method)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn_a(self.a(z)))
        y = torch.relu(self.bn_b(self.b(y)))
        return torch.tanh(self.c(y, output_size=[2 * v for v in y.shape[-2:]]))


def _pair(method: str) -> tuple[Generator, Generator]:
    torch.manual_seed(0)
    eager = Generator(method).double()
    twin = Generator(method).double()
    twin.load_state_dict(eager.state_dict())
    return eager, twin


def _step(model: torch.nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Output and the gradients of its sum of squares in the input and every parameter."""
    z = z.clone().requires_grad_(True)
    y = model(z)
    grads = torch.autograd.grad(y.square().sum(), [z, *model.parameters()])
    return (y.detach(), *grads)


@contextlib.contextmanager
def _no_warning_from_tconv() -> Iterator[None]:
    """Fails on any warning raised in tconv's files or about them (Dynamo's warnings name the
    user code they are about in the message, and each only once per process: forgotten
    here)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(torch._dynamo.utils, "warn_once_cache", set())
            yield
    assert _tconv_warnings(caught) == []


def _check_compiled(method: str, backend: str) -> None:
    eager, twin = _pair(method)
    compiled = torch.compile(twin, backend=backend)
    z = torch.randn(3, 6, 1, 1, dtype=torch.float64)
    with _no_warning_from_tconv():
        for got, want in zip(_step(compiled, z), _step(eager, z), strict=True):
            torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)
        eager.eval(), twin.eval()
        with torch.no_grad():
            for n in (2, 3):  # a second batch size: a recompile, with dynamic sizes
                z = torch.randn(n, 6, 1, 1, dtype=torch.float64)
                torch.testing.assert_close(compiled(z), eager(z), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_compiles_and_equals_eager(method: str) -> None:
    torch._dynamo.reset()
    _check_compiled(method, "aot_eager")


@pytest.mark.parametrize("method", NO_BREAKS)
def test_inductor_equals_eager(method: str) -> None:
    """inductor once failed on a subpixel generator in inference: "Exponent must be
    non-negative" (its packed-weight cache fed the graph tensors of its own)."""
    torch._dynamo.reset()
    _check_compiled(method, "inductor")


def _assert_one_graph(model: torch.nn.Module, z: torch.Tensor) -> None:
    torch._dynamo.reset()
    with _no_warning_from_tconv():
        explained = torch._dynamo.explain(model)(z)
    reasons = [f"{b.reason.splitlines()[0]} {b.user_stack[-1:]}" for b in explained.break_reasons]
    assert explained.graph_break_count == 0, reasons


@pytest.mark.parametrize("grad", [True, False], ids=["train", "no_grad"])
@pytest.mark.parametrize("method", NO_BREAKS)
def test_no_graph_breaks(method: str, grad: bool) -> None:
    """Dynamo traces the whole model as one graph: the cached geometry, the checks, the
    dispatch, subpixel's weight layout (and its packing in inference)."""
    model = Generator(method).train(grad)
    z = torch.randn(2, 6, 1, 1)
    with torch.set_grad_enabled(grad):
        _assert_one_graph(model, z)
    # unbatched, 1-D and 3-D layers, named paddings and a padding_mode too
    layers = [
        (tconv.nn.ConvTranspose1d(2, 3, 3, stride=2, padding="same", method=method), (2, 7)),
        (
            tconv.nn.ConvTranspose3d(2, 2, 3, 2, ((1, 0), (1, 1), (0, 2)), method=method),
            (1, 2, 3, 4, 3),
        ),
        (
            tconv.nn.ConvTranspose2d(2, 2, 3, 2, 1, padding_mode="reflect", method=method),
            (1, 2, 5, 6),
        ),
    ]
    for layer, shape in layers:
        with torch.set_grad_enabled(grad):
            _assert_one_graph(layer, torch.randn(shape))


@pytest.mark.parametrize("method", ["native", "auto"])
def test_torch_export(method: str) -> None:
    model = Generator(method).eval()
    z = torch.randn(2, 6, 1, 1)
    program = torch.export.export(model, (z,))
    torch.testing.assert_close(program.module()(z), model(z))


def _tconv_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """The warnings raised in tconv's files or naming one of them."""
    return [
        f"{w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if w.filename.startswith(SRC) or SRC in str(w.message)
    ]


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "torch.export"])
@pytest.mark.parametrize("method", ["native", "auto"])
def test_onnx_export_without_warnings_from_tconv(
    method: str, dynamo: bool, tmp_path: Path, monkeypatch: Any
) -> None:
    """Both exporters, and not one warning from tconv's code (the TorchScript exporter traced
    tconv's shape checks into "Converting a tensor to a Python boolean" warnings)."""
    import onnxruntime  # in the interop extra, which `make test` installs

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model = Generator(method).eval()
    z = torch.randn(2, 6, 1, 1)
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.onnx.export(model, (z,), buffer, dynamo=dynamo)
    assert _tconv_warnings(caught) == []
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {session.get_inputs()[0].name: z.numpy()})
    torch.testing.assert_close(torch.from_numpy(y), model(z).detach(), rtol=1e-5, atol=1e-5)
