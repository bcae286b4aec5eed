"""The command line's shared parts (``tconv.cli._args`` and ``main``'s one error handler): the
geometry flags with one ``--padding`` reader, numbers through one range check, one output-path
check, missing optional modules named with their extra, bool config fields as switches."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import re
import shlex
import sys
from pathlib import Path
from typing import ClassVar

import pytest
import tomllib

import tconv.cli
from tconv import train
from tconv.cli import build_parser, main
from tconv.cli._args import OPTIONAL_MODULES, check_output, parse_padding
from tconv.planning import inverse_of
from tconv.shapes import Geometry, ShapeError

ROOT = Path(__file__).resolve().parents[1]


def one_line(capsys, argv: list[str], command: str) -> str:
    """Run argv; it must exit 2 with one error line on stderr and nothing on stdout."""
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    out, err = capsys.readouterr()
    assert status == 2, (argv, out, err)
    assert out == "" and err.count("\n") == 1, err
    # runtime errors name the command (tconv train), usage errors the parser (tconv train sr)
    assert re.match(rf"tconv {command}( \w+)?: error: ", err) and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------------------------------------
# --padding: one reader, the same spellings for shape, explain and inverse

#: (the tokens after --padding, the library's padding argument they mean)
SPELLINGS = [
    (["1"], 1),
    (["1", "0"], (1, 0)),
    (["1x0"], (1, 0)),
    (["1,-2"], ((1, -2),)),
    (["1,2", "0,1"], ((1, 2), (0, 1))),
    (["1,2x0,1"], ((1, 2), (0, 1))),
    (["same"], "same"),
    (["valid"], "valid"),
    (["same_lower"], "same_lower"),
]


@pytest.mark.parametrize(("tokens", "padding"), SPELLINGS)
def test_shape_and_explain_read_every_padding_spelling_as_the_library(capsys, tokens, padding):
    want = list(Geometry.create(3, 2, padding, rank=2).output_size((6, 7)))
    geometry = ["--input", "6", "7", "--kernel", "3", "--stride", "2", "--padding", *tokens]
    assert main(["shape", *geometry, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == want
    assert main(["explain", *geometry, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output_size"] == want


# a convolution's pads are >= 0, and 'same_lower' is a transposed convolution's name
CONV_SPELLINGS = [s for s in SPELLINGS if s[1] != "same_lower" and "-" not in "".join(s[0])]


@pytest.mark.parametrize(("tokens", "padding"), [*CONV_SPELLINGS, (["0,1"], ((0, 1),))])
def test_inverse_reads_the_same_spellings_in_one_token(capsys, tokens, padding):
    token = "x".join(tokens)  # inverse's flags take one token (its sizes follow them)
    argv = ["inverse", "--kernel", "3", "--stride", "1", "--padding", token, "9x10", "--json"]
    assert main(argv) == 0
    (row,) = json.loads(capsys.readouterr().out)
    want = inverse_of({"kernel_size": 3, "stride": 1, "padding": padding}, (9, 10))
    assert row["output_padding"] == list(want.output_padding)
    assert row["output_size"] == [9, 10]


def test_shape_accepts_a_crop_pair_that_it_refused_before(capsys):
    # `tconv shape --padding 1,-2` was refused while `tconv explain` took it
    assert (
        main(["shape", "--input", "6", "--kernel", "3", "--stride", "2", "--padding", "1,-2"]) == 0
    )
    assert "\noutput: 14\n" in capsys.readouterr().out  # (6 - 1)*2 - 1 + 2 + 2 + 1


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["1", "0,1"], "give every value as a LO,HI pair or none"),
        (["same", "1"], "the name 'same' stands alone"),
        (["1,x"], "a pair is two ints LO,HI"),
        (["1,2,3"], "a pair is two ints LO,HI"),
        (["bogus"], "valid names are"),
        (["-1"], "padding=-1 is invalid"),
    ],
)
@pytest.mark.parametrize("command", ["shape", "explain"])
def test_a_bad_padding_is_one_line_in_every_command(capsys, command, tokens, message):
    argv = [command, "--input", "6", "--kernel", "3", "--stride", "2", "--padding", *tokens]
    assert message in one_line(capsys, argv, command)


@pytest.mark.parametrize("token", ["1,x", "same_lower", "bogus", "-1", "1y"])
def test_a_bad_conv_padding_is_one_line(capsys, token):
    one_line(capsys, ["inverse", "--kernel", "3", "--padding", token, "9"], "inverse")


def test_parse_padding_refuses_what_it_cannot_read():
    with pytest.raises(ShapeError, match=r"--padding '1,' is invalid: '1,' is not an int"):
        parse_padding(["1,"])
    assert parse_padding(0) == 0 and parse_padding("0x10") == (0, 10)


# ---------------------------------------------------------------------------------------------
# numbers: every number flag goes through the one range check


def _parsers(parser: argparse.ArgumentParser, name: str = "tconv"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_number_flag_reads_through_the_range_helper():
    seen = []
    for name, parser in _parsers(build_parser()):
        for action in parser._actions:
            assert action.type not in (int, float), f"{name} {action.option_strings}: bare int"
            # _per_dimension: "16x12" read part by part through int_range
            if getattr(action.type, "__qualname__", "").startswith(("_ranged.", "_per_dimension")):
                seen.append(f"{name} {action.dest}")
    # the helper is used: geometry, plan, upscale, bench, inspect, explain and train flags
    for flag in ("tconv shape input", "tconv upscale tile", "tconv upscale scale",
                 "tconv plan max_results", "tconv bench threads", "tconv inspect max_memory",
                 "tconv explain position", "tconv train sr epochs"):  # fmt: skip
        assert flag in seen, flag


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["upscale", "a.png", "-o", "b.png", "--tile", "-1"],
         "argument --tile: -1 is out of range: valid values are 0 or more"),
        (["upscale", "a.png", "-o", "b.png", "--scale", "0"], "--scale: 0 is out of range"),
        (["upscale", "a.png", "-o", "b.png", "--tile", "1e3"], "invalid integer '1e3'"),
        (["bench", "--threads", "99999999999999999999"], "99999999999999999999 is out of range"),
        (["inspect", "m:f", "--input", "1x3x8x8", "--max-memory", "nan"], "nan is not a finite"),
        (["explain", "--input", "4", "--kernel", "3", "--position", "-1"], "-1 is out of range"),
        (["train", "sr", "--out", "x", "--lr", "inf"], "inf is not a finite number"),
    ],
)  # fmt: skip
def test_out_of_range_numbers_are_one_usage_line(capsys, argv, message):
    assert message in one_line(capsys, argv, argv[0])


# ---------------------------------------------------------------------------------------------
# output paths: one check, with the probe, before any work


def test_check_output_refuses_before_any_work_and_creates_nothing(tmp_path):
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"mine")
    with pytest.raises(FileExistsError, match=r"-o '.*mine.png' exists; pass --force"):
        check_output(mine, flag="-o")
    check_output(mine, flag="-o", force=True)
    with pytest.raises(FileNotFoundError, match=r"the folder '.*no' does not exist"):
        check_output(tmp_path / "no" / "x.png", flag="-o")
    with pytest.raises(IsADirectoryError, match="is a folder, not a file"):
        check_output(tmp_path, flag="-o", force=True)
    with pytest.raises(NotADirectoryError, match="exists and is not a folder"):
        check_output(mine, flag="--out", folder=True)
    # /proc: os.access says yes to root, the probe file finds out
    with pytest.raises(PermissionError, match=r"the folder '/proc' is not writable"):
        check_output("/proc/x.png", flag="-o")
    with pytest.raises(PermissionError, match=r"the folder '/proc' is not writable"):
        check_output("/proc/new/deeper", flag="--out", folder=True)
    check_output(tmp_path / "a" / "b", flag="--out", folder=True)  # made later, with parents
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.png"]
    assert mine.read_bytes() == b"mine"


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "--input", "4", "--kernel", "3", "--html", "/proc/x.html"],
        ["explain", "--input", "4", "--kernel", "3", "--out", "/proc/figs"],
        ["bench", "--quick", "--json", "/proc/x.json"],
        ["bench", "--quick", "--plot", "/proc/x.png"],
        ["train", "sr", "--quick", "--out", "/proc/run"],
    ],
)
def test_an_unwritable_output_is_one_line_before_any_work(capsys, monkeypatch, argv):
    monkeypatch.setattr(train, "run", _never)
    monkeypatch.setattr("tconv.bench.run_catalog", _never)
    assert "is not writable" in one_line(capsys, argv, argv[0])


def _never(*args, **kwargs):
    raise AssertionError("the work started before the output was checked")


# ---------------------------------------------------------------------------------------------
# errors: handled once, in main; a missing optional module names its extra


def test_every_optional_module_is_in_the_extra_it_names():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for module, (distribution, extra) in OPTIONAL_MODULES.items():
        names = {re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower() for req in extras[extra]}
        assert distribution.lower() in names, f"{module}: {distribution} is not in [{extra}]"


@pytest.mark.parametrize(
    ("module", "argv", "line"),
    [
        ("PIL", ["upscale", "photo.png", "-o", "big.png"],
         "needs Pillow: pip install 'tconv[image]'"),
        ("matplotlib", ["explain", "--input", "4", "--kernel", "3", "--out", "{tmp}/figs"],
         "needs matplotlib: pip install 'tconv[plots]'"),
        ("matplotlib", ["bench", "--quick", "--plot", "{tmp}/b.png"],
         "needs matplotlib: pip install 'tconv[plots]'"),
        ("skimage", ["train", "sr", "--quick", "--out", "{tmp}/run"],
         "needs scikit-image: pip install 'tconv[train]'"),
        ("matplotlib", ["train", "gan", "--quick", "--out", "{tmp}/run"],
         "needs matplotlib: pip install 'tconv[train]'"),
        ("tqdm", ["train", "seg", "--quick", "--out", "{tmp}/run"],
         "needs tqdm: pip install 'tconv[train]'"),
    ],
)  # fmt: skip
def test_a_missing_optional_module_is_one_line_naming_the_extra(
    capsys, monkeypatch, tmp_path, module, argv, line
):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    monkeypatch.setattr(train, "run", _never)
    monkeypatch.setattr("tconv.bench.run_catalog", _never)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    err = one_line(capsys, argv, argv[0])
    assert err == f"tconv {argv[0]}: error: this command {line}\n"
    assert list(tmp_path.iterdir()) == []  # said before anything was written


def test_an_import_error_of_our_own_is_one_line_too(capsys, monkeypatch):
    def broken(args):
        raise ImportError("cannot import name 'x' from 'somewhere'")

    monkeypatch.setattr(tconv.cli.command("shape"), "run", broken)
    err = one_line(capsys, ["shape", "--input", "4", "--kernel", "3"], "shape")
    assert "cannot import name 'x'" in err


def test_explain_leaves_errors_to_main(capsys):
    args = build_parser().parse_args(["explain", "--input", "4", "--kernel", "3", "--padding", "x"])
    with pytest.raises(ShapeError, match="is not an int or a LO,HI pair"):
        args.run(args)  # raised, not printed: main's one handler prints it
    assert capsys.readouterr() == ("", "")


def test_cli_modules_import_os_only_at_the_top():
    for path in sorted(Path(tconv.cli.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    names = [a.name for a in inner.names] if isinstance(inner, ast.Import) else []
                    assert "os" not in names, f"{path.name}: import os inside {node.name}()"


# ---------------------------------------------------------------------------------------------
# bool config fields: --x / --no-x, arriving as bools


@dataclasses.dataclass
class _ToyConfig:
    epochs: int = 1
    seed: int = 0
    augment: bool = True
    width: float = 0.5


class _ToyTask(train.Task):
    name: ClassVar[str] = "toy"
    Config: ClassVar[type] = _ToyConfig
    DESCRIPTION: ClassVar[str] = "A toy task. For the command-line tests."
    EXAMPLES: ClassVar[str] = "examples:\n  tconv train toy --no-augment --out runs/toy"


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(train.TASKS, "toy", _ToyTask)
    monkeypatch.setitem(train.TASK_MODULES, "toy", "tconv.train.toy_does_not_exist")
    ran = {}

    def fake_run(name, config, out, **kwargs):
        ran.update(config=config, command=kwargs["command"])
        return {"metrics": {"loss": 0.5}}

    monkeypatch.setattr(train, "run", fake_run)
    return ran


@pytest.mark.parametrize(("flags", "want"), [([], True), (["--no-augment"], False),
                                             (["--augment"], True)])  # fmt: skip
def test_bool_config_fields_are_switches(toy, tmp_path, capsys, flags, want):
    assert main(["train", "toy", "--out", str(tmp_path / "run"), *flags]) == 0
    config = toy["config"]
    assert config.augment is want  # a bool, never the string "False"
    # the recorded command is the flags given, and it parses back to the same config
    recorded = shlex.split(toy["command"])
    assert recorded == ["tconv", "train", "toy", *flags, "--out", str(tmp_path / "run")]
    args = build_parser().parse_args(recorded[1:])
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(_ToyConfig)}
    assert train.make_config("toy", quick=args.quick, **values) == config


def test_a_bool_field_takes_no_value(toy, capsys):
    one_line(capsys, ["train", "toy", "--out", "x", "--augment", "False"], "train")


def test_every_parser_has_kebab_case_flags_and_examples():
    for name, parser in _parsers(build_parser()):
        for action in parser._actions:
            for flag in action.option_strings:
                assert "_" not in flag, f"{name} {flag}: flags are kebab-case"
        assert "examples:" in (parser.epilog or ""), f"{name} --help has no examples"
