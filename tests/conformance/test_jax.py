"""tconv.interop.jax against jax.lax.conv_transpose and flax.linen.ConvTranspose (CPU, float32).

Every case matches the framework within 1e-5 (unit-scale data) or raises a ShapeError naming
what the framework cannot express.
"""

from __future__ import annotations

import itertools
import math
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import flax.linen as fnn
import jax
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from jax import lax

import tconv
from tconv.interop.jax import (
    DEFAULT_DIMENSION_NUMBERS,
    from_flax,
    from_lax,
    lax_crop,
    to_flax,
    to_lax,
)
from tconv.shapes import Geometry, ShapeError


def unit_kernel(rng, shape, fan):
    return (rng.standard_normal(shape) / math.sqrt(fan)).astype("float32")


def run_lax(lhs, rhs, strides, padding, **kwargs):
    return run_lax_many([(lhs, rhs, dict(kwargs, strides=tuple(strides), padding=padding))])[0]


def run_lax_many(calls):
    """Run many lax.conv_transpose calls, ``(lhs, rhs, kwargs)``, under one jit: eager JAX
    compiles every call on its own, which costs ~10x more on CPU."""
    statics = [kwargs for _, _, kwargs in calls]

    def many(lhss, rhss):
        return [
            lax.conv_transpose(lhs, rhs, **kw)
            for lhs, rhs, kw in zip(lhss, rhss, statics, strict=True)
        ]

    outs = jax.jit(many)([c[0] for c in calls], [c[1] for c in calls])
    return [np.asarray(out) for out in outs]


class Batch:
    """Collect lax calls with a check for each output; ``run`` them under one jit."""

    def __init__(self):
        self.calls, self.checks = [], []

    def add(self, lhs, rhs, kwargs, check):
        self.calls.append((lhs, rhs, kwargs))
        self.checks.append(check)

    def run(self):
        for out, check in zip(run_lax_many(self.calls), self.checks, strict=True):
            check(out)
        return len(self.calls)


def specs(rank, dimension_numbers):
    dn = dimension_numbers or DEFAULT_DIMENSION_NUMBERS[rank]
    shape = (1,) * (rank + 2)
    return lax.conv_dimension_numbers(shape, shape, dn)


def check_from_lax(
    batch, rng, rhs, strides, padding, size, *, cin, dimension_numbers=None, **kwargs
):
    """Queue: lax.conv_transpose(lhs, rhs, ...) == from_lax(rhs, ...)(lhs in NC* order)."""
    rank = rhs.ndim - 2
    dn = specs(rank, dimension_numbers)
    # lhs in the layout the numbers say: put (N, C, *size) where lhs_spec points
    logical = rng.standard_normal((2, cin, *size)).astype("float32")
    lhs = np.moveaxis(logical, range(rank + 2), dn.lhs_spec)
    module = from_lax(rhs, strides, padding, dimension_numbers=dimension_numbers, **kwargs)
    got = module(torch.from_numpy(logical)).detach().numpy()

    def check(out):
        want = np.transpose(out, dn.out_spec)
        assert got.shape == want.shape, (got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

    lax_kwargs = dict(
        kwargs, strides=tuple(strides), padding=padding, dimension_numbers=dimension_numbers
    )
    batch.add(lhs, rhs, lax_kwargs, check)
    return module, lhs


def pairs_for(span, length):
    """lax padding pairs giving positive, negative (zero extension) and asymmetric crops."""
    crops = [(1, 0), (0, 2), (-1, 1), (2, -2), (-2, -1)]
    return [(span - 1 - lo, span - 1 - hi) for lo, hi in crops if length - lo - hi >= 1]


@pytest.mark.parametrize("kernel", range(1, 8))
def test_from_lax_1d_every_stride_dilation_and_padding(kernel):
    rng = np.random.default_rng(kernel)
    batch, count = Batch(), 0
    for stride in (1, 2, 3, 4):
        for dilation in (1, 2):
            span = dilation * (kernel - 1) + 1
            size = 5 + count % 2
            full = Geometry.create(kernel, stride, 0, 0, dilation).full_size(size)[0]
            paddings = ["SAME", "VALID", *[[p] for p in pairs_for(span, full)][:2]]
            for padding in paddings:
                tk = count % 2 == 1
                rhs = unit_kernel(rng, (kernel, 3, 2) if tk else (kernel, 2, 3), 2 * kernel)
                check_from_lax(
                    batch,
                    rng,
                    rhs,
                    (stride,),
                    padding,
                    (5 + count % 2,),
                    cin=2,
                    rhs_dilation=(dilation,),
                    transpose_kernel=tk,
                )
                count += 1
        # PyTorch-style pairs (newer JAX)
        rhs = unit_kernel(rng, (kernel, 2, 3), 2 * kernel)
        check_from_lax(
            batch, rng, rhs, (stride,), [(1, 0)], (6,), cin=2, use_consistent_padding=True
        )
        count += 1
    assert batch.run() == count >= 28


CASES_ND = [
    # dimension_numbers, kernel spatial, strides, padding, dilation, transpose_kernel, size
    (None, (3, 4), (2, 3), "SAME", (1, 2), False, (5, 4)),
    (("NCHW", "OIHW", "NCHW"), (5, 2), (2, 2), "VALID", (1, 1), True, (3, 6)),
    (("NHWC", "HWIO", "NHWC"), (2, 3), (3, 1), [(1, 2), (0, -1)], (2, 1), False, (4, 5)),
    (("NWCH", "WIOH", "CHWN"), (3, 2), (2, 4), "SAME", (1, 1), True, (5, 3)),
    (("NCH", "OIH", "NCH"), (4,), (3,), [(5, 1)], (1,), False, (7,)),
    (None, (2, 3, 2), (2, 1, 3), "SAME", (1, 1, 2), True, (3, 4, 2)),
    (
        ("NCDHW", "OIDHW", "NCDHW"),
        (3, 1, 4),
        (1, 2, 2),
        [(1, 1), (0, 0), (4, 2)],
        (2, 1, 1),
        False,
        (3, 3, 4),
    ),
    (("NDHWC", "DHWIO", "NDHWC"), (1, 5, 2), (4, 2, 1), "VALID", (1, 1, 1), False, (2, 3, 3)),
]


@pytest.mark.parametrize("case", CASES_ND, ids=lambda c: f"{c[0]}-k{c[1]}-s{c[2]}-{c[3]}")
def test_from_lax_2d_3d_and_dimension_numbers(case):
    dimension_numbers, kernel, strides, padding, dilation, tk, size = case
    rank = len(kernel)
    rng = np.random.default_rng(rank)
    dn = specs(rank, dimension_numbers)
    cin, cout = 3, 2
    # rhs logical (O, I, *k): O = cout, I = cin (transpose_kernel=True: O = cin, I = cout)
    logical = unit_kernel(
        rng, ((cin, cout) if tk else (cout, cin)) + kernel, cin * math.prod(kernel)
    )
    rhs = np.moveaxis(logical, range(rank + 2), dn.rhs_spec)
    batch = Batch()
    check_from_lax(
        batch,
        rng,
        rhs,
        strides,
        padding,
        size,
        cin=cin,
        dimension_numbers=dimension_numbers,
        rhs_dilation=dilation,
        transpose_kernel=tk,
    )
    batch.run()


@st.composite
def lax_settings(draw):
    rank = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 7)) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    size = tuple(draw(st.integers(1, {1: 8, 2: 5, 3: 4}[rank])) for _ in range(rank))
    kind = draw(st.sampled_from(["SAME", "VALID", "pairs"]))
    padding = kind
    if kind == "pairs":
        padding = []
        for k, s, d, i in zip(kernel, strides, dilation, size, strict=True):
            span = d * (k - 1) + 1
            lo, hi = draw(st.integers(-3, 4)), draw(st.integers(-3, 4))
            full = (i - 1) * s + span
            if full - lo - hi < 1:
                lo, hi = 0, 0
            padding.append((span - 1 - lo, span - 1 - hi))
    tk = draw(st.booleans())
    return kernel, strides, dilation, size, padding, tk


@settings(max_examples=max(10, settings.default.max_examples // 3))
@given(case=lax_settings())
def test_from_lax_and_back_gives_identical_lax_outputs(case):
    kernel, strides, dilation, size, padding, tk = case
    rank = len(kernel)
    rng = np.random.default_rng(0)
    rhs = unit_kernel(rng, (*kernel, 3, 2) if tk else (*kernel, 2, 3), 2 * math.prod(kernel))
    batch = Batch()
    module, lhs = check_from_lax(
        batch, rng, rhs, strides, padding, size, cin=2, rhs_dilation=dilation, transpose_kernel=tk
    )
    # JAX -> torch -> JAX: the same arguments again, so the very same outputs
    kwargs = to_lax(module, channels_last=True, transpose_kernel=tk)
    assert np.array_equal(kwargs.pop("rhs"), rhs)
    outs = []
    batch.add(
        lhs,
        rhs,
        dict(strides=strides, padding=padding, rhs_dilation=dilation, transpose_kernel=tk),
        outs.append,
    )
    batch.add(lhs, rhs, kwargs, outs.append)
    batch.run()
    assert np.array_equal(outs[0], outs[1])
    paddings = kwargs["padding"]
    if isinstance(paddings, str):
        paddings = [paddings] * rank
    crops = [
        lax_crop(p, k, s, d) for p, k, s, d in zip(paddings, kernel, strides, dilation, strict=True)
    ]
    assert tuple(crops) == module.geometry.crop


PADDINGS = [1, "same", "same_lower", "valid", ((-1, 2),), ((2, -1),)]


@pytest.mark.parametrize("kernel", range(1, 8))
def test_to_lax_1d_every_stride_and_tconv_padding(kernel):
    rng = np.random.default_rng(kernel)
    batch, count = Batch(), 0
    for stride, padding in itertools.product((1, 2, 3, 4), PADDINGS):
        dilation = 1 + count % 2
        op = max(stride, dilation) - 1 if padding == 1 else 0
        module = tconv.nn.ConvTranspose1d(
            2, 3, kernel, stride, padding, op, dilation=dilation, bias=False
        )
        size = 5 + count % 2
        try:
            module.geometry.output_size(size)
        except ShapeError:
            continue
        with torch.no_grad():
            module.weight.normal_(0, 1 / math.sqrt(2 * kernel))
        channels_last, tk = count % 2 == 0, count % 3 == 0
        kwargs = to_lax(module, channels_last=channels_last, transpose_kernel=tk)
        x = torch.from_numpy(rng.standard_normal((2, 2, size)).astype("float32"))
        want = module(x).detach().numpy()
        lhs = np.moveaxis(x.numpy(), 1, -1) if channels_last else x.numpy()

        def check(out, want=want, channels_last=channels_last):
            got = np.moveaxis(out, -1, 1) if channels_last else out
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

        rhs = kwargs.pop("rhs")
        batch.add(lhs, rhs, kwargs, check)
        count += 1
    assert batch.run() == count >= 16


def test_to_lax_2d_3d_and_torch_modules():
    rng = np.random.default_rng(5)
    modules = [
        tconv.nn.ConvTranspose2d(
            3, 2, (3, 4), stride=(2, 1), padding=((0, 1), (-1, 2)), bias=False
        ),
        tconv.nn.ConvTranspose3d(
            2, 3, (2, 1, 3), stride=(1, 3, 2), padding="same", dilation=(2, 1, 1), bias=False
        ),
        torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, bias=False),
    ]
    for module in modules:
        rank = len(module.kernel_size)
        cin = module.in_channels
        x = torch.from_numpy(rng.standard_normal((1, cin, *(5, 4, 3)[:rank])).astype("float32"))
        for channels_last in (False, True):
            kwargs = to_lax(module, channels_last=channels_last)
            lhs = np.moveaxis(x.numpy(), 1, -1) if channels_last else x.numpy()
            got = run_lax(lhs, **kwargs)
            got = np.moveaxis(got, -1, 1) if channels_last else got
            np.testing.assert_allclose(got, module(x).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_to_lax_names_what_lax_cannot_express():
    with pytest.raises(
        ShapeError, match=r"groups=2 cannot be expressed by jax\.lax\.conv_transpose"
    ):
        to_lax(tconv.nn.ConvTranspose1d(2, 2, 3, groups=2, bias=False))
    with pytest.raises(ShapeError, match="padding_mode='reflect' cannot be expressed"):
        to_lax(tconv.nn.ConvTranspose1d(2, 2, 3, padding=1, padding_mode="reflect", bias=False))
    module = tconv.nn.ConvTranspose1d(2, 2, 3)
    with pytest.raises(ValueError, match=r"has a bias, which lax\.conv_transpose has no argument"):
        to_lax(module)
    kwargs = to_lax(module, with_bias=True)
    bias = kwargs.pop("bias")
    x = torch.randn(1, 2, 5)
    got = run_lax(x.numpy(), **kwargs) + bias[None, :, None]
    np.testing.assert_allclose(got, module(x).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_from_lax_refuses_what_lax_refuses():
    rhs = np.zeros((3, 2, 2), dtype="float32")
    with pytest.raises(ShapeError, match="'SAME', 'VALID' \\(upper case\\)"):
        from_lax(rhs, (2,), "same")
    with pytest.raises(ValueError, match="String padding is not implemented"):
        lax.conv_transpose(np.zeros((1, 4, 2), "float32"), rhs, (2,), "same")
    with pytest.raises(ShapeError, match="expected 'SAME', 'VALID' or 1"):
        from_lax(rhs, (2,), [(1, 1), (1, 1)])


# ---------------------------------------------------------------------------------------------
# Flax


def run_flax(layer, variables, x_channels_first):
    return run_flax_many([(layer, variables, x_channels_first)])[0]


def run_flax_many(calls):
    """``layer.apply(variables, x)`` for channels-first ``x``, all under one jit."""
    layers = [layer for layer, _, _ in calls]

    def many(variables, xs):
        return [layer.apply(v, x) for layer, v, x in zip(layers, variables, xs, strict=True)]

    outs = jax.jit(many)([c[1] for c in calls], [np.moveaxis(c[2], 1, -1) for c in calls])
    return [np.moveaxis(np.asarray(y), -1, 1) for y in outs]


FLAX_CASES = [
    # kernel, strides, padding, dilation, transpose_kernel, use_bias, mask, size
    ((3,), (2,), "SAME", None, False, True, False, (5,)),
    ((4,), (3,), "VALID", (2,), True, True, False, (6,)),
    ((2,), (4,), 1, None, False, False, False, (5,)),
    ((5, 2), (2, 3), [(1, 2), 0], (1, 2), True, True, True, (4, 5)),
    ((3, 3), (2, 2), "CIRCULAR", None, False, True, False, (5, 4)),
    ((4, 5), (2, 3), "CIRCULAR", None, True, True, False, (3, 4)),
    ((2, 3, 1), (1, 2, 3), "SAME", (2, 1, 1), False, True, False, (3, 2, 4)),
    ((3, 2, 2), (2, 1, 2), ((0, 1), (2, -1), (1, 1)), None, True, False, False, (2, 3, 3)),
]


@pytest.mark.parametrize("case", FLAX_CASES, ids=lambda c: f"k{c[0]}-s{c[1]}-{c[2]}-tk{c[4]}")
def test_from_flax(case):
    kernel, strides, padding, dilation, tk, use_bias, mask, size = case
    rng = np.random.default_rng(len(kernel))
    cin, features = 2, 3
    shape = (*kernel, features, cin) if tk else (*kernel, cin, features)
    params = {"kernel": unit_kernel(rng, shape, cin * math.prod(kernel))}
    if use_bias:
        params["bias"] = rng.standard_normal(features).astype("float32")
    layer = fnn.ConvTranspose(
        features,
        kernel,
        strides=strides,
        padding=padding,
        kernel_dilation=dilation,
        use_bias=use_bias,
        transpose_kernel=tk,
        mask=(rng.random(shape) > 0.3).astype("float32") if mask else None,
    )
    module = from_flax(layer, {"params": params})
    x = rng.standard_normal((2, cin, *size)).astype("float32")
    want = run_flax(layer, {"params": params}, x)
    got = module(torch.from_numpy(x)).detach().numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    if mask:
        return
    # and back: tconv -> Flax gives the same outputs again
    layer2, variables = to_flax(module, transpose_kernel=tk)
    np.testing.assert_allclose(run_flax(layer2, variables, x), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_flax_circular_is_tconv_circular_same(stride):
    rng = np.random.default_rng(stride)
    calls, wants = [], []
    for kernel in range(1, 8):
        for tk in (False, True):
            module = tconv.nn.ConvTranspose1d(
                2, 3, kernel, stride, "same_lower" if tk else "same", padding_mode="circular"
            )
            layer, variables = to_flax(module, transpose_kernel=tk)
            assert layer.padding == "CIRCULAR"
            size = 4 + kernel % 2
            x = rng.standard_normal((1, 2, size)).astype("float32")
            wants.append(module(torch.from_numpy(x)).detach().numpy())
            calls.append((layer, variables, x))
    for got, want in zip(run_flax_many(calls), wants, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_flax_initialised_layer_and_errors():
    layer = fnn.ConvTranspose(
        4,
        (3, 3),
        strides=(2, 2),
        kernel_init=fnn.initializers.normal(0.3),
        bias_init=fnn.initializers.normal(1.0),
    )
    variables = jax.jit(layer.init)(jax.random.key(0), np.ones((1, 5, 5, 2), "float32"))
    module = from_flax(layer, variables)
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype("float32")
    np.testing.assert_allclose(
        module(torch.from_numpy(x)).detach().numpy(),
        run_flax(layer, variables, x),
        rtol=1e-5,
        atol=1e-5,
    )
    with pytest.raises(ShapeError, match="groups=2 cannot be expressed by flax"):
        to_flax(tconv.nn.ConvTranspose1d(2, 2, 3, groups=2))
    with pytest.raises(ShapeError, match="'CIRCULAR' padding is tconv's circular"):
        to_flax(tconv.nn.ConvTranspose1d(2, 2, 3, stride=2, padding=1, padding_mode="circular"))
