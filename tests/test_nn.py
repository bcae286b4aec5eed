"""tconv.nn modules are drop-in replacements for torch.nn.ConvTransposeNd."""

from __future__ import annotations

import io
import pickle

import pytest
import torch

import tconv
from tconv import ShapeError
from tconv import nn as tnn

PAIRS = [
    (tnn.ConvTranspose1d, torch.nn.ConvTranspose1d, (2, 3, 7)),
    (tnn.ConvTranspose2d, torch.nn.ConvTranspose2d, (2, 3, 7, 6)),
    (tnn.ConvTranspose3d, torch.nn.ConvTranspose3d, (2, 3, 4, 5, 3)),
]
SETTINGS = dict(
    in_channels=3,
    out_channels=4,
    kernel_size=3,
    stride=2,
    padding=1,
    output_padding=1,
    groups=1,
    bias=True,
    dilation=1,
)


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS)
def test_same_parameters_state_dict_init_and_outputs(ours, theirs, shape):
    torch.manual_seed(1)
    a = ours(**SETTINGS)
    torch.manual_seed(1)
    b = theirs(**SETTINGS)
    assert isinstance(a, theirs)
    assert a.state_dict().keys() == b.state_dict().keys()
    for k in a.state_dict():
        assert torch.equal(a.state_dict()[k], b.state_dict()[k]), k  # same default init
    x = torch.randn(*shape)
    torch.testing.assert_close(a(x), b(x))


@pytest.mark.parametrize(("ours", "theirs", "shape"), PAIRS)
def test_swapping_into_a_model_loads_its_checkpoint(ours, theirs, shape):
    old = torch.nn.Sequential(theirs(3, 4, 4, stride=2, padding=1, groups=1), torch.nn.ReLU())
    buf = io.BytesIO()
    torch.save(old.state_dict(), buf)
    new = torch.nn.Sequential(
        ours(3, 4, 4, stride=2, padding=1, method="subpixel"), torch.nn.ReLU()
    )
    buf.seek(0)
    new.load_state_dict(torch.load(buf))
    x = torch.randn(*shape)
    torch.testing.assert_close(new(x), old(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", tconv.METHODS)
def test_every_method_and_output_size_in_forward(method):
    m = tnn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, method=method).double()
    ref = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1).double()
    ref.load_state_dict(m.state_dict())
    x = torch.randn(1, 2, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(m(x, output_size=(10, 12)), ref(x, output_size=(10, 12)))


def test_same_padding_and_repr_shows_only_non_defaults():
    m = tnn.ConvTranspose2d(3, 8, 3, stride=2, padding="same", bias=False, method="dilate")
    assert m(torch.randn(1, 3, 5, 7)).shape == (1, 8, 10, 14)
    assert repr(m) == (
        "ConvTranspose2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=same, "
        "bias=False, method=dilate)"
    )
    plain = "ConvTranspose1d(1, 1, kernel_size=(2,), stride=(1,))"
    assert repr(tnn.ConvTranspose1d(1, 1, 2)) == plain
    assert m.geometry.crop == ((0, 1), (0, 1))


def test_constructor_errors():
    with pytest.raises(
        ShapeError,
        match=r"in_channels=3 and out_channels=4 must both be "
        r"divisible by groups=2",
    ):
        tnn.ConvTranspose2d(3, 4, 3, groups=2)
    with pytest.raises(ShapeError, match=r"output_padding=\(2, 2\) is invalid"):
        tnn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"method='fast' is invalid"):
        tnn.ConvTranspose2d(3, 4, 3, method="fast")


@pytest.mark.parametrize("method", ["native", "subpixel"])
def test_pickle_round_trip(method):
    m = tnn.ConvTranspose2d(2, 3, 4, stride=2, padding="same", method=method)
    m2 = pickle.loads(pickle.dumps(m))
    x = torch.randn(1, 2, 5, 5)
    torch.testing.assert_close(m2(x), m(x))
    assert m2.method == method and m2.padding == "same"


def test_torch_compile_gives_the_same_output():
    m = tnn.ConvTranspose2d(2, 3, 3, stride=2, padding="same")
    compiled = torch.compile(m, backend="aot_eager", fullgraph=True)
    x = torch.randn(1, 2, 6, 6)
    torch.testing.assert_close(compiled(x), m(x))


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
@pytest.mark.parametrize("dynamo", [True, False], ids=["torch.export", "torchscript"])
def test_onnx_export_of_the_native_method(tmp_path, monkeypatch, dynamo):
    import onnxruntime  # in the interop extra, which `make test` installs

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    m = tnn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1).eval()
    x = torch.randn(1, 2, 6, 5)
    path = tmp_path / "m.onnx"
    torch.onnx.export(m, (x,), str(path), dynamo=dynamo)
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
    torch.testing.assert_close(torch.from_numpy(y), m(x).detach(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate"])
def test_padding_mode_module_is_the_adjoint_of_torchs_conv(mode):
    conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1, padding_mode=mode, bias=False).double()
    up = tnn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, padding_mode=mode, bias=False).double()
    up.weight.data.copy_(conv.weight)
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64)
    cx = conv(x)
    y = torch.randn_like(cx)
    ty = up(y, output_size=x.shape[-2:])
    torch.testing.assert_close((cx * y).sum(), (x * ty).sum(), rtol=1e-10, atol=1e-10)
    assert f"padding_mode={mode}" in repr(up)


def test_output_size_replaces_output_padding_as_in_torch():
    ours = tnn.ConvTranspose1d(1, 1, 3, stride=2, padding=1, output_padding=1).double()
    theirs = torch.nn.ConvTranspose1d(1, 1, 3, stride=2, padding=1, output_padding=1).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(1, 1, 16, dtype=torch.float64)
    for size in (31, 32):
        torch.testing.assert_close(ours(x, output_size=[size]), theirs(x, output_size=[size]))
