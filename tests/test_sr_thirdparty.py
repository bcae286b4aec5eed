"""Bring your own model: ESRGAN / Real-ESRGAN checkpoints natively, others through spandrel.

The architectures are built with random weights and saved here (nothing is downloaded). The
native networks are checked against spandrel's implementations (an independent copy, written
from the same reference code), run with a stand-in torchvision: spandrel imports torchvision
at import time, for two architectures that are not used here, and PyPI's torchvision build
does not work beside this project's CPU torch.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image  # the image extra, installed by make test

from tconv.cli import main
from tconv.sr import load_sr_model
from tconv.sr.thirdparty import RRDBNet, SRVGGNetCompact, detect, unwrap
from tconv.upscaling import upscale

_STUB = {
    "torchvision/__init__.py": "",
    "torchvision/transforms/__init__.py": "",
    "torchvision/transforms/functional.py": textwrap.dedent(
        """\
        import enum


        class InterpolationMode(enum.Enum):
            NEAREST = "nearest"
            BILINEAR = "bilinear"


        def rotate(*args, **kwargs):
            raise NotImplementedError("a stand-in")


        normalize = rotate
        """
    ),
}


def _stub_torchvision(folder: Path, broken: bool = False) -> Path:
    for name, text in _STUB.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    if broken:  # what PyPI's CUDA build does beside a CPU torch
        (folder / "torchvision/__init__.py").write_text(
            'raise RuntimeError("operator torchvision::nms does not exist")\n'
        )
    return folder


@pytest.fixture
def spandrel(tmp_path, monkeypatch):
    """spandrel, imported with the stand-in torchvision (fresh imports, undone afterwards)."""
    monkeypatch.syspath_prepend(str(_stub_torchvision(tmp_path / "stub")))
    for name in list(sys.modules):
        if name.split(".")[0] in ("spandrel", "torchvision"):
            monkeypatch.delitem(sys.modules, name)
    import spandrel

    yield spandrel
    for name in list(sys.modules):
        if name.split(".")[0] in ("spandrel", "torchvision"):
            del sys.modules[name]


def _seeded(net: torch.nn.Module) -> torch.nn.Module:
    # random, not small: biases and PReLU slopes away from their initial values too
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return net.eval()


def _old_esrgan_keys(sd: dict[str, torch.Tensor], stages: int) -> dict[str, torch.Tensor]:
    """BasicSR's keys in the original ESRGAN release's layout (model.N, written here from the
    release's Sequential: conv, ShortcutBlock(RRDBs + conv), then per stage upsample + conv +
    LeakyReLU, then conv + LeakyReLU and the last conv)."""
    blocks = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("body."))
    tail = {f"conv_up{k + 1}": 3 + 3 * k for k in range(stages)}
    tail |= {"conv_hr": 3 + 3 * stages - 1, "conv_last": 3 + 3 * stages + 1}
    out = {}
    for k, v in sd.items():
        if m := re.match(r"body\.(\d+)\.rdb(\d)\.conv(\d)\.(\w+)$", k):
            out[f"model.1.sub.{m[1]}.RDB{m[2]}.conv{m[3]}.0.{m[4]}"] = v
        elif k.startswith("conv_first."):
            out["model.0." + k.split(".")[1]] = v
        elif k.startswith("conv_body."):
            out[f"model.1.sub.{blocks}." + k.split(".")[1]] = v
        else:
            name, what = k.split(".")
            out[f"model.{tail[name]}.{what}"] = v
    return out


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_rrdbnet_equals_spandrel_in_every_key_layout(scale, tmp_path, spandrel):
    net = _seeded(RRDBNet(scale=scale, num_feat=8, num_block=2, num_grow_ch=32))
    sd = net.state_dict()
    x = torch.rand(1, 3, 13, 10)  # odd: the x2/x1 models pad for their pixel-unshuffle
    with torch.no_grad():
        ours = net(x)
        theirs = spandrel.ModelLoader().load_from_state_dict(sd).model(x)
    assert ours.shape == (1, 3, 13 * scale, 10 * scale)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)
    repo = {  # the ESRGAN repository's names
        re.sub(r"^body\.(\d+)\.rdb(\d)", r"RRDB_trunk.\1.RDB\2", k)
        .replace("conv_body", "trunk_conv")
        .replace("conv_hr", "HRconv")
        .replace("conv_up", "upconv"): v
        for k, v in sd.items()
    }
    layouts = {"params_ema": {"params_ema": sd}, "params": {"params": sd}, "repo": repo}
    if scale == 4:  # the original release had no pixel-unshuffle models
        old = _old_esrgan_keys(sd, 2)
        layouts["old"] = old
        with torch.no_grad():  # spandrel reads this layout too: the renaming checked twice
            theirs_old = spandrel.ModelLoader().load_from_state_dict(old).model(x)
        torch.testing.assert_close(theirs_old, ours, rtol=1e-4, atol=1e-5)
    for name, obj in layouts.items():
        torch.save(obj, tmp_path / f"{name}.pth")
        model, found, info = load_sr_model(None, tmp_path / f"{name}.pth")
        assert (found, info["architecture"], info["source"]) == (scale, "RRDBNet", "native")
        with torch.no_grad():
            torch.testing.assert_close(model(x), ours, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("scale", [2, 4])
def test_compact_equals_spandrel_and_safetensors(scale, tmp_path, spandrel):
    from safetensors.torch import save_file

    net = _seeded(SRVGGNetCompact(num_feat=8, num_conv=3, scale=scale))
    x = torch.rand(2, 3, 9, 11)
    with torch.no_grad():
        ours = net(x)
        descriptor = spandrel.ModelLoader().load_from_state_dict(net.state_dict())
        torch.testing.assert_close(ours, descriptor.model(x), rtol=1e-4, atol=1e-5)
    assert descriptor.scale == scale
    save_file(net.state_dict(), str(tmp_path / "compact.safetensors"))
    model, found, info = load_sr_model(None, tmp_path / "compact.safetensors")
    assert (found, info["architecture"]) == (scale, "SRVGGNetCompact")
    with torch.no_grad():
        torch.testing.assert_close(model(x), ours)


def test_detect_reads_the_hyperparameters():
    found = detect(RRDBNet(num_in_ch=1, num_out_ch=1, scale=8, stages=3, num_feat=8,
                           num_block=3, num_grow_ch=4).state_dict())  # fmt: skip
    assert found is not None and found.scale == 8
    assert found.params == {"num_in_ch": 1, "num_out_ch": 1, "scale": 8, "num_feat": 8,
                            "num_block": 3, "num_grow_ch": 4, "stages": 3}  # fmt: skip
    compact = detect(SRVGGNetCompact(num_feat=6, num_conv=5, scale=3).state_dict())
    assert compact is not None and compact.params["num_conv"] == 5 and compact.scale == 3
    assert detect({"weight": torch.zeros(3, 3, 3, 3)}) is None
    assert unwrap({"module.a": torch.zeros(1)}) == {"a": torch.zeros(1)}
    assert unwrap({"epoch": 3}) is None


def test_safe_loading_and_the_scale_from_the_file(tmp_path, capsys):
    net = _seeded(SRVGGNetCompact(num_feat=4, num_conv=1, scale=4))
    torch.save(net, tmp_path / "pickled.pth")  # a full pickle: code could run while loading
    with pytest.raises(ValueError, match=r"full pickle.*pass --trust-pickle"):
        load_sr_model(None, tmp_path / "pickled.pth")
    model, scale, _ = load_sr_model(None, tmp_path / "pickled.pth", trust_pickle=True)
    x = torch.rand(1, 3, 5, 4)
    with torch.no_grad():
        assert scale == 4 and torch.equal(model(x), net(x))
    torch.save({"params_ema": net.state_dict()}, tmp_path / "x4.pth")
    with pytest.raises(ValueError, match=r"is a x4 model, not x2: leave --scale out"):
        load_sr_model(2, tmp_path / "x4.pth")
    img = tmp_path / "in.png"
    Image.fromarray((np.random.default_rng(0).random((9, 7, 3)) * 255).astype(np.uint8)).save(img)
    assert main(["upscale", str(img), "-o", str(tmp_path / "o.png"), "--checkpoint",
                 str(tmp_path / "x4.pth"), "--no-progress"]) == 0  # fmt: skip
    assert Image.open(tmp_path / "o.png").size == (28, 36)
    capsys.readouterr()
    for extra, rule in (
        (["--scale", "2"], "is a x4 model, not x2"),
        (["--trust-pickle", "--scale", "3"], "not x3"),
    ):
        code = main(["upscale", str(img), "-o", str(tmp_path / "p.png"), "--checkpoint",
                     str(tmp_path / "x4.pth"), *extra])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and rule in err and err.count("\n") == 1, err
    code = main(["upscale", str(img), "-o", str(tmp_path / "p.png"), "--checkpoint",
                 str(tmp_path / "pickled.pth")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--trust-pickle" in err and err.count("\n") == 1, err
    assert not (tmp_path / "p.png").exists()


def test_each_caller_gets_its_own_module(tmp_path):
    first, _, _ = load_sr_model(2)
    first.double()  # used to change the cached module every later caller got
    out = upscale(np.zeros((6, 5, 3), np.uint8), 2)
    assert out.shape == (12, 10, 3)
    second, _, _ = load_sr_model(2)
    assert next(second.parameters()).dtype == torch.float32


@pytest.mark.parametrize(
    "net",
    [
        RRDBNet(scale=2, num_feat=8, num_block=1, num_grow_ch=8),
        RRDBNet(scale=4, num_feat=8, num_block=1, num_grow_ch=8),
        SRVGGNetCompact(num_feat=8, num_conv=4, scale=4),
    ],
    ids=["rrdbnet-x2", "rrdbnet-x4", "compact-x4"],
)
def test_tiled_and_untiled_within_one_8bit_level(net, tmp_path):
    net = _seeded(net)
    torch.save({"params_ema": net.state_dict()}, tmp_path / "m.pth")
    rgb = (np.random.default_rng(1).random((45, 37, 3)) * 255).astype(np.uint8)
    with torch.no_grad():  # the network on the whole image, in float
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
        whole = net(x)[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255
    for tile in (0, 16):
        out = upscale(rgb, None, checkpoint=tmp_path / "m.pth", tile=tile)
        assert out.shape == (45 * net.scale, 37 * net.scale, 3)
        assert np.abs(out.astype(np.float64) - whole).max() <= 1.0, tile


def test_other_architectures_through_spandrel(tmp_path, spandrel, capsys):
    from spandrel.architectures.SwinIR import SwinIR

    net = SwinIR(upscale=2, img_size=16, window_size=4, depths=[1], embed_dim=12,
                 num_heads=[2], mlp_ratio=2, upsampler="pixelshuffledirect").eval()  # fmt: skip
    torch.save({"params": net.state_dict()}, tmp_path / "swinir.pth")
    model, scale, info = load_sr_model(None, tmp_path / "swinir.pth")
    assert (scale, info["architecture"], info["source"]) == (2, "SwinIR", "spandrel")
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(model(x), net(x))
    img = tmp_path / "in.png"
    Image.fromarray(np.zeros((10, 12, 3), np.uint8)).save(img)
    out = tmp_path / "o.png"
    assert main(["upscale", str(img), "-o", str(out), "--checkpoint",
                 str(tmp_path / "swinir.pth"), "--no-progress"]) == 0  # fmt: skip
    assert Image.open(out).size == (24, 20)


def test_inspect_an_image_model_without_input(tmp_path, capsys):
    net = _seeded(RRDBNet(scale=2, num_feat=8, num_block=1, num_grow_ch=8))
    torch.save({"params_ema": net.state_dict()}, tmp_path / "esrgan.pth")
    assert main(["inspect", str(tmp_path / "esrgan.pth")]) == 0
    out = capsys.readouterr().out
    assert "(RRDBNet, x2 super-resolution)  input 1x3x64x64 -> output 1x3x128x128" in out
    assert re.search(r"conv_up1 +Conv2d", out) and "interpolate" not in out.split("model:")[0]
    torch.save({"weight": torch.zeros(2)}, tmp_path / "plain.pt")  # weights, not an SR model
    assert main(["inspect", str(tmp_path / "plain.pt"), "--input", "1x3x8x8"]) == 2
    err = capsys.readouterr().err  # not one of ours: spandrel's turn (or its one-line absence)
    assert err.count("\n") == 1 and "plain.pt" in err, err


_CHILD = """
import sys, torch
from tconv.cli import main
from tconv.sr import load_sr_model
torch.save({"params": {"conv.weight": torch.zeros(4, 3, 3, 3)}}, sys.argv[1] + "/other.pth")
from tconv.sr.thirdparty import SRVGGNetCompact
torch.save(SRVGGNetCompact(num_feat=4, num_conv=1, scale=2).state_dict(), sys.argv[1] + "/c.pth")
assert load_sr_model(None, sys.argv[1] + "/c.pth")[1] == 2  # native: works without spandrel
code = main(["inspect", sys.argv[1] + "/other.pth"])
print("exit", code)
"""


@pytest.mark.parametrize(
    "setup, expected",
    [
        ("missing-torchvision", "torchvision is not installed: spandrel imports torchvision;"),
        ("broken-torchvision", "spandrel cannot be imported (RuntimeError: operator torchvision"),
        ("missing-spandrel", "for others install spandrel: pip install --no-deps spandrel"),
    ],
)
def test_spandrel_or_torchvision_missing_is_one_line(setup, expected, tmp_path):
    paths = [str(Path(__file__).parents[1] / "src")]
    blocker = tmp_path / "block"
    blocker.mkdir()
    if setup == "broken-torchvision":
        paths.insert(0, str(_stub_torchvision(tmp_path / "stub", broken=True)))
    else:  # hide what the environment may have installed: a module that is "not found"
        hidden = "torchvision" if setup == "missing-torchvision" else "spandrel"
        (blocker / "sitecustomize.py").write_text(
            "import sys\n"
            "class _Hide:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] == {hidden!r}:\n"
            "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
            "sys.meta_path.insert(0, _Hide())\n"
        )
        paths.insert(0, str(blocker))
    if setup == "missing-torchvision":  # installed, as make test does (import needs torchvision)
        assert importlib.util.find_spec("spandrel") is not None
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": ":".join(paths), "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.strip().endswith("exit 2"), done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert expected in lines[0], lines[0]
