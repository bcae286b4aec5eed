"""Every method on a CUDA device: outputs and gradients equal torch's own conv_transpose on the
same device and a float64 CPU reference; the modules, auto's pick and the upscaler run there.

These tests need a CUDA GPU (hardware, not a dependency the project declares): without one the
module is skipped as a whole. They run on the GPU machine with
``python -m pytest tests/test_cuda.py`` (figures in docs/benchmarks.md, "GPU").
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings

import tconv
from strategies import cases
from tconv.methods import EXACT_METHODS
from test_methods import make, torch_ref

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU (hardware, not a Python dependency)"
)

ALL_METHODS = (*EXACT_METHODS, "auto")
ALL_PADDINGS = ("torch", "pairs", "named")
CUDA = torch.device("cuda")
GPU_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(autouse=True)
def _exact_float32():
    """TF32 rounds float32 products to 10 mantissa bits: off, so float32 means float32."""
    conv, mm = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = conv, mm


@pytest.mark.parametrize("method", ALL_METHODS)
@GPU_SETTINGS
@given(case=cases(paddings=ALL_PADDINGS))
def test_float64_on_cuda_equals_torch_and_cpu(method, case):
    x, w, b = make(case)
    cpu_ref = torch_ref(case, x, w, b)
    xs, ws = x.to(CUDA).requires_grad_(True), w.to(CUDA).requires_grad_(True)
    bs = None if b is None else b.to(CUDA).requires_grad_(True)
    y = tconv.conv_transpose(xs, ws, bs, **case.kwargs, method=method)
    ref = torch_ref(case, xs, ws, bs)
    assert y.device.type == "cuda" and y.shape == ref.shape == cpu_ref.shape
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-9)
    torch.testing.assert_close(y.detach().cpu(), cpu_ref, rtol=0, atol=1e-9)
    params = [t for t in (xs, ws, bs) if t is not None]
    gy = torch.randn_like(ref)
    for g1, g2 in zip(torch.autograd.grad(y, params, gy), torch.autograd.grad(ref, params, gy)):
        torch.testing.assert_close(g1, g2, rtol=0, atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("method", ALL_METHODS)
@GPU_SETTINGS
@given(case=cases(ranks=(1, 2), paddings=ALL_PADDINGS))
def test_low_precision_on_cuda_within_bound(method, dtype, case):
    """|err| <= eps * (sum of |terms|) against float64 on the same rounded inputs."""
    x, w, b = make(case, dtype=dtype)
    y = tconv.conv_transpose(
        x.to(CUDA), w.to(CUDA), None if b is None else b.to(CUDA), **case.kwargs, method=method
    )
    assert y.dtype == dtype and y.device.type == "cuda"
    ref = torch_ref(case, x.double(), w.double(), None if b is None else b.double())
    bound = torch_ref(case, x.double().abs(), w.double().abs(), None if b is None else b.abs())
    eps = {torch.float32: 1e-5, torch.float16: 2.0**-9, torch.bfloat16: 2.0**-6}[dtype]
    err = (y.double().cpu() - ref).abs()
    assert (err <= eps * (bound.double() + 1e-3)).all()


@pytest.mark.parametrize("method", ALL_METHODS)
def test_module_on_cuda_equals_torch_nn(method):
    torch.manual_seed(0)
    ref = torch.nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2)
    mod = tconv.nn.ConvTranspose2d(
        6, 4, 3, stride=2, padding=1, output_padding=1, groups=2, method=method
    )
    mod.load_state_dict(ref.state_dict())
    ref, mod = ref.to(CUDA).double(), mod.to(CUDA).double()
    x = torch.randn(2, 6, 7, 9, device=CUDA, dtype=torch.float64, requires_grad=True)
    y, want = mod(x), ref(x)
    torch.testing.assert_close(y, want, rtol=0, atol=1e-10)
    (gx,) = torch.autograd.grad(y.sum(), x)
    (gw,) = torch.autograd.grad(want.sum(), x)
    torch.testing.assert_close(gx, gw, rtol=0, atol=1e-10)


def test_auto_on_cuda_picks_a_registered_execution_and_is_exact():
    torch.manual_seed(0)
    x = torch.randn(4, 32, 24, 24, device=CUDA)
    w = torch.randn(32, 16, 4, 4, device=CUDA)
    b = torch.randn(16, device=CUDA)
    y = tconv.conv_transpose(x, w, b, stride=2, padding=1, method="auto")
    want = torch.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1)
    torch.testing.assert_close(y, want, rtol=1e-4, atol=1e-4)


def test_upscale_runs_on_cuda_like_on_cpu():
    torch.manual_seed(0)
    image = torch.rand(3, 40, 52)
    import copy

    from tconv.upscale import load_sr_model

    model = copy.deepcopy(load_sr_model(2)[0])  # the loader caches its model: keep it on the CPU
    with torch.no_grad():
        on_cpu = model(image[None])
        on_gpu = model.to(CUDA)(image[None].to(CUDA)).cpu()
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-4, atol=1e-4)
