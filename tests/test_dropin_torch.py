"""tconv.nn.ConvTranspose{1,2,3}d and tconv.conv_transpose against torch on torch's OWN test
inputs: the samples torch tests its transposed convolutions with (``module_db``'s ModuleInfo for
``nn.ConvTranspose{1,2,3}d`` and ``op_db``'s OpInfo for ``nn.functional.conv_transpose{1,2,3}d``),
with tconv's classes and function swapped in, for every method: equal outputs and gradients, and
torch's generic module checks (state_dict both ways, pickle, ``to``, ``to_empty``, memory format,
torch.func). Then the errors: for every call torch refuses with exception type E (wrong rank,
dtypes, paddings, strides, channels, groups, bias, output_size), tconv raises an instance of E,
so code written against torch keeps catching it.

torch's databases live in ``torch.testing._internal`` (torch is pinned); they are imported once,
lazily, by the tests that use them.
"""

from __future__ import annotations

import copy
import functools
import io
import os
import pickle
import sys
import types
import unittest
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import tconv
from tconv.methods import METHODS

RANKS = (1, 2, 3)
TORCH_NN = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}
TCONV_NN = {1: tconv.nn.ConvTranspose1d, 2: tconv.nn.ConvTranspose2d, 3: tconv.nn.ConvTranspose3d}
TORCH_F = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@functools.cache
def _databases() -> tuple[Any, Any]:
    """(op_db, module_db) from torch's own test suite.

    torch's test utilities import ``expecttest`` only for the base class of torch's TestCase,
    which these tests do not use: where that test-only package is not installed, a stand-in
    module with unittest's TestCase takes its place. Importing them sets
    ``TORCHINDUCTOR_CACHE_DIR``; it is put back as it was.
    """
    if "expecttest" not in sys.modules:
        try:
            import expecttest  # noqa: F401
        except ImportError:
            stand_in = types.ModuleType("expecttest")
            stand_in.TestCase = unittest.TestCase  # type: ignore[attr-defined]
            sys.modules["expecttest"] = stand_in
    cache_dir = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    try:
        from torch.testing._internal.common_methods_invocations import op_db
        from torch.testing._internal.common_modules import module_db
    finally:
        if cache_dir is None:
            os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
        else:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache_dir
    return op_db, module_db


def _op_info(rank: int) -> Any:
    (info,) = [o for o in _databases()[0] if o.name == f"nn.functional.conv_transpose{rank}d"]
    return info


def _module_info(rank: int) -> Any:
    (info,) = [m for m in _databases()[1] if m.module_cls is TORCH_NN[rank]]
    return info


def _grads(out: torch.Tensor, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """Gradients of ``<out, g>`` for a fixed random ``g`` (the same for torch and tconv)."""
    g = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(1))
    return torch.autograd.grad(out, inputs, g)


def _close(a: torch.Tensor, b: torch.Tensor) -> None:
    """Equal up to the rounding of the dtype (half precision: relative to the largest value,
    as methods add the same products in another order)."""
    tol = {torch.float64: 1e-10, torch.float32: 1e-4, torch.complex128: 1e-10}.get(a.dtype)
    if tol is None:
        tol = 1e-4 if a.dtype == torch.complex64 else 1e-2 * max(1.0, b.abs().max().item())
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@pytest.fixture(autouse=True)
def _fixed_rule() -> Any:
    """auto follows its fixed rule here (tests/test_auto.py covers the measuring): timing
    every candidate for each of torch's samples would take minutes."""
    enabled = tconv.methods.auto.autotune_enabled()
    tconv.set_autotune(False)
    yield
    tconv.set_autotune(enabled)


# ---------------------------------------------------------------------------------------------
# torch's samples: the same numbers


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("rank", RANKS)
def test_functional_on_torch_samples(rank: int, method: str) -> None:
    """Every sample torch's OpInfo tests conv_transpose{1,2,3}d with (batched and unbatched,
    groups, dilations, output_padding up to max(stride, dilation) - 1), in float64: equal
    outputs and gradients in input, weight and bias."""
    op = _op_info(rank)
    samples = list(op.sample_inputs("cpu", torch.float64, requires_grad=True))
    assert len(samples) >= 10
    for sample in samples:
        args = (sample.input, *sample.args)
        expected = op(*args, **sample.kwargs)
        got = tconv.conv_transpose(*args, **sample.kwargs, method=method)
        assert got.shape == expected.shape, sample
        _close(got, expected)
        leaves = [t for t in args if isinstance(t, torch.Tensor)]
        for a, b in zip(_grads(got, leaves), _grads(expected, leaves), strict=True):
            _close(a, b)


@pytest.mark.parametrize("rank", RANKS)
def test_functional_on_torch_samples_every_dtype(rank: int) -> None:
    """The same samples in every dtype torch's OpInfo lists for the CPU (float16, bfloat16,
    float32, int64, complex64, complex128...), for native and auto: equal outputs; float32 for
    every method."""
    op = _op_info(rank)
    for dtype in sorted(op.supported_dtypes("cpu"), key=str):
        methods = METHODS if dtype == torch.float32 else ("native", "auto")
        for sample in op.sample_inputs("cpu", dtype, requires_grad=False):
            args = (sample.input, *sample.args)
            expected = op(*args, **sample.kwargs)
            for method in methods:
                got = tconv.conv_transpose(*args, **sample.kwargs, method=method)
                assert got.dtype == expected.dtype
                if dtype.is_floating_point or dtype.is_complex:
                    _close(got, expected)
                else:
                    assert torch.equal(got, expected), (dtype, sample)


def _module_pair(rank: int, module_input: Any, method: str) -> tuple[Any, Any]:
    """torch's module built from a ModuleInput, and tconv's with the same arguments and
    parameters (loaded from torch's state_dict)."""
    ctor = module_input.constructor_input
    reference = TORCH_NN[rank](*ctor.args, **ctor.kwargs).double()
    ours = TCONV_NN[rank](*ctor.args, **ctor.kwargs, method=method).double()
    ours.load_state_dict(reference.state_dict())
    return reference, ours


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("rank", RANKS)
def test_module_on_torch_samples(rank: int, method: str) -> None:
    """torch's ModuleInfo inputs for nn.ConvTranspose{1,2,3}d (batched and unbatched): equal
    outputs and gradients (input and parameters); the state_dict, parameters and repr's
    meaning are torch's."""
    info = _module_info(rank)
    inputs = info.module_inputs_func(
        info, device="cpu", dtype=torch.float64, requires_grad=True, training=True
    )
    assert len(inputs) >= 2
    for module_input in inputs:
        reference, ours = _module_pair(rank, module_input, method)
        assert isinstance(ours, TORCH_NN[rank])
        assert list(ours.state_dict()) == list(reference.state_dict())
        (x,) = module_input.forward_input.args
        expected, got = reference(x), ours(x)
        _close(got, expected)
        if module_input.reference_fn is not None:  # torch's check: unbatched = batched of one
            with torch.no_grad():
                want = module_input.reference_fn(ours, x)  # on a copy of ours
            _close(got, want)
        leaves_ref = [x, *reference.parameters()]
        leaves_ours = [x, *ours.parameters()]
        for a, b in zip(_grads(got, leaves_ours), _grads(expected, leaves_ref), strict=True):
            _close(a, b)


@pytest.mark.parametrize("rank", RANKS)
def test_module_generic_checks(rank: int) -> None:
    """torch's generic module checks on the same inputs: state_dict loads both ways, pickle and
    deepcopy keep the module, ``to(dtype)`` and ``to_empty`` work, a channels_last input gives
    the same values, and torch.func.functional_call with torch's parameters gives torch's
    output."""
    info = _module_info(rank)
    for module_input in info.module_inputs_func(
        info, device="cpu", dtype=torch.float64, requires_grad=False, training=True
    ):
        reference, ours = _module_pair(rank, module_input, "native")
        (x,) = module_input.forward_input.args
        expected = reference(x)
        # tconv's state_dict loads into torch's module
        back = TORCH_NN[rank](*module_input.constructor_input.args, dtype=torch.float64)
        back.load_state_dict(ours.state_dict())
        _close(back(x), expected)
        # pickle (torch.save too) and deepcopy
        for clone in (
            pickle.loads(pickle.dumps(ours)),
            copy.deepcopy(ours),
            _save_load(ours),
        ):
            assert type(clone) is type(ours)
            _close(clone(x), expected)
        # to(dtype), to_empty
        _close(copy.deepcopy(ours).float()(x.float()), copy.deepcopy(reference).float()(x.float()))
        empty = copy.deepcopy(ours).to_empty(device="cpu")
        assert [p.shape for p in empty.parameters()] == [p.shape for p in ours.parameters()]
        # memory format (2-D and 3-D batched inputs)
        if rank > 1 and x.dim() == rank + 2:
            fmt = torch.channels_last if rank == 2 else torch.channels_last_3d
            _close(ours(x.contiguous(memory_format=fmt)), expected)
            ours_cl = copy.deepcopy(ours).to(memory_format=fmt)
            _close(ours_cl(x.contiguous(memory_format=fmt)), expected)
        # torch.func
        params = dict(reference.named_parameters())
        _close(torch.func.functional_call(ours, params, (x,)), expected)


def _save_load(module: torch.nn.Module) -> torch.nn.Module:
    buffer = io.BytesIO()
    torch.save(module, buffer)
    buffer.seek(0)
    loaded: torch.nn.Module = torch.load(buffer, weights_only=False)
    return loaded


# ---------------------------------------------------------------------------------------------
# unbatched input with output_size: what torch accepts


@pytest.mark.parametrize("rank", RANKS)
@pytest.mark.parametrize("batched", [True, False])
def test_output_size_entries_as_torch(rank: int, batched: bool) -> None:
    """torch's modules take ``output_size`` as the spatial size, or with the non-spatial
    dimensions in front: ``(N, C, *spatial)`` for a batched input, ``(C, *spatial)`` for an
    unbatched one (e.g. a (C, H, W) input and output_size=(1, 240, 200)); tconv accepts exactly
    those and refuses the others with the same exception type (ValueError)."""
    reference = TORCH_NN[rank](2, 1, 3, stride=2).double()
    ours = TCONV_NN[rank](2, 1, 3, stride=2).double()
    ours.load_state_dict(reference.state_dict())
    x = torch.randn((3,) * batched + (2,) + (4,) * rank, dtype=torch.float64)
    spatial = (10,) * rank
    for front in [(), (1,), (3, 1), (3,), (2, 3, 1)]:
        size = front + spatial
        try:
            expected = reference(x, output_size=size)
        except Exception as err:
            with pytest.raises(type(err)):
                ours(x, output_size=size)
            with pytest.raises(type(err)):  # the functional API reads output_size the same way
                tconv.conv_transpose(x, ours.weight, ours.bias, 2, output_size=size)
            continue
        _close(ours(x, output_size=size), expected)
        got = tconv.conv_transpose(x, ours.weight, ours.bias, 2, output_size=size)
        _close(got, expected)


# ---------------------------------------------------------------------------------------------
# errors: where torch raises E, tconv raises an instance of E


def _t(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.ones(shape, dtype=dtype)


# (id, rank, input, weight, bias, keyword arguments): calls torch's conv_transpose{r}d refuses
FUNCTIONAL_ERRORS: list[tuple[str, int, torch.Tensor, torch.Tensor, Any, dict[str, Any]]] = [
    ("input rank 5 for 2-D", 2, _t(1, 2, 1, 4, 4), _t(2, 3, 3, 3), None, {}),
    ("input rank 2 for 2-D", 2, _t(2, 4), _t(2, 3, 3, 3), None, {}),
    ("input rank 1 for 1-D", 1, _t(4), _t(4, 3, 3), None, {}),
    ("weight rank 6", 2, _t(1, 2, 4, 4), _t(2, 3, 3, 3, 3, 3), None, {}),
    (
        "input float64, weight float32",
        2,
        _t(1, 2, 4, 4, dtype=torch.float64),
        _t(2, 3, 3, 3),
        None,
        {},
    ),
    ("input int64, weight float32", 1, _t(1, 2, 5, dtype=torch.int64), _t(2, 3, 3), None, {}),
    ("huge padding", 2, _t(1, 2, 4, 4), _t(2, 3, 3, 3), None, {"padding": 100}),
    ("output of length -1", 1, _t(1, 2, 1), _t(2, 3, 3), None, {"padding": 2}),
    ("negative padding", 1, _t(1, 2, 5), _t(2, 3, 3), None, {"padding": -1}),
    ("stride 0", 2, _t(1, 2, 4, 4), _t(2, 3, 3, 3), None, {"stride": 0}),
    ("stride -1", 1, _t(1, 2, 5), _t(2, 3, 3), None, {"stride": -1}),
    ("stride of 3 for 2-D", 2, _t(1, 2, 4, 4), _t(2, 3, 3, 3), None, {"stride": (1, 2, 1)}),
    ("dilation 0", 1, _t(1, 2, 5), _t(2, 3, 3), None, {"dilation": 0}),
    (
        "output_padding = stride",
        1,
        _t(1, 2, 5),
        _t(2, 3, 3),
        None,
        {"stride": 2, "output_padding": 2},
    ),
    ("negative output_padding", 1, _t(1, 2, 5), _t(2, 3, 3), None, {"output_padding": -1}),
    ("channels 3 for weight of 2", 2, _t(1, 3, 4, 4), _t(2, 3, 3, 3), None, {}),
    ("unbatched channels 3 for 2", 2, _t(3, 4, 4), _t(2, 3, 3, 3), None, {}),
    ("in_channels not divisible by groups", 1, _t(1, 3, 5), _t(3, 1, 3), None, {"groups": 2}),
    ("groups 0", 1, _t(1, 2, 5), _t(2, 3, 3), None, {"groups": 0}),
    ("bias of 4 for 3 outputs", 1, _t(1, 2, 5), _t(2, 3, 3), _t(4), {}),
    ("bias 2-D", 1, _t(1, 2, 5), _t(2, 3, 3), _t(1, 3), {}),
    ("empty spatial input", 1, _t(1, 2, 0), _t(2, 3, 3), None, {}),
    ("empty weight", 1, _t(1, 2, 5), _t(2, 0, 3), None, {}),
    ("float stride", 1, _t(1, 2, 5), _t(2, 3, 3), None, {"stride": 1.5}),
    ("string stride", 1, _t(1, 2, 5), _t(2, 3, 3), None, {"stride": "a"}),
    ("float padding", 1, _t(1, 2, 5), _t(2, 3, 3), None, {"padding": 0.5}),
]


def _raised(call: Callable[[], Any]) -> BaseException | None:
    try:
        call()
    except Exception as err:
        return err
    return None


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("rank", "x", "w", "b", "kwargs"),
    [case[1:] for case in FUNCTIONAL_ERRORS],
    ids=[case[0] for case in FUNCTIONAL_ERRORS],
)
def test_functional_errors_as_torch(
    rank: int, x: torch.Tensor, w: torch.Tensor, b: Any, kwargs: dict[str, Any], method: str
) -> None:
    expected = _raised(lambda: TORCH_F[rank](x, w, b, **kwargs))
    assert expected is not None, "torch accepts this call: not an error case"
    got = _raised(lambda: tconv.conv_transpose(x, w, b, **kwargs, method=method))
    assert isinstance(got, type(expected)), (expected, got)
    assert isinstance(got, (ValueError, TypeError)), got  # tconv's taxonomy stays


# (id, rank, constructor arguments, keyword arguments, input shape, output_size)
MODULE_ERRORS: list[tuple[str, int, tuple[Any, ...], dict[str, Any], tuple[int, ...], Any]] = [
    ("input rank 5 for 2-D", 2, (2, 3, 3), {}, (1, 2, 1, 4, 4), None),
    ("input rank 2 for 2-D", 2, (2, 3, 3), {}, (2, 4), None),
    ("input rank 4 for 1-D", 1, (2, 3, 3), {}, (1, 1, 2, 5), None),
    ("channels 3 for 2", 2, (2, 3, 3), {}, (1, 3, 4, 4), None),
    ("unbatched channels 3 for 2", 3, (2, 3, 3), {}, (3, 4, 4, 4), None),
    ("huge padding", 2, (2, 3, 3), {"padding": 100}, (1, 2, 4, 4), None),
    ("negative padding", 1, (2, 3, 3), {"padding": -1}, (1, 2, 5), None),
    ("stride 0", 2, (2, 3, 3), {"stride": 0}, (1, 2, 4, 4), None),
    ("stride -2", 1, (2, 3, 3), {"stride": -2}, (1, 2, 5), None),
    ("dilation 0", 1, (2, 3, 3), {"dilation": 0}, (1, 2, 5), None),
    ("kernel_size 0", 1, (2, 3, 0), {}, (1, 2, 5), None),
    ("output_padding = stride", 1, (2, 3, 3), {"stride": 2, "output_padding": 2}, (1, 2, 5), None),
    ("in_channels not divisible by groups", 1, (3, 4, 3), {"groups": 2}, (1, 3, 5), None),
    ("out_channels not divisible by groups", 1, (4, 3, 3), {"groups": 2}, (1, 4, 5), None),
    ("groups 0", 1, (2, 3, 3), {"groups": 0}, (1, 2, 5), None),
    ("empty spatial input", 2, (2, 3, 3), {}, (1, 2, 0, 4), None),
    ("output_size too large", 2, (2, 3, 3), {"stride": 2}, (1, 2, 4, 4), (12, 12)),
    ("output_size too small", 1, (2, 3, 3), {"stride": 2}, (1, 2, 4), (3,)),
    ("output_size of 3 for batched 2-D", 2, (2, 3, 3), {}, (1, 2, 4, 4), (1, 6, 6)),
    ("output_size of 4 for unbatched 2-D", 2, (2, 3, 3), {}, (2, 4, 4), (1, 3, 6, 6)),
    ("output_size of 5 for 2-D", 2, (2, 3, 3), {}, (1, 2, 4, 4), (1, 1, 3, 6, 6)),
    ("float input to double module", 1, (2, 3, 3), {"dtype": torch.float64}, (1, 2, 5), None),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("rank", "args", "kwargs", "shape", "output_size"),
    [case[1:] for case in MODULE_ERRORS],
    ids=[case[0] for case in MODULE_ERRORS],
)
def test_module_errors_as_torch(
    rank: int,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    shape: tuple[int, ...],
    output_size: Any,
    method: str,
) -> None:
    """Construction and the call in one ``try``, as code written against torch.nn has it
    (tconv refuses a bad setting at construction, torch at the call)."""
    x = torch.ones(shape)
    extra = {} if output_size is None else {"output_size": output_size}
    expected = _raised(lambda: TORCH_NN[rank](*args, **kwargs)(x, **extra))
    assert expected is not None, "torch accepts this call: not an error case"
    got = _raised(lambda: TCONV_NN[rank](*args, **kwargs, method=method)(x, **extra))
    assert isinstance(got, type(expected)), (expected, got)
    assert isinstance(got, (ValueError, TypeError)), got  # tconv's taxonomy stays
