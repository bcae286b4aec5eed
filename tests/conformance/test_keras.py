"""tconv.interop.keras against Keras 3 itself (KERAS_BACKEND=torch, CPU, float32).

Every case either matches the real Keras layer within 1e-5 (unit-scale data) or raises a
ShapeError naming what Keras cannot express.
"""

from __future__ import annotations

import math
import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported (conftest.py sets it too)

import keras
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tconv
from reference import torch_reaches
from tconv.interop.keras import from_keras, keras_arguments, keras_crop, to_keras
from tconv.shapes import Geometry, ShapeError

LAYERS = {
    1: keras.layers.Conv1DTranspose,
    2: keras.layers.Conv2DTranspose,
    3: keras.layers.Conv3DTranspose,
}
MODULES = {1: tconv.nn.ConvTranspose1d, 2: tconv.nn.ConvTranspose2d, 3: tconv.nn.ConvTranspose3d}
FORMATS = ("channels_last", "channels_first")
# keras's numpy conversions warn under numpy 2; not ours
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*")


def test_keras_runs_on_the_torch_backend():
    assert keras.backend.backend() == "torch"


def make_layer(
    rng,
    kernel,
    strides,
    padding,
    output_padding=None,
    dilation=1,
    cin=2,
    filters=3,
    data_format="channels_last",
    use_bias=True,
):
    rank = len(kernel)
    layer = LAYERS[rank](
        filters,
        kernel,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        dilation_rate=dilation,
        data_format=data_format,
        use_bias=use_bias,
    )
    shape = (
        (None, *(None,) * rank, cin)
        if data_format == "channels_last"
        else (None, cin, *(None,) * rank)
    )
    layer.build(shape)
    scale = 1 / math.sqrt(cin * math.prod(kernel))  # unit-scale outputs
    weights = [(rng.standard_normal((*kernel, filters, cin)) * scale).astype("float32")]
    if use_bias:
        weights.append(rng.standard_normal(filters).astype("float32"))
    layer.set_weights(weights)
    return layer


def keras_output(layer, x):
    """Run a Keras layer on channels-first numpy input; return channels-first numpy."""
    channels_last = layer.data_format == "channels_last"
    y = layer(np.moveaxis(x, 1, -1) if channels_last else x)
    y = keras.ops.convert_to_numpy(y)
    return np.moveaxis(y, -1, 1) if channels_last else y


def assert_same(layer, module, rng, sizes, cin):
    for size in sizes:
        x = rng.standard_normal((2, cin, *size)).astype("float32")
        want = keras_output(layer, x)
        if 0 in want.shape:  # Keras returns an empty output; tconv names the problem
            with pytest.raises(ShapeError, match="every length must be >= 1"):
                module(torch.from_numpy(x))
            continue
        got = module(torch.from_numpy(x)).detach().numpy()
        assert got.shape == want.shape, (got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Keras -> tconv


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("kernel", range(1, 8))
def test_from_keras_1d_every_padding_output_padding_and_dilation(kernel, stride):
    rng = np.random.default_rng(kernel * 10 + stride)
    # Keras refuses strides > 1 with dilation_rate > 1
    dilations = (1, 2) if stride == 1 else (1,)
    count = 0
    for dilation in dilations:
        for padding in ("same", "valid"):
            for op in (None, *range(stride)):
                data_format = FORMATS[count % 2]
                layer = make_layer(
                    rng,
                    (kernel,),
                    stride,
                    padding,
                    op,
                    dilation,
                    data_format=data_format,
                    use_bias=count % 3 > 0,
                )
                module = from_keras(layer)
                assert_same(layer, module, rng, [(5,), (6,)], cin=2)
                count += 1
    assert count == len(dilations) * 2 * (stride + 1)


CASES_ND = [
    # kernel, strides, padding, output_padding, dilation, sizes (odd and even)
    ((3, 4), (2, 2), "same", None, 1, [(5, 6), (4, 3)]),
    ((3, 5), (2, 3), "same", (1, 2), 1, [(5, 4)]),
    ((4, 4), (2, 2), "same", (0, 1), 1, [(3, 6)]),
    ((1, 2), (4, 3), "valid", None, 1, [(3, 4)]),
    ((2, 3), (3, 4), "valid", (2, 3), 1, [(4, 5)]),
    ((7, 6), (1, 1), "same", None, (2, 2), [(6, 7)]),
    ((5, 2), (1, 1), "valid", None, (2, 1), [(5, 4)]),
    ((3, 2, 4), (2, 1, 3), "same", None, 1, [(3, 4, 5)]),
    ((1, 3, 5), (2, 2, 2), "valid", (1, 0, 1), 1, [(2, 3, 4)]),
    ((2, 2, 3), (1, 1, 1), "same", None, (2, 1, 2), [(4, 3, 2)]),
    ((5, 4, 3), (3, 2, 1), "same", (2, 1, 0), 1, [(3, 2, 3)]),
    ((6, 7, 1), (4, 3, 2), "same", None, 1, [(2, 3, 3)]),
]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("case", CASES_ND, ids=lambda c: f"k{c[0]}s{c[1]}{c[2]}op{c[3]}d{c[4]}")
def test_from_keras_2d_3d(case, data_format):
    kernel, strides, padding, op, dilation, sizes = case
    rng = np.random.default_rng(len(sizes))
    layer = make_layer(
        rng, kernel, strides, padding, op, dilation, cin=3, filters=2, data_format=data_format
    )
    assert_same(layer, from_keras(layer), rng, sizes, cin=3)


@st.composite
def keras_settings(draw):
    rank = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 7)) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    dilation = (1,) * rank
    if max(strides) == 1:
        dilation = tuple(draw(st.integers(1, 2)) for _ in range(rank))
    padding = draw(st.sampled_from(["same", "valid"]))
    op = None
    if draw(st.booleans()):
        op = tuple(draw(st.integers(0, s - 1)) for s in strides)
    size = tuple(draw(st.integers(1, {1: 8, 2: 6, 3: 4}[rank])) for _ in range(rank))
    data_format = draw(st.sampled_from(FORMATS))
    use_bias = draw(st.booleans())
    return kernel, strides, padding, op, dilation, size, data_format, use_bias


@given(settings=keras_settings())
def test_from_keras_and_back_over_the_whole_space(settings):
    kernel, strides, padding, op, dilation, size, data_format, use_bias = settings
    rng = np.random.default_rng(0)
    layer = make_layer(
        rng, kernel, strides, padding, op, dilation, data_format=data_format, use_bias=use_bias
    )
    module = from_keras(layer)
    assert_same(layer, module, rng, [size], cin=2)
    # and back: torch -> Keras -> torch gives identical outputs
    again = from_keras(to_keras(module, data_format=data_format))
    x = torch.randn(1, 2, *(v + 2 for v in size))
    assert torch.equal(again(x), module(x))


def test_from_keras_accepts_config_and_weights():
    rng = np.random.default_rng(1)
    layer = make_layer(rng, (3, 2), (2, 3), "same", (1, 0), data_format="channels_first")
    serialized = keras.saving.serialize_keras_object(layer)
    for config in (serialized, layer.get_config()):
        module = from_keras(config, layer.get_weights())
        assert_same(layer, module, rng, [(4, 5)], cin=2)
    with pytest.raises(ValueError, match="needs the weights"):
        from_keras(layer.get_config())


def test_from_keras_names_what_it_cannot_convert():
    rng = np.random.default_rng(2)
    relu = LAYERS[1](2, 3, activation="relu")
    relu.build((None, None, 2))
    with pytest.raises(ValueError, match="activation='relu' cannot be part of a ConvTranspose"):
        from_keras(relu)
    with pytest.raises(ValueError, match="not built"):
        from_keras(LAYERS[2](2, 3))
    conv = keras.layers.Conv2D(2, 3)
    conv.build((None, 8, 8, 2))
    with pytest.raises(ValueError, match="cannot convert a Keras Conv2D"):
        from_keras(conv)
    layer = make_layer(rng, (3,), 2, "same")
    with pytest.raises(ValueError, match="expected \\[kernel, bias\\]"):
        from_keras(layer.get_config(), layer.get_weights()[:1])


# ---------------------------------------------------------------------------------------------
# tconv -> Keras


def reachable(kernel, stride, dilation):
    """Every crop a Keras layer can have in one dimension (keras_crop is checked against Keras
    for all of these by the grid above)."""
    return {
        keras_crop(p, kernel, stride, dilation, op)
        for p in ("same", "valid")
        for op in (None, *range(stride))
    }


PADDINGS = [
    0,
    1,
    2,
    3,
    "same",
    "valid",
    "same_lower",
    ((0, -1),),
    ((1, 0),),
    ((0, 2),),
    ((-1, 1),),
    ((2, -2),),
]


@pytest.mark.parametrize("stride", [1, 2, 3, 4])
@pytest.mark.parametrize("kernel", range(1, 8))
def test_to_keras_1d_matches_keras_or_names_why_not(kernel, stride):
    rng = np.random.default_rng(kernel + 100 * stride)
    seen = set()
    for dilation in (1, 2) if stride == 1 else (1,):
        for padding in PADDINGS:
            ops = range(max(stride, dilation)) if isinstance(padding, int) else (0,)
            for op in ops:
                try:
                    module = tconv.nn.ConvTranspose1d(
                        2, 3, kernel, stride, padding, op, dilation=dilation
                    )
                    module(torch.zeros(1, 2, 5))
                except ShapeError:
                    continue  # not a valid module for this kernel/size
                crop = module.geometry.crop[0]
                if crop not in reachable(kernel, stride, dilation):
                    with pytest.raises(ShapeError, match="cannot be expressed by Keras"):
                        to_keras(module)
                    continue
                if (crop, dilation) in seen:
                    continue
                seen.add((crop, dilation))
                with torch.no_grad():
                    module.weight.normal_(0, 1 / math.sqrt(2 * kernel))
                layer = to_keras(module, data_format=FORMATS[len(seen) % 2])
                assert_same(layer, module, rng, [(5,), (6,)], cin=2)
                assert torch.equal(from_keras(layer).weight, module.weight)
    assert seen


@pytest.mark.parametrize("data_format", FORMATS)
def test_to_keras_2d_3d_round_trip(data_format):
    rng = np.random.default_rng(3)
    modules = [
        tconv.nn.ConvTranspose2d(3, 4, (4, 3), stride=2, padding=((1, 1), (0, 1))),
        tconv.nn.ConvTranspose2d(3, 4, 2, stride=(3, 2), padding="valid", bias=False),
        tconv.nn.ConvTranspose2d(3, 4, 3, dilation=(2, 1), padding="same"),
        tconv.nn.ConvTranspose3d(3, 2, (2, 3, 1), stride=(2, 1, 3), padding="same"),
        torch.nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1),
    ]
    for module in modules:
        layer = to_keras(module, data_format=data_format)
        rank = len(module.kernel_size)
        assert_same(layer, module, rng, [(5, 4, 3)[:rank]], cin=3)
        back = from_keras(layer)
        x = torch.randn(2, 3, *(4, 5, 3)[:rank])
        assert torch.equal(back(x), module(x))


def test_to_keras_names_what_keras_cannot_express():
    with pytest.raises(ShapeError, match="groups=2 cannot be expressed by Keras Conv1DTranspose"):
        to_keras(tconv.nn.ConvTranspose1d(4, 4, 3, groups=2))
    with pytest.raises(ShapeError, match="padding_mode='circular' cannot be expressed by Keras"):
        to_keras(tconv.nn.ConvTranspose2d(2, 2, 3, padding=1, padding_mode="circular"))
    with pytest.raises(ShapeError, match="strides > 1 together with dilation_rate > 1"):
        to_keras(tconv.nn.ConvTranspose2d(2, 2, 3, stride=2, dilation=2))
    with pytest.raises(ValueError, match="dilation_rate"):  # ... which Keras indeed refuses
        keras.layers.Conv2DTranspose(2, 3, strides=2, dilation_rate=2)
    # PyTorch's usual k3 s2 p1 op1 crops (1, 0): Keras's "same" puts the odd crop at the end
    with pytest.raises(ShapeError, match=r"dimension 0 has crop \(1, 0\), but Keras reaches only"):
        to_keras(tconv.nn.ConvTranspose1d(2, 2, 3, stride=2, padding=1, output_padding=1))
    with pytest.raises(ShapeError, match=r"the crop \(\(1, 0\), \(1, 0\)\) .* cannot be"):
        to_keras(tconv.nn.ConvTranspose2d(2, 2, 3, stride=2, padding="same_lower"))
    with pytest.raises(ValueError, match="data_format='NHWC' is invalid"):
        to_keras(tconv.nn.ConvTranspose2d(2, 2, 3), data_format="NHWC")


def test_keras_arguments_for_a_mixed_module():
    module = tconv.nn.ConvTranspose2d(2, 5, (3, 4), stride=(2, 2), padding=((0, 1), (1, 1)))
    args = keras_arguments(module)
    assert args["padding"] == "same" and args["output_padding"] is None
    assert Geometry.create((3, 4), 2, "same").crop == module.geometry.crop


SAME_OUT_OF_TORCH_REACH = {
    (2, 1),
    (3, 2),
    (4, 1),
    (4, 3),
    (5, 2),
    (5, 4),
    (6, 1),
    (6, 3),
    (7, 2),
    (7, 4),
}  # docs/conventions.md


def test_which_keras_same_layers_pytorch_arguments_cannot_express():
    """Brute force over PyTorch's padding/output_padding against Keras's own 'same' output."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 6)).astype("float32")
    for kernel in range(1, 8):
        for stride in range(1, 5):
            layer = make_layer(rng, (kernel,), stride, "same", use_bias=False)
            want = keras_output(layer, x)
            weight = torch.from_numpy(
                np.ascontiguousarray(layer.get_weights()[0].transpose(2, 1, 0))
            )
            found = torch_reaches(x, weight, stride, want)
            assert found == ((kernel, stride) not in SAME_OUT_OF_TORCH_REACH), (kernel, stride)


def test_keras_refusals_and_empty_outputs():
    with pytest.raises(ValueError, match="output_padding"):
        keras.layers.Conv1DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ShapeError, match="Keras requires 0 <= output_padding < stride"):
        keras_crop("same", 3, 2, output_padding=2)
    # 'same' with output_padding on a length-1 input: Keras returns nothing, tconv says why
    rng = np.random.default_rng(5)
    layer = make_layer(rng, (2,), 1, "same", output_padding=0)
    x = rng.standard_normal((1, 2, 1)).astype("float32")
    assert keras_output(layer, x).shape == (1, 3, 0)
    with pytest.raises(ShapeError, match="every length must be >= 1"):
        from_keras(layer)(torch.from_numpy(x))
