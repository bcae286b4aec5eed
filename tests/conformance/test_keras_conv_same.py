"""keras_conv_padding against Keras's own Conv1D/Conv2D(padding="same") with strides > 1."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported (conftest.py sets it too)

import keras
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tconv.planning import inverse_of, keras_conv_padding

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*")


@pytest.mark.parametrize(
    ("n", "k", "s", "d"),
    [(39, 3, 2, 1), (40, 3, 2, 1), (7, 4, 3, 1), (9, 1, 4, 1), (10, 5, 1, 2), (13, 2, 5, 1)],
)
def test_pads_and_values_match_keras_conv1d_same(n, k, s, d):
    layer = keras.layers.Conv1D(2, k, strides=s, dilation_rate=d, padding="same", use_bias=False)
    x = np.random.default_rng(0).standard_normal((1, n, 3)).astype("float32")  # channels last
    want = np.asarray(keras.ops.convert_to_numpy(layer(x)))
    kernel = torch.from_numpy(np.asarray(layer.get_weights()[0]))  # (k, in, out)
    pads = keras_conv_padding(n, k, s, d)
    xt = F.pad(torch.from_numpy(x).permute(0, 2, 1), pads[0])
    got = F.conv1d(xt, kernel.permute(2, 1, 0), stride=s, dilation=d).permute(0, 2, 1)
    assert got.shape == want.shape == (1, -(-n // s), 2)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
    # and the inverse restores n from the conv output
    assert inverse_of(
        {"kernel_size": k, "stride": s, "dilation": d, "padding": pads}, n
    ).output_size() == (n,)


def test_pads_match_keras_conv2d_same_per_dimension():
    layer = keras.layers.Conv2D(1, (3, 4), strides=(2, 3), padding="same", use_bias=False)
    x = np.random.default_rng(1).standard_normal((1, 11, 16, 2)).astype("float32")
    want = np.asarray(keras.ops.convert_to_numpy(layer(x)))
    kernel = torch.from_numpy(np.asarray(layer.get_weights()[0]))  # (kh, kw, in, out)
    (top, bottom), (left, right) = keras_conv_padding((11, 16), (3, 4), (2, 3))
    xt = F.pad(torch.from_numpy(x).permute(0, 3, 1, 2), (left, right, top, bottom))
    got = F.conv2d(xt, kernel.permute(3, 2, 0, 1), stride=(2, 3)).permute(0, 2, 3, 1)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)
