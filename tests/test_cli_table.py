"""The command table (``tconv.cli.COMMANDS``): a command's module is imported only when it
runs, ``tconv --help`` imports none, a command that cannot be imported is that command's one
error line and never another's; ``import tconv`` stays light (no ``torch._dynamo``); a task's
flags come from its config's real types."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

import tconv.cli
from tconv import train
from tconv.cli import COMMANDS, Command, build_parser, main
from tconv.cli.train import config_fields

SRC = str(Path(tconv.__file__).resolve().parents[1])


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    env = {**os.environ, "PYTHONPATH": SRC}
    script = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_import_tconv_does_not_import_dynamo():
    loaded = _modules_after("import tconv")
    assert "tconv.methods.matrix" in loaded  # the module that used to pull it in
    assert "torch._dynamo" not in loaded


def test_help_and_version_import_no_command_module():
    for argv in (["--help"], ["--version"], []):
        code = (
            "from tconv.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "import sys; sys.stdout.flush()"
        )
        loaded = _modules_after(code)
        commands = {m for m in loaded if m.startswith("tconv.cli.") and m[10:] in COMMANDS}
        assert commands == set(), (argv, commands)
        assert not {"tconv.train", "tconv.viz", "tconv.bench", "matplotlib"} & loaded, argv


def test_a_command_imports_only_its_own_module():
    code = "from tconv.cli import main\nmain(['shape', '--input', '4', '--kernel', '3'])"
    loaded = _modules_after(code)
    assert {m for m in loaded if m.startswith("tconv.cli.")} == {
        "tconv.cli._args",
        "tconv.cli.shape",
    }


def test_the_table_is_the_one_summary(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in COMMANDS:
        assert f"    {name} " in text, name
    # the full parser (every module loaded) shows the table's line too, not its own
    full = build_parser()
    (sub,) = [a for a in full._actions if a.dest == "command"]
    helps = {a.dest: a.help for a in sub._choices_actions}  # type: ignore[attr-defined]
    assert helps == {name: row.summary for name, row in COMMANDS.items()}


def test_a_broken_command_is_its_own_one_line_error(capsys, monkeypatch, tmp_path):
    (tmp_path / "broken_tconv_command.py").write_text("import a_module_that_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(COMMANDS, "bench", Command("broken_tconv_command", "broken"))
    assert main(["bench", "--quick"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("tconv bench: error: ") and "a_module_that_does_not_exist" in err
    # every other command, and the help, still work
    assert main(["shape", "--input", "4", "--kernel", "3"]) == 0
    assert "output: 6" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0 and "bench" in capsys.readouterr().out


def test_a_broken_task_is_its_own_one_line_error(capsys, monkeypatch, tmp_path):
    (tmp_path / "broken_tconv_task.py").write_text("import a_module_that_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(train.TASK_MODULES, "broken", "broken_tconv_task")
    assert main(["train", "broken", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tconv train: error: "), err
    assert not (tmp_path / "run").exists()
    with pytest.raises(SystemExit) as exc:  # the other tasks are untouched
        main(["train", "sr", "--help"])
    assert exc.value.code == 0 and "--upsampler" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# task flags from the config's real types


@dataclasses.dataclass
class _Real:  # resolved annotations are types here, strings under __future__ annotations
    epochs: int = 2
    seed: int = 0
    augment: bool = False
    lr: float = 0.5
    name: str = "x"


class _RealTask(train.Task):
    name: ClassVar[str] = "real"
    Config: ClassVar[type] = _Real
    DESCRIPTION: ClassVar[str] = "A task for the flag tests."
    EXAMPLES: ClassVar[str] = "examples:\n  tconv train real --augment --out runs/real"


def test_flags_follow_the_real_types(monkeypatch):
    monkeypatch.setitem(train.TASKS, "real", _RealTask)
    monkeypatch.setitem(train.TASK_MODULES, "real", "tconv.train.real_does_not_exist")
    kinds = {f.name: kind for f, kind in config_fields(_Real)}
    assert kinds == {"epochs": int, "seed": int, "augment": bool, "lr": float, "name": str}
    parser = build_parser(["train"])
    args = parser.parse_args(["train", "real", "--out", "o", "--epochs", "3", "--augment"])
    assert args.epochs == 3 and args.augment is True and args.lr is None
    args = parser.parse_args(["train", "real", "--out", "o", "--no-augment", "--lr", "0.25"])
    assert args.augment is False and args.lr == 0.25


def test_a_field_of_another_type_is_named():
    @dataclasses.dataclass
    class Listy:
        epochs: int = 1
        sizes: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match=r"Listy.sizes: type .* use int, float, str or bool"):
        config_fields(Listy)


def test_every_task_declares_what_it_requires():
    from tconv.cli._args import OPTIONAL_MODULES

    for name in train.task_names():
        cls = train.get_task(name)
        assert cls.REQUIRES, name
        assert set(cls.REQUIRES) <= set(OPTIONAL_MODULES), (name, cls.REQUIRES)


def test_only_the_files_written_are_announced(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(train.TASKS, "real", _RealTask)
    monkeypatch.setitem(train.TASK_MODULES, "real", "tconv.train.real_does_not_exist")

    def fake_run(name, config, out, **kwargs):
        (Path(out) / "metrics.json").write_text(json.dumps({"loss": 0.5}))
        return {"metrics": {"loss": 0.5}}

    monkeypatch.setattr(train, "run", fake_run)
    assert main(["train", "real", "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"wrote {tmp_path / 'run'}/: metrics.json"
    assert "report.md" not in out
