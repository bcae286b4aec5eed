"""The method registry (``tconv.methods.REGISTRY``) is the one list of methods: every other
list (``tconv.METHODS``, auto's candidates, the benchmark's contenders and colours, the
command line's choices, the docs' list) derives from it or is checked against it."""

from __future__ import annotations

import dataclasses
import re
from typing import get_args

import pytest
import torch

import tconv
from tconv import methods
from tconv.bench import report, runner
from tconv.methods import REGISTRY, auto, native
from tconv.shapes import Geometry


def test_the_literal_and_tconv_methods_are_the_registrys_public_names():
    public = tuple(m.name for m in REGISTRY if m.public)
    assert get_args(methods.Method) == public == methods.METHODS == tconv.METHODS
    assert len({m.name for m in REGISTRY}) == len(REGISTRY)  # one entry per name


def test_the_docstring_lists_every_method_with_its_summary():
    listed = re.findall(r'^- ``"([^"]+)"``: (.+?);?\.?$', methods.__doc__ or "", re.M)
    assert listed == [(m.name, m.summary) for m in REGISTRY if m.public]


def test_get_and_spec_name_the_valid_methods():
    assert methods.get("scatter") is methods.spec("scatter").forward
    assert methods.get("auto") is auto.forward
    for bad in ("fast", "native+bias"):  # an execution of auto is not a method
        with pytest.raises(ValueError, match=r"method='.*' is invalid: valid methods are"):
            methods.get(bad)
    with pytest.raises(ValueError, match="method='fast' is invalid"):
        methods.spec("fast")


def test_auto_times_every_registry_candidate_and_only_those():
    g = Geometry.create((3, 3), stride=2)
    x, w = torch.randn(1, 2, 4, 4), torch.randn(2, 2, 3, 3)
    marked = [m.name for m in REGISTRY if m.candidate and not m.needs_groups]
    assert [e for e in auto.candidates(x, w, g, torch.zeros(2)) if "/" not in e] == marked
    assert [e for e in auto.candidates(x, w, g) if "/" not in e] == [
        m.name for m in REGISTRY if m.candidate and not m.needs_bias and not m.needs_groups
    ]
    # a new entry marked as a candidate is measured (and run) with no edit of auto
    trial = dataclasses.replace(native.METHOD, name="trial")
    try:
        auto.consider((*REGISTRY, trial))
        assert auto.candidates(x, w, g)[-2:] == ("trial", "trial/channels_last")
        assert {"trial", "trial/channels_last", "trial/contiguous"} <= set(auto.EXECUTIONS)
        y = auto.run("trial/channels_last", x, w, None, g)
        assert torch.allclose(y, torch.nn.functional.conv_transpose2d(x, w, stride=2))
    finally:
        auto.consider(REGISTRY)
    assert "trial" not in auto.EXECUTIONS


def test_the_benchmark_lists_and_colours_come_from_the_registry():
    assert set(runner.TCONV_METHODS) == set(methods.METHODS)
    assert (
        tuple(m for m in runner.TCONV_METHODS if methods.spec(m).benchmark)
        == runner.DEFAULT_METHODS
    )
    assert set(methods.EXACT_METHODS) <= set(report._PEER_ORDER)
    # the one method with a size bound is skipped on layers above it
    bounded = [m for m in REGISTRY if m.max_macs is not None]
    assert [m.name for m in bounded] == ["matrix"]
