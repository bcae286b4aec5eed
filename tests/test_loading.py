"""tconv.loading: files are read as TorchScript or weights only; a pickle needs trust."""

from __future__ import annotations

import textwrap

import pytest
import torch

from tconv.cli import main
from tconv.loading import LoadError, load_file, load_model


class Boobytrap:
    """Unpickling this writes a file: what a malicious pickle could do instead."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (_write, (self.path,))


def _write(path):
    with open(path, "w") as f:
        f.write("this ran while unpickling")
    return torch.nn.ReLU()


@pytest.fixture
def models_package(tmp_path, monkeypatch):
    (tmp_path / "loading_fixture_models.py").write_text(
        textwrap.dedent("""
        import torch

        def build():
            return torch.nn.Sequential(
                torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
                torch.nn.Tanh(),
            )

        def broken():
            raise RuntimeError("no weights here")

        NOT_A_MODEL = 3
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_pickle_runs_no_code_without_trust(tmp_path):
    marker = tmp_path / "ran.txt"
    torch.save(Boobytrap(marker), tmp_path / "trap.pt")
    with pytest.raises(
        LoadError,
        match=r"is a full pickle .*unpickling can run arbitrary code, so tconv does not load it "
        r"by default: pass --trust-pickle",
    ):
        load_file(tmp_path / "trap.pt")
    assert not marker.exists()
    assert isinstance(load_file(tmp_path / "trap.pt", trust_pickle=True), torch.nn.ReLU)
    assert marker.exists()  # trusted: the pickle's code did run


def test_load_model_from_callable_and_files(models_package, tmp_path):
    model = load_model("loading_fixture_models:build")
    assert isinstance(model, torch.nn.Sequential)
    assert isinstance(load_model("torch.nn:ReLU"), torch.nn.ReLU)  # a class is called
    torch.save(model, tmp_path / "pickled.pt")
    with pytest.raises(
        LoadError, match=r"is a full pickle .*such as torch\.nn\.modules\.container\.Seq"
    ):
        load_model(str(tmp_path / "pickled.pt"))
    loaded = load_model(str(tmp_path / "pickled.pt"), trust_pickle=True)
    assert isinstance(loaded[0], torch.nn.ConvTranspose2d)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    assert set(load_file(tmp_path / "weights.pt")) == {"0.weight", "0.bias"}  # weights only
    with pytest.raises(LoadError, match="holds a state_dict, not a module"):
        load_model(str(tmp_path / "weights.pt"))
    torch.jit.save(torch.jit.script(model), str(tmp_path / "scripted.pt"))
    assert isinstance(load_model(str(tmp_path / "scripted.pt")), torch.jit.ScriptModule)
    with pytest.raises(
        LoadError,
        match="calling loading_fixture_models:broken failed: RuntimeError: no weights here",
    ):
        load_model("loading_fixture_models:broken")
    with pytest.raises(LoadError, match="is a int, not a module or a callable"):
        load_model("loading_fixture_models:NOT_A_MODEL")
    with pytest.raises(LoadError, match="has no attribute 'nope'"):
        load_model("loading_fixture_models:nope")
    with pytest.raises(LoadError, match="neither a file nor"):
        load_model("no_such_thing")


def test_files_that_are_not_torch_files(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a torch file at all")
    with pytest.raises(LoadError, match=r"cannot load '.*junk.pt': not a file saved by torch"):
        load_file(tmp_path / "junk.pt")
    with pytest.raises(LoadError, match="is a directory"):
        load_file(tmp_path)
    with pytest.raises(LoadError, match="does not exist"):
        load_file(tmp_path / "missing.pt")


def test_cli_inspect_needs_trust_for_a_pickle(models_package, tmp_path, capsys):
    torch.save(load_model("loading_fixture_models:build"), tmp_path / "model.pt")
    argv = ["inspect", str(tmp_path / "model.pt"), "--input", "1x3x8x8"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tconv inspect: error: ")
    assert "can run arbitrary code" in err and "--trust-pickle" in err
    assert main([*argv, "--trust-pickle"]) == 0
    assert "ConvTranspose2d" in capsys.readouterr().out
