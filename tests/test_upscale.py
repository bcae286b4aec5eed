"""tconv.upscale and `tconv upscale`: shipped models, tiling, image kinds, bad input."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import PIL.Image as Image
import pytest
import torch
import torch.nn.functional as F

import tconv
from tconv.cli import main
from tconv.train.data import load_photo
from tconv.upscale import (
    SHIPPED_SCALES,
    bicubic_array,
    load_sr_model,
    read_image,
    shipped_checkpoint,
    upscale,
    write_image,
)


def _photo(h: int = 48, w: int = 40) -> np.ndarray:
    """A crop of a held-out photo as uint8 (H, W, 3)."""
    x = load_photo("chelsea")[:, 100 : 100 + h, 200 : 200 + w]
    return (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("scale", SHIPPED_SCALES)
def test_shipped_models_are_small_plain_weights_with_provenance(scale):
    path = shipped_checkpoint(scale)
    assert path.stat().st_size < 2_000_000
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["task"] == "sr" and ckpt["config"]["scale"] == scale
    assert ckpt["provenance"]["command"].startswith(f"tconv train sr --scale {scale} ")
    assert ckpt["provenance"]["seed"] == ckpt["config"]["seed"]
    assert "chelsea" in ckpt["provenance"]["data"]["held_out"]
    assert "optimizers" not in ckpt
    model, found, _ = load_sr_model(scale)
    assert found == scale
    assert model(torch.rand(1, 3, 6, 7)).shape == (1, 3, 6 * scale, 7 * scale)


@pytest.mark.parametrize("scale", SHIPPED_SCALES)
def test_shipped_model_beats_bicubic_on_a_held_out_photo(scale):
    from tconv.train.data import bicubic, degrade
    from tconv.train.sr import psnr_ssim

    hr = load_photo("coffee")[:, 100:292, 200:392]
    lr = degrade(hr, scale)
    out = upscale(lr, scale)
    p, s = psnr_ssim(out, hr, scale)
    bp, bs = psnr_ssim(bicubic(lr[None], scale)[0], hr, scale)
    assert p > bp + 0.3 and s > bs


def test_tiled_equals_untiled_within_one_level():
    img = _photo(70, 90).astype(np.float32) / 255
    whole = upscale(img, 2, tile=0)
    tiled = upscale(img, 2, tile=24, overlap=16)
    assert np.abs(whole - tiled).max() <= 1 / 255
    # too little context is visibly different (the test can fail)
    bad = upscale(img, 2, tile=24, overlap=0)
    assert np.abs(whole - bad).max() > 1 / 255


def test_kinds_grey_rgba_uint16_tensor():
    rgb = _photo()
    grey = rgb[..., 1]
    out = upscale(grey, 2)
    assert out.shape == (96, 80) and out.dtype == np.uint8
    rgba = np.dstack([rgb, np.linspace(0, 255, 40, dtype=np.uint8)[None].repeat(48, 0)])
    out = upscale(rgba, 2)
    assert out.shape == (96, 80, 4)
    np.testing.assert_array_equal(out[..., 3], bicubic_array(rgba[..., 3], 2))
    np.testing.assert_array_equal(out[..., :3], upscale(rgb, 2))
    g16 = grey.astype(np.uint16) * 257
    out16 = upscale(g16, 2)
    assert out16.dtype == np.uint16
    assert np.abs(out16.astype(np.int64) // 257 - upscale(grey, 2)).max() <= 1
    t = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    assert upscale(t, 4).shape == (3, 192, 160)
    assert tconv.upscale is upscale
    with pytest.raises(tconv.ShapeError, match="with C in 1, 2, 3 or 4"):
        upscale(np.zeros((4, 4, 5), np.uint8), 2)
    with pytest.raises(TypeError, match="dtype int32 is not supported"):
        upscale(np.zeros((4, 4), np.int32), 2)
    with pytest.raises(ValueError, match="scale=3 has no shipped model"):
        upscale(rgb, 3)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp"])
def test_formats_round_trip(tmp_path, suffix):
    rgb = _photo(16, 20)
    path = tmp_path / f"a{suffix}"
    write_image(rgb, path)
    back = read_image(path)
    assert back.shape == rgb.shape
    tol = 0 if suffix in (".png", ".tif") else 40
    assert np.abs(back.astype(int) - rgb).max() <= tol
    g16 = (np.arange(320, dtype=np.uint16).reshape(16, 20) * 200).astype(np.uint16)
    if suffix in (".png", ".tif"):
        write_image(g16, tmp_path / f"g{suffix}")
        np.testing.assert_array_equal(read_image(tmp_path / f"g{suffix}"), g16)


def test_cli_file_folder_and_compare(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(_photo()).save(src / "cat.png")
    Image.fromarray(_photo()[..., 0]).save(src / "grey.jpg")
    (src / "notes.txt").write_text("not an image")
    assert (
        main(["upscale", str(src / "cat.png"), "-o", str(tmp_path / "big.png"), "--compare"]) == 0
    )
    assert read_image(tmp_path / "big.png").shape == (96, 80, 3)
    assert read_image(tmp_path / "big.bicubic.png").shape == (96, 80, 3)
    capsys.readouterr()
    # a folder: every image, same names; other files are skipped quietly, counted in a summary
    assert main(["upscale", str(src), "-o", str(tmp_path / "out"), "--scale", "4"]) == 0
    assert _files(tmp_path / "out") == {"cat.png", "grey.jpg"}
    assert read_image(tmp_path / "out" / "grey.jpg").shape == (192, 160)
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "tconv upscale: 2 written, 1 skipped (not images), 0 failed"
    assert "notes.txt" not in err and "Traceback" not in err


def _fails(argv: list[str], match: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert match in err, err


def test_bad_input_nothing_lost(tmp_path, capsys, monkeypatch):
    img = tmp_path / "cat.png"
    Image.fromarray(_photo()).save(img)
    before = img.read_bytes()
    out = tmp_path / "out.png"
    _fails(["upscale", str(tmp_path / "missing.png"), "-o", str(out)], "does not exist", capsys)
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    _fails(["upscale", str(tmp_path / "corrupt.png"), "-o", str(out)], "corrupt.png", capsys)
    (tmp_path / "text.txt").write_text("hello")
    _fails(["upscale", str(tmp_path / "text.txt"), "-o", str(out)], "cannot be read", capsys)
    _fails(["upscale", str(img), "-o", str(tmp_path / "o.gif")], "unsupported image type", capsys)
    # checkpoints: another task, another scale, corrupt, a pickle that is not plain weights
    seg = dict(torch.load(shipped_checkpoint(2), weights_only=True), task="seg")
    torch.save(seg, tmp_path / "seg.pt")
    _fails(
        ["upscale", str(img), "-o", str(out), "--checkpoint", str(tmp_path / "seg.pt")],
        "of task 'seg', not 'sr'",
        capsys,
    )
    x4 = str(shipped_checkpoint(4))
    _fails(  # the scale comes from the file: a --scale that disagrees is refused
        ["upscale", str(img), "-o", str(out), "--scale", "2", "--checkpoint", x4],
        "is a x4 model, not x2: leave --scale out",
        capsys,
    )
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    _fails(
        ["upscale", str(img), "-o", str(out), "--checkpoint", str(tmp_path / "bad.pt")],
        "not a file saved by torch",
        capsys,
    )
    torch.save({"format": "tconv-checkpoint", "x": Path("/")}, tmp_path / "pickle.pt")
    _fails(
        ["upscale", str(img), "-o", str(out), "--checkpoint", str(tmp_path / "pickle.pt")],
        "unpickling can run arbitrary code, so tconv does not load it by default: pass "
        "--trust-pickle",
        capsys,
    )
    _fails(["upscale", str(img), "-o", str(out), "--scale", "3"], "no shipped model", capsys)
    # outputs: the input is never overwritten, an existing file is refused without --force
    _fails(["upscale", str(img), "-o", str(img), "--force"], "is an input image", capsys)
    _fails(["upscale", str(img), "-o", str(tmp_path)], "is an input image", capsys)
    out.write_bytes(b"mine")
    _fails(["upscale", str(img), "-o", str(out)], "exists; pass --force", capsys)
    assert out.read_bytes() == b"mine"
    _fails(["upscale", str(img), "-o", str(tmp_path / "no" / "o.png")], "does not exist", capsys)
    real_mkstemp = tempfile.mkstemp

    def refused(*args, **kwargs):
        if str(kwargs.get("prefix", "")).startswith(".tconv-probe-"):
            raise PermissionError(13, "Permission denied")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    _fails(
        ["upscale", str(img), "-o", str(tmp_path / "o.png")],
        "is not writable (Permission denied)",
        capsys,
    )
    monkeypatch.undo()
    # os.access says yes to root on /proc; the probe file finds out before any work
    _fails(["upscale", str(img), "-o", "/proc/o.png"], "the folder '/proc' is not writable", capsys)
    assert img.read_bytes() == before
    names = _files(tmp_path)
    assert names == {
        "cat.png",
        "corrupt.png",
        "text.txt",
        "seg.pt",
        "bad.pt",
        "pickle.pt",
        "out.png",
    }
    assert main(["upscale", str(img), "-o", str(out), "--force"]) == 0
    assert read_image(out).shape == (96, 80, 3)


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        write_image(_photo(), tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_bicubic_array_is_torch_bicubic():
    x = _photo(8, 9).astype(np.float32) / 255
    ref = F.interpolate(
        torch.from_numpy(x).permute(2, 0, 1)[None], scale_factor=2, mode="bicubic"
    ).clamp(0, 1)[0]
    np.testing.assert_allclose(bicubic_array(x, 2), ref.permute(1, 2, 0).numpy(), atol=1e-6)


def test_demo_upscales_a_held_out_photo(tmp_path, capsys):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "upscale_photo.py"
    spec = importlib.util.spec_from_file_location("upscale_photo", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(tmp_path)
    for scale in (2, 4):
        r = results[f"x{scale}"]
        assert r["psnr"] > r["bicubic_psnr"] and r["ssim"] > r["bicubic_ssim"]
        # a figure a reader can see (it was 836x231 with tiny insets): the zoomed centres are
        # a row of their own
        with Image.open(tmp_path / f"upscale-chelsea-x{scale}.png") as im:
            assert im.size[0] >= 1200 and im.size[1] >= 600
    assert "shipped model PSNR(Y)" in capsys.readouterr().out


def _deep(channels: int) -> np.ndarray:
    """A 16-bit photo crop whose low bytes carry information (not 8-bit times 257)."""
    x = load_photo("chelsea")[:, 100:132, 200:228].permute(1, 2, 0).numpy()
    h, w = x.shape[:2]
    shade = np.linspace(0, 1, h)[:, None, None] * np.linspace(0.5, 1, w)[None, :, None]
    img = np.rint(x * 60000 + shade * 5000).astype(np.uint16)
    if channels == 4:
        ramp = np.linspace(0, 65535, img.shape[1]) * np.linspace(0.3, 1, img.shape[0])[:, None]
        img = np.dstack([img, np.rint(ramp).astype(np.uint16)])
    return img


def _write_external(img: np.ndarray, path: Path) -> None:
    """Write with pypng/tifffile directly, so reading is checked against another writer."""
    if path.suffix == ".png":
        import png

        h, w, c = img.shape
        with path.open("wb") as f:
            writer = png.Writer(w, h, greyscale=False, alpha=c == 4, bitdepth=16)
            writer.write_array(f, img.ravel())
    else:
        import tifffile

        tifffile.imwrite(path, img, photometric="rgb")


def _read_external(path: Path) -> np.ndarray:
    if path.suffix == ".png":
        import png

        w, h, rows, info = png.Reader(filename=str(path)).asDirect()
        assert info["bitdepth"] == 16
        return np.vstack([np.asarray(r, np.uint16) for r in rows]).reshape(h, w, info["planes"])
    import tifffile

    return tifffile.imread(path)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_colour_round_trips_at_16_bits(tmp_path, capsys, suffix, channels):
    img = _deep(channels)
    assert (img % 257 != 0).mean() > 0.9  # the low byte is not a copy of the high byte
    src = tmp_path / f"deep{suffix}"
    _write_external(img, src)
    back = read_image(src)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, img)
    dst = tmp_path / f"big{suffix}"
    assert main(["upscale", str(src), "-o", str(dst), "--no-progress"]) == 0
    out = _read_external(dst)
    assert out.dtype == np.uint16 and out.shape == (64, 56, channels)
    np.testing.assert_array_equal(read_image(dst), out)
    # equals the float computation of tconv.upscale's array path, within one 16-bit level
    ref = upscale(img.astype(np.float32) / 65535, 2) * 65535
    assert np.abs(out - ref).max() <= 1.0
    # and an 8-bit result would be ~128 levels off somewhere: the test can tell
    assert np.abs((out >> 8).astype(np.float64) * 257 - ref).max() > 64
    # writing the array path's uint16 result gives the same file contents
    write_image(upscale(img, 2), tmp_path / f"again{suffix}")
    np.testing.assert_array_equal(_read_external(tmp_path / f"again{suffix}"), out)


def test_16bit_to_jpeg_or_webp_is_refused_unless_asked(tmp_path, capsys):
    src = tmp_path / "deep.png"
    _write_external(_deep(3), src)
    for name, fmt in (("big.jpg", "JPEG"), ("big.webp", "WEBP")):
        _fails(
            ["upscale", str(src), "-o", str(tmp_path / name)],
            f"{fmt} holds only 8 bits per channel, the image has 16: write PNG or TIFF",
            capsys,
        )
    assert _files(tmp_path) == {"deep.png"}
    with pytest.raises(ValueError, match=r"JPEG holds only 8 bits.*to_8bit=True"):
        write_image(_deep(3), tmp_path / "x.jpg")
    assert _files(tmp_path) == {"deep.png"}
    assert main(["upscale", str(src), "-o", str(tmp_path / "big.jpg"), "--to-8-bit"]) == 0
    assert read_image(tmp_path / "big.jpg").dtype == np.uint8


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_truncated_16bit_colour_file_is_one_line(tmp_path, capsys, suffix):
    whole = tmp_path / f"whole{suffix}"
    write_image(_deep(4), whole)
    data = whole.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    _fails(
        ["upscale", str(cut), "-o", str(tmp_path / "o.png")], "is corrupt or unsupported", capsys
    )
    assert not (tmp_path / "o.png").exists()


def test_folders_summary_and_exit_status(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(_photo(20, 24)).save(src / "a.png")
    Image.fromarray(_photo(20, 24)[..., 1]).save(src / "b.jpg")
    (src / "readme.txt").write_text("two photos")
    (src / "sub").mkdir()
    assert main(["upscale", str(src), "-o", str(out), "--no-progress"]) == 0
    assert _files(out) == {"a.png", "b.jpg"}
    captured = capsys.readouterr()
    assert captured.err == "tconv upscale: 2 written, 2 skipped (not images), 0 failed\n"
    assert captured.out.count(" -> ") == 2
    # an image that fails: the others are still written, the failure is named, exit 2
    (src / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    assert main(["upscale", str(src), "-o", str(tmp_path / "out2"), "--no-progress"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "c.png" in err[0] and "corrupt" in err[0], err
    assert err[1] == f"tconv upscale: 2 written, 2 skipped (not images), 1 failed: {src / 'c.png'}"
    assert _files(tmp_path / "out2") == {"a.png", "b.jpg"}
    # nothing to do is said, exit 2
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("no images")
    _fails(["upscale", str(empty), "-o", str(tmp_path / "out3")], "holds no image", capsys)
    assert not (tmp_path / "out3").exists()


def test_memory_is_estimated_and_refused_before_any_work(tmp_path, capsys):
    from tconv.upscale import memory_needed, parse_size, upscale_file

    img = tmp_path / "cat.png"
    Image.fromarray(_photo(64, 64)).save(img)
    for out in ("big.tif", "big.png"):
        _fails(
            ["upscale", str(img), "-o", str(tmp_path / out), "--max-memory", "100k"],
            "needs about",
            capsys,
        )
    assert _files(tmp_path) == {"cat.png"}
    with pytest.raises(MemoryError, match=r"x4 needs about .* more than the 1 MiB"):
        upscale_file(img, tmp_path / "big.tif", 4, max_memory=2**20)
    _fails(["upscale", str(img), "-o", str(tmp_path / "o.png"), "--max-memory", "-1"], "-1", capsys)
    assert main(["upscale", str(img), "-o", str(tmp_path / "o.png"), "--max-memory", "1G"]) == 0
    assert parse_size("1.5k") == 1536
    # the case that failed after 44 s ("Unable to allocate 8.58 GiB"): a 12000 x 12000 grey PNG
    # at x4 is streamed (under 1 GiB), a TIFF would hold the 2.1 GiB output and its copy
    assert memory_needed(12000, 12000, 1, np.uint8, 4, "PNG") < 2**30
    assert memory_needed(12000, 12000, 1, np.uint8, 4, "TIFF") > 2 * 48000**2


@pytest.mark.parametrize("channels", [1, 2, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_streamed_png_equals_the_whole_image(tmp_path, channels, dtype):
    from tconv.upscale import upscale_file

    rng = np.random.default_rng(channels)
    top = np.iinfo(dtype).max
    img = (rng.random((37, 45, channels)) * top).astype(dtype)
    img = img[..., 0] if channels == 1 else img
    write_image(img, tmp_path / "a.png")
    upscale_file(tmp_path / "a.png", tmp_path / "b.png", 2, tile=16, compare=tmp_path / "c.png")
    got = read_image(tmp_path / "b.png")
    np.testing.assert_array_equal(got, upscale(img, 2, tile=16))
    np.testing.assert_array_equal(read_image(tmp_path / "c.png"), bicubic_array(img, 2))
    if channels in (2, 4):  # alpha, computed row of tiles by row of tiles, is torch's bicubic
        alpha = torch.from_numpy(img[..., -1].astype(np.float32) / top)[None, None]
        ref = F.interpolate(alpha, scale_factor=2, mode="bicubic", align_corners=False)
        ref = np.rint(ref[0, 0].clamp(0, 1).numpy() * top)
        assert np.abs(got[..., -1].astype(np.float64) - ref).max() <= 1


def test_the_output_is_never_held_in_float(tmp_path):
    """numpy's allocations (traced) stay below the output's size for PNG (streamed: one row of
    tiles at a time) and below three times it for TIFF (held in uint8, and one copy) -- the
    old code held the whole output as float32 and two float32 temporaries (12 times)."""
    import tracemalloc

    from tconv.upscale import upscale_file

    rng = np.random.default_rng(0)
    img = (rng.random((2400, 32)) * 255).astype(np.uint8)
    write_image(img, tmp_path / "a.png")
    out_bytes = 2400 * 32 * 16  # x4, uint8 grey
    model = torch.nn.Upsample(scale_factor=4)  # a cheap stand-in: the memory is the point
    for name, bound in (("b.png", out_bytes), ("b.tif", 3 * out_bytes)):
        warm = tmp_path / ("warm" + name[1:])
        upscale_file(tmp_path / "a.png", warm, 4, model=model, tile=24)
        warm.unlink()  # the first call imports
        tracemalloc.start()
        upscale_file(tmp_path / "a.png", tmp_path / name, 4, model=model, tile=24)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < bound, (name, peak, out_bytes)
    np.testing.assert_array_equal(read_image(tmp_path / "b.png"), np.kron(img, np.ones((4, 4))))


def test_pillow_warnings_are_one_clean_line(tmp_path, capsys, monkeypatch):
    import warnings

    img = tmp_path / "cat.png"
    Image.fromarray(_photo(20, 20)).save(img)
    real_open = Image.open

    def warning_open(*args, **kwargs):
        warnings.warn("Corrupt EXIF data.  Expecting to read 4 bytes but only got 2.", stacklevel=2)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", warning_open)
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        assert main(["upscale", str(img), "-o", str(tmp_path / "o.png"), "--no-progress"]) == 0
    assert escaped == []
    err = capsys.readouterr().err
    message = "Corrupt EXIF data.  Expecting to read 4 bytes but only got 2."
    assert err == f"tconv upscale: warning: {str(img)!r}: {message}\n"


def test_a_tiny_tile_is_warned_about_with_the_estimate(tmp_path, capsys):
    from tconv.upscale import tile_slowdown

    img = tmp_path / "cat.png"
    Image.fromarray(_photo(64, 64)).save(img)
    assert (
        main(["upscale", str(img), "-o", str(tmp_path / "o.png"), "--tile", "8", "--no-progress"])
        == 0
    )
    err = capsys.readouterr().err
    slow = tile_slowdown(64, 64, 8)
    assert slow > 10
    assert err.startswith(f"tconv upscale: warning: --tile 8 does about {slow:.0f}x the work"), err
    assert (
        main(["upscale", str(img), "-o", str(tmp_path / "p.png"), "--tile", "48", "--no-progress"])
        == 0
    )
    assert "warning" not in capsys.readouterr().err
