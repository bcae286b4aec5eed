"""Each extra alone: the built wheel in fresh virtual environments -- core alone, and each of
plots, image, train and interop alone -- running, from outside the source tree, the commands
that extra enables on real inputs that take the slow paths (an image larger than a tile, so
tiling and the progress bar run; a training run; conversions round trips), and a command
whose extra is missing answering in one line naming the extra, exit status 2.

The wheel is built once a session (tests/conftest.py, shared with tests/test_wheel.py). torch
(pinned, as on every pip command line) is installed once into a base environment that each
extra's environment sees through a ``.pth`` file: torch and its own dependencies are the only
packages the environments share, so what an extra lacks is still missing there.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import sysconfig
import textwrap
import venv

import numpy as np
import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
TORCH_PIN = "torch==" + torch.__version__.split("+")[0]  # the suite's own pinned torch


def _run(args: list[str], cwd: pathlib.Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a command with an environment that cannot see the source tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", MPLBACKEND="Agg", KERAS_BACKEND="torch")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _pip(python: pathlib.Path) -> list[str]:
    """``pip install`` into the environment of ``python`` with this suite's own pip (``--python``):
    the environments are made without pip of their own, which saves ensurepip's seconds each."""
    return [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--quiet",
        "--no-compile",
    ]


def _purelib(root: pathlib.Path) -> pathlib.Path:
    python = root / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return pathlib.Path(_run([str(python), "-c", code], cwd=root).stdout.strip())


@pytest.fixture(scope="module")
def torch_base(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """site-packages of an environment holding only the pinned torch (and its dependencies)."""
    root = tmp_path_factory.mktemp("torch-base")
    venv.create(root, with_pip=False)  # this suite's pip installs into it (_pip)
    result = _run([*_pip(root / "bin" / "python"), TORCH_PIN], cwd=root)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return _purelib(root)


def _environment(
    extra: str | None, wheel: pathlib.Path, base: pathlib.Path, root: pathlib.Path
) -> pathlib.Path:
    """A fresh environment with the wheel and one extra (None: core alone); its bin folder."""
    venv.create(root, with_pip=False)
    (_purelib(root) / "_torch_base.pth").write_text(f"{base}\n")
    target = str(wheel) if extra is None else f"{wheel}[{extra}]"
    result = _run([*_pip(root / "bin" / "python"), TORCH_PIN, target], cwd=root)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root / "bin"


def _photo(h: int, w: int, channels: int = 3, dtype: type = np.uint8) -> np.ndarray:
    """A photo-like image: smooth shading, edges and texture (not noise, not flat)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(0)
    planes = []
    for c in range(channels):
        shade = 0.5 + 0.3 * np.sin(x / (7 + 3 * c)) * np.cos(y / (11 - c))
        disc = ((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2 < (min(h, w) * 0.25) ** 2) * 0.3
        planes.append(shade + disc - 0.15 + 0.03 * rng.standard_normal((h, w)))
    img = np.clip(np.stack(planes, axis=-1), 0, 1) * np.iinfo(dtype).max
    return np.rint(img).astype(dtype)


def _save_png(img: np.ndarray, path: pathlib.Path) -> None:
    """Write a PNG with this (full) environment's Pillow/pypng, not the one under test."""
    if img.dtype == np.uint16:
        import png

        h, w, _ = img.shape
        with open(path, "wb") as f:
            png.Writer(width=w, height=h, greyscale=False, bitdepth=16).write_array(
                f, img.reshape(-1)
            )
    else:
        import PIL.Image

        PIL.Image.fromarray(img).save(path)


def _missing(bin: pathlib.Path, args: list[str], extra: str, cwd: pathlib.Path) -> None:
    """The command answers in one line naming the extra, exit status 2, no traceback."""
    result = _run([str(bin / "tconv"), *args], cwd=cwd)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert f"pip install 'tconv[{extra}]'" in result.stderr, result.stderr


def _ok(bin: pathlib.Path, args: list[str], cwd: pathlib.Path) -> subprocess.CompletedProcess:
    result = _run([str(bin / args[0]), *args[1:]], cwd=cwd)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_core_alone(built_dist, torch_base, tmp_path):
    bin = _environment(None, built_dist["wheel"], torch_base, tmp_path / "env")
    work = tmp_path / "work"
    work.mkdir()
    code = (
        "import sys, tconv, torch; m = tconv.nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1);"
        "x = torch.randn(1, 2, 5, 5); assert m(x).shape == (1, 3, 10, 10);"
        "print(tconv.__file__, sorted(n for n in ('PIL', 'matplotlib', 'tqdm', 'skimage', "
        "'keras', 'jax', 'onnx', 'png', 'tifffile') if n in sys.modules))"
    )
    out = _ok(bin, ["python", "-c", code], work).stdout
    assert str(tmp_path / "env") in out and out.strip().endswith("[]"), out
    assert "output" in _ok(bin, ["tconv", "shape", "--input", "4", "--kernel", "3"], work).stdout
    assert "stride" in _ok(bin, ["tconv", "plan", "16", "33"], work).stdout
    _save_png(_photo(40, 48), work / "photo.png")
    _missing(bin, ["upscale", "photo.png", "-o", "big.png"], "image", work)
    _missing(bin, ["explain", "--input", "3", "--kernel", "3", "--out", "figs"], "plots", work)
    _missing(bin, ["train", "sr", "--quick", "--out", "run"], "train", work)
    assert sorted(p.name for p in work.iterdir()) == ["photo.png"]  # nothing half-written


def test_image_alone(built_dist, torch_base, tmp_path):
    bin = _environment("image", built_dist["wheel"], torch_base, tmp_path / "env")
    work = tmp_path / "work"
    work.mkdir()
    _save_png(_photo(90, 70), work / "photo.png")
    # larger than a tile: tiling and the progress bar (tqdm) run; PNG is streamed
    result = _ok(
        bin, ["tconv", "upscale", "photo.png", "-o", "big.png", "--tile", "32", "--compare"], work
    )
    assert "tiles:" in result.stderr and "/9 " in result.stderr, (
        result.stderr
    )  # tqdm may skip its last refresh
    import PIL.Image

    with PIL.Image.open(work / "big.png") as im:
        assert im.size == (140, 180) and im.mode == "RGB"
    assert (work / "big.bicubic.png").is_file()
    # 16-bit colour through pypng (read) and tifffile (write), a folder with a text file
    (work / "in").mkdir()
    _save_png(_photo(40, 36, 3, np.uint16), work / "in" / "deep.png")
    (work / "in" / "readme.txt").write_text("not an image")
    result = _ok(bin, ["tconv", "upscale", "in/deep.png", "-o", "deep.tif", "--tile", "24"], work)
    import tifffile

    deep = tifffile.imread(work / "deep.tif")
    assert deep.shape == (80, 72, 3) and deep.dtype == np.uint16 and deep.max() > 255
    result = _ok(bin, ["tconv", "upscale", "in", "-o", "out", "--no-progress"], work)
    assert result.stderr == "tconv upscale: 1 written, 1 skipped (not images), 0 failed\n"
    _missing(bin, ["explain", "--input", "3", "--kernel", "3", "--out", "figs"], "plots", work)


def test_plots_alone(built_dist, torch_base, tmp_path):
    bin = _environment("plots", built_dist["wheel"], torch_base, tmp_path / "env")
    work = tmp_path / "work"
    work.mkdir()
    args = ["explain", "--input", "3", "--kernel", "3", "--stride", "2", "--out", "figs"]
    _ok(bin, ["tconv", *args], work)
    names = {p.name for p in (work / "figs").iterdir()}
    assert {"checkerboard.png", "explain.json"} <= names and any(
        n.endswith(".gif") for n in names
    ), names
    _missing(bin, ["train", "sr", "--quick", "--out", "run"], "train", work)


def test_train_alone(built_dist, torch_base, tmp_path):
    bin = _environment("train", built_dist["wheel"], torch_base, tmp_path / "env")
    work = tmp_path / "work"
    work.mkdir()
    tiny = ["--epochs", "1", "--patches-per-epoch", "8", "--batch-size", "4", "--width", "4"]
    tiny += ["--depth", "1", "--patch", "16", "--eval-size", "48", "--threads", "1"]
    _ok(bin, ["tconv", "train", "sr", "--quick", *tiny, "--out", "run"], work)
    assert {"model.pt", "metrics.json", "report.md"} <= {p.name for p in (work / "run").iterdir()}
    _save_png(_photo(50, 40), work / "photo.png")
    ckpt = ["--checkpoint", "run/model.pt", "--tile", "24"]
    _ok(bin, ["tconv", "upscale", "photo.png", "-o", "big.png", *ckpt], work)


def test_interop_alone(built_dist, torch_base, tmp_path):
    bin = _environment("interop", built_dist["wheel"], torch_base, tmp_path / "env")
    work = tmp_path / "work"
    work.mkdir()
    script = textwrap.dedent(
        """
        import numpy as np, onnxruntime, torch, tconv
        from tconv.interop import jax as tjax, keras as tkeras, onnx as tonnx

        m = tconv.nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1)  # Keras 'same' can say it
        x = torch.randn(1, 3, 5, 6)
        want = m(x).detach()
        back = tkeras.from_keras(tkeras.to_keras(m))          # Keras (torch backend) and back
        torch.testing.assert_close(back(x), want, rtol=1e-5, atol=1e-5)
        layer, params = tjax.to_flax(m)                          # flax.linen, run by jax
        y = np.asarray(layer.apply(params, x.permute(0, 2, 3, 1).numpy()))
        np.testing.assert_allclose(y.transpose(0, 3, 1, 2), want.numpy(), rtol=1e-4, atol=1e-4)
        model = tonnx.export(m, "m.onnx", x)                     # ONNX, run by onnxruntime
        session = onnxruntime.InferenceSession("m.onnx", providers=["CPUExecutionProvider"])
        (z,) = session.run(None, {"input": x.numpy()})
        np.testing.assert_allclose(z, want.numpy(), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(tonnx.from_model(model)(x), want, rtol=1e-5, atol=1e-5)
        torch.onnx.export(m, (x,), "dynamo.onnx", dynamo=True)  # torch's exporter (onnxscript)
        print("round trips ok")
        """
    )
    (work / "interop.py").write_text(script)
    assert "round trips ok" in _ok(bin, ["python", "interop.py"], work).stdout
    _save_png(_photo(40, 48), work / "photo.png")
    _missing(bin, ["upscale", "photo.png", "-o", "big.png"], "image", work)


def test_environments_share_only_torch(torch_base):
    """The base environment holds torch and its own dependencies, nothing an extra brings."""
    names = {p.name.split("-")[0].lower() for p in torch_base.glob("*.dist-info")}
    assert "torch" in names
    assert not names & {"numpy", "pillow", "matplotlib", "tqdm", "scikit_image", "keras"}, names
    assert sysconfig.get_paths()["purelib"] != str(torch_base)
    assert sys.prefix not in str(torch_base)
