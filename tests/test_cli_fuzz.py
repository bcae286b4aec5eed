"""Every subcommand answers any argv with exit 0 or one error line and exit 2, in time.

The harness (strategies, runners, the contract) is in ``cli_fuzz.py``; a new subcommand adds
its :class:`cli_fuzz.Spec` and a test here.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_fuzz import (
    PATHS,
    SWITCH,
    Spec,
    argv_for,
    assert_contract,
    count,
    junk,
    run_in_process,
    run_subprocesses,
    size,
    tokens,
)

PADDING = st.one_of(count(0, 4), st.sampled_from(("same", "valid", "same_lower")))

SHAPE = Spec(
    "shape",
    flags={
        "--input": tokens(count(), 1, 3),
        "--kernel": tokens(count(1, 8), 1, 3),
        "--stride": tokens(count(1, 4), 1, 3),
        "--padding": tokens(PADDING, 1, 3),
        "--output-padding": tokens(count(0, 3), 1, 3),
        "--dilation": tokens(count(1, 3), 1, 3),
        "--json": SWITCH,
    },
    required=("--input", "--kernel"),
)

PLAN = Spec(
    "plan",
    positionals=(tokens(size(), 1, 1), tokens(size(1, 200), 1, 1)),
    flags={
        "--kernel": tokens(count(1, 8), 1, 3),
        "--stride": tokens(count(1, 4), 1, 3),
        "--dilation": tokens(count(1, 3), 1, 2),
        "--allow-crop": SWITCH,
        "--max-results": tokens(count(1, 1000), 1, 1),
        "--json": SWITCH,
    },
)

INVERSE = Spec(
    "inverse",
    positionals=(tokens(size(), 1, 3),),
    flags={
        "--kernel": tokens(size(1, 8), 1, 1),
        "--stride": tokens(size(1, 4), 1, 1),
        "--padding": tokens(st.one_of(size(0, 4), PADDING), 1, 1),
        "--dilation": tokens(size(1, 3), 1, 1),
        "--json": SWITCH,
    },
    required=("--kernel",),
)

# Models and files for `tconv inspect` targets: made once (see the fixture below).
TARGETS = [
    "cli_fuzz:tiny_model",
    "cli_fuzz:tiny_model",
    "cli_fuzz:nope",
    "cli_fuzz:TIME_LIMIT",
    "no_such_module_xyz:build",
    "torch.nn:ReLU",
    *PATHS,
]
INSPECT_SHAPE = st.one_of(
    st.sampled_from(("1x3x8x8", "2x3x5x7", "3x8x8", "1x3x8", "1x3x2x2x2", "1x4x8x8")),
    st.lists(count(1, 12), min_size=2, max_size=4).map(lambda v: "x".join(["1", "3", *v])),
    st.lists(count(10**5, 10**25), min_size=1, max_size=3).map(lambda v: "1x3x" + "x".join(v)),
)


def inspect_spec(files: list[str]) -> Spec:
    return Spec(
        "inspect",
        positionals=(tokens(st.sampled_from(TARGETS + files), 1, 1),),
        flags={
            "--input": tokens(INSPECT_SHAPE, 1, 1),
            "--max-memory": tokens(st.sampled_from(("0.01", "1e-9", "1", "0.5")), 1, 1),
            "--trust-pickle": SWITCH,
            "--json": SWITCH,
        },
        required=("--input",),
        suffix=("--max-memory", "0.05"),  # the last one wins: real runs stay small
    )


# bench times for minutes when its arguments are valid, and its validation belongs to the
# bench subcommand: only argv that argparse refuses before any work (an unknown layer or
# method, a non-integer count) are drawn here.
BENCH = Spec(
    "bench",
    positionals=(),
    flags={
        "--repeat": tokens(count(), 1, 1),
        "--threads": tokens(st.sampled_from(("1", "2")), 1, 1),
        "--quick": SWITCH,
        "--json": tokens(st.sampled_from(PATHS), 1, 1),
    },
)
BENCH_REFUSED = st.one_of(
    st.tuples(st.just("--layers"), junk().filter(lambda t: not t.startswith("-")).map(
        lambda t: "no-such-layer-" + t
    )),
    st.tuples(st.just("--methods"), st.sampled_from(("fast", "AUTO", "NATIVE", ""))),
    st.tuples(st.just("--repeat"), st.sampled_from(("many", "1.5", "", "nan"))),
)  # fmt: skip


@given(argv_for(SHAPE))
def test_shape_fuzz(argv):
    assert_contract(run_in_process(argv), "shape")


@given(argv_for(PLAN))
def test_plan_fuzz(argv):
    assert_contract(run_in_process(argv), "plan")


@given(argv_for(INVERSE))
def test_inverse_fuzz(argv):
    assert_contract(run_in_process(argv), "inverse")


@pytest.fixture(scope="module")
def inspect_files(tmp_path_factory):
    """A pickled model, a state_dict, TorchScript, junk and an empty file."""
    import cli_fuzz

    where = tmp_path_factory.mktemp("inspect_files")
    model = cli_fuzz.tiny_model()
    torch.save(model, where / "pickled.pt")
    torch.save(model.state_dict(), where / "weights.pt")
    torch.jit.save(torch.jit.script(model), str(where / "scripted.pt"))
    (where / "junk.pt").write_bytes(b"\x80junk that starts like a pickle")
    (where / "empty.pt").write_bytes(b"")
    return [str(p) for p in sorted(where.iterdir())]


def test_inspect_fuzz(inspect_files):
    @settings(max_examples=max(20, settings().max_examples))
    @given(argv_for(inspect_spec(inspect_files)))
    def check(argv):
        assert_contract(run_in_process(argv), "inspect")

    check()


@given(argv_for(BENCH), BENCH_REFUSED, st.integers(0, 8))
def test_bench_fuzz_refused_before_any_work(argv, refused, where):
    argv = [*argv[:1], *argv[1:][:where], *refused, *argv[1:][where:]]
    result = run_in_process(argv)
    assert result.status == 2 or "usage: tconv bench" in result.out, result  # or a drawn -h
    assert_contract(result, "bench", time_limit=5.0)


#: cases that hung or crashed below Python before issue 8, run in fresh interpreters (each
#: costs an interpreter start with torch: the in-process fuzz covers the rest)
REAL_PROCESS_CASES = [
    ["plan", "16", "100000000"],
    ["inspect", "cli_fuzz:tiny_model", "--input", "1x3x" + "9" * 20 + "x4"],
]


def test_real_processes(tmp_path):
    """Fresh interpreters: the exit status the shell sees, and no crash below Python."""
    ok = ["inspect", "cli_fuzz:tiny_model", "--input", "1x3x8x8", "--json"]
    *refused, done = run_subprocesses([*REAL_PROCESS_CASES, ok], cwd=str(tmp_path))
    for argv, result in zip(REAL_PROCESS_CASES, refused, strict=True):
        assert result.status == 2, result
        assert_contract(result, argv[0], time_limit=60.0)
    assert_contract(done, "inspect", time_limit=60.0)
    assert done.status == 0 and '"output_shape": [1, 2, 16, 16]' in done.out
