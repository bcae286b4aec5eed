"""Speed of tconv.convert.to_subpixel on a DCGAN generator, in torch and in onnxruntime.

Builds the DCGAN generator of Radford et al. (nz=100, ngf=64, 64x64x3 output: five
ConvTranspose2d layers, k4 s1 p0 then k4 s2 p1), rewrites it with ``to_subpixel`` (convolution
+ pixel shuffle + crop, no ConvTranspose), checks that both give the same output, and times
both in torch (eval, no_grad) and in onnxruntime (CPU provider) from ONE run: the median of
``--repeat`` timed calls after ``--warmup`` untimed ones, and the ratio rewritten / original
(below 1 = the rewrite is faster).

Usage::

    .venv/bin/python benchmarks/convert_dcgan.py [--batch 16] [--repeat 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import torch
from torch import nn

from tconv.convert import to_subpixel


def dcgan_generator(nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Module:
    """The DCGAN generator (PyTorch examples/dcgan), 1x1 noise -> 64x64 image."""
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


def median_ms(fn: Callable[[], object], warmup: int, repeat: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


#: what the onnxruntime half needs: tconv's "interop" extra
NEEDS = ("onnx", "onnxruntime", "onnxscript")


def missing_modules(names: tuple[str, ...] = NEEDS) -> list[str]:
    """The modules of ``names`` that cannot be imported (checked without importing them)."""
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent that fails, or a module set to None
            found = False
        if not found:
            missing.append(name)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="torch device (onnxruntime: CPU)")
    args = parser.parse_args()
    for flag in ("batch", "repeat", "threads"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} {getattr(args, flag)} is invalid: it must be >= 1")
    if args.warmup < 0:
        parser.error(f"--warmup {args.warmup} is invalid: it must be >= 0")
    missing = missing_modules()
    if missing:  # say so before any work, not with a traceback after the torch half
        print(
            f"convert_dcgan.py: error: needs {', '.join(missing)} (tconv's interop extra): "
            "pip install 'tconv[interop]' torch==2.13.0 (make test installs it)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    original = dcgan_generator().eval()
    rewritten = to_subpixel(original).eval()
    x = torch.randn(args.batch, 100, 1, 1)
    device = torch.device(args.device)
    models = {"original": original.to(device), "rewritten": rewritten.to(device)}
    xd = x.to(device)

    def call(model: nn.Module) -> Callable[[], object]:
        def run() -> object:
            y = model(xd)
            if device.type == "cuda":
                torch.cuda.synchronize()
            return y

        return run

    with torch.no_grad():
        error = (models["original"](xd) - models["rewritten"](xd)).abs().max().item()
        t_orig = median_ms(call(models["original"]), args.warmup, args.repeat)
        t_sub = median_ms(call(models["rewritten"]), args.warmup, args.repeat)
    where = device.type if device.type != "cpu" else f"cpu, {args.threads} threads"
    print(f"DCGAN generator, batch {args.batch}, torch {torch.__version__} on {where}")
    print(f"max |original - rewritten| = {error:.2e}")
    print(
        f"torch        original {t_orig:8.2f} ms  rewritten {t_sub:8.2f} ms  "
        f"ratio {t_sub / t_orig:.2f}"
    )
    original, rewritten = original.cpu(), rewritten.cpu()

    import onnx
    import onnxruntime as ort

    tmp = tempfile.mkdtemp()
    os.environ.setdefault("XDG_CACHE_HOME", tmp)
    sessions = {}
    for name, model in (("original", original), ("rewritten", rewritten)):
        path = os.path.join(tmp, f"{name}.onnx")
        torch.onnx.export(model, (x,), path)
        ops = sorted({n.op_type for n in onnx.load(path).graph.node})
        print(f"onnx {name:9s} ops: {', '.join(ops)}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        sessions[name] = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = x.numpy()
    times = {}
    for name, session in sessions.items():
        input_name = session.get_inputs()[0].name
        times[name] = median_ms(
            lambda s=session, n=input_name: s.run(None, {n: feed}), args.warmup, args.repeat
        )
    print(
        f"onnxruntime  original {times['original']:8.2f} ms  rewritten "
        f"{times['rewritten']:8.2f} ms  ratio {times['rewritten'] / times['original']:.2f}"
    )


if __name__ == "__main__":
    main()
