"""to_subpixel / to_transposed: exact rewrites (float64 1e-10, float32 1e-5), round trips,
output_size, errors, and ONNX export without ConvTranspose that onnxruntime runs the same."""

from __future__ import annotations

import collections
import copy

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import tconv
from strategies import cases
from tconv.convert import SubpixelConvTranspose, to_subpixel, to_transposed

TORCH_T = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}
TCONV_T = {1: tconv.nn.ConvTranspose1d, 2: tconv.nn.ConvTranspose2d, 3: tconv.nn.ConvTranspose3d}
CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}


def layer_for(case, dtype=torch.float64):
    cls = TORCH_T[case.rank] if case.torch_style else TCONV_T[case.rank]
    return cls(case.cin, case.cout, case.kernel, **case.kwargs, bias=case.bias, dtype=dtype)


def input_for(case, dtype=torch.float64):
    shape = (case.cin, *case.size) if case.batch is None else (case.batch, case.cin, *case.size)
    return torch.randn(shape, dtype=dtype)


@given(case=cases(paddings=("torch", "pairs", "named")))
def test_to_subpixel_is_exact_and_round_trips(case):
    layer = layer_for(case)
    x = input_for(case)
    sub = to_subpixel(torch.nn.Sequential(layer))[0]
    assert isinstance(sub, SubpixelConvTranspose)
    # the rewrite holds no transposed convolution and no dilation/stride
    assert not any(isinstance(m, torch.nn.modules.conv._ConvTransposeNd) for m in sub.modules())
    assert sub.conv.stride == (1,) * case.rank and sub.conv.dilation == (1,) * case.rank
    expected = layer(x)
    got = sub(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)
    back = to_transposed(sub)
    assert type(back) is type(layer)
    assert back.state_dict().keys() == layer.state_dict().keys()
    for key, value in layer.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    torch.testing.assert_close(back(x), expected, atol=1e-10, rtol=0)


@given(case=cases(ranks=(1, 2), paddings=("torch",)))
def test_float32_within_1e5(case):
    layer = layer_for(case, torch.float32)
    x = input_for(case, torch.float32)
    torch.testing.assert_close(to_subpixel(layer)(x), layer(x), atol=1e-5, rtol=1e-5)


@given(case=cases(paddings=("torch", "pairs")), grow=st.integers(0, 6), data=st.data())
def test_output_size_matches_the_original(case, grow, data):
    layer = layer_for(case)
    allow = not case.torch_style
    if allow:
        layer.allow_crop = True
    geom = tconv.Geometry.create(
        case.kernel,
        case.stride,
        case.padding,
        case.output_padding,
        case.dilation,
        case.groups,
        rank=case.rank,
    )
    base = geom.output_size(case.size)
    if allow:  # any size: crop or zero-extend the end
        target = tuple(max(1, o + data.draw(st.integers(-3, 6))) for o in base)
    else:  # torch's own range: output_padding 0 .. stride - 1
        unpadded = geom.with_crop(tuple((lo, lo) for lo, _ in geom.crop))
        try:
            smallest = unpadded.output_size(case.size)
        except tconv.ShapeError:  # torch's range starts at an empty output: nothing to compare
            assume(False)
        target = tuple(o + min(grow, s - 1) for o, s in zip(smallest, case.stride, strict=True))
    x = input_for(case)
    expected = layer(x, output_size=target)
    sub = to_subpixel(layer)
    got = sub(x, output_size=target)
    assert tuple(got.shape[-case.rank :]) == target
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)


def test_output_size_outside_torch_range_is_a_shape_error():
    layer = torch.nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    sub = to_subpixel(layer)
    with pytest.raises(tconv.ShapeError, match=r"valid sizes range from \(15, 15\) to \(16, 16\)"):
        sub(torch.randn(1, 2, 8, 8), output_size=(17, 16))


def test_to_subpixel_walks_nested_models_and_leaves_the_original_alone():
    net = torch.nn.Sequential(
        torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 4, 4, 2, 1), torch.nn.ReLU()),
        tconv.nn.Upsample(4, 2, 2),  # transposed mode: its ConvTranspose2d is replaced too
    ).double()
    x = torch.randn(2, 4, 5, 6, dtype=torch.float64)
    sub = to_subpixel(net)
    names = [type(m).__name__ for m in sub.modules()]
    assert names.count("SubpixelConvTranspose") == 2 and "ConvTranspose2d" not in names
    assert isinstance(net[0][0], torch.nn.ConvTranspose2d)  # original untouched
    torch.testing.assert_close(sub(x), net(x), atol=1e-10, rtol=0)
    torch.testing.assert_close(
        sub[1](x, output_size=(9, 11)), net[1](x, output_size=(9, 11)), atol=1e-10, rtol=0
    )
    inplace = to_subpixel(net, inplace=True)
    assert inplace is net and isinstance(net[0][0], SubpixelConvTranspose)


def test_subpixel_module_keeps_gradients_flowing():
    layer = torch.nn.ConvTranspose1d(3, 2, 5, stride=3, padding=2, dtype=torch.float64)
    sub = to_subpixel(layer)
    x = torch.randn(2, 3, 7, dtype=torch.float64, requires_grad=True)
    (gx,) = torch.autograd.grad(sub(x).square().sum(), x)
    (ex,) = torch.autograd.grad(layer(x).square().sum(), x)
    torch.testing.assert_close(gx, ex, atol=1e-10, rtol=0)
    assert sub.conv.weight.requires_grad


def test_non_zeros_padding_mode_is_refused_with_the_layer_name():
    net = torch.nn.Sequential(tconv.nn.ConvTranspose1d(2, 2, 3, padding=1, padding_mode="circular"))
    with pytest.raises(tconv.ShapeError, match=r"^0: padding_mode='circular' is invalid"):
        to_subpixel(net)


# ---------------------------------------------------------------------------------------------
# to_transposed on conv + pixel shuffle pairs


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@given(
    rank=st.sampled_from([1, 2, 3]),
    kernel=st.integers(1, 4),
    scale=st.integers(1, 3),
    dilation=st.integers(1, 2),
    padding=st.sampled_from([0, 1, 2, 3, "same", "valid"]),
    groups=st.sampled_from([1, 2]),
    bias=st.booleans(),
    torch_shuffle=st.booleans(),
)
def test_conv_pixel_shuffle_pairs_become_one_transposed_conv(
    rank, kernel, scale, dilation, padding, groups, bias, torch_shuffle
):
    size = {1: 9, 2: 6, 3: 4}[rank]
    span = dilation * (kernel - 1) + 1
    if isinstance(padding, int) and size + 2 * padding < span:
        padding = "same"
    if padding == "valid" and size < span:
        padding = "same"
    conv = CONV[rank](
        2 * groups,
        2 * groups * scale**rank,
        kernel,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
        dtype=torch.float64,
    )
    if bias:  # tie the bias across the phases
        with torch.no_grad():
            conv.bias.copy_(
                torch.randn(2 * groups, dtype=torch.float64).repeat_interleave(scale**rank)
            )
    shuffle = (
        torch.nn.PixelShuffle(scale)
        if torch_shuffle and rank == 2
        else tconv.nn.PixelShuffle(scale)
    )
    pair = torch.nn.Sequential(conv, shuffle, torch.nn.Tanh())
    x = torch.randn(2, 2 * groups, *(size,) * rank, dtype=torch.float64)
    net = to_transposed(pair)
    assert isinstance(net[0], TCONV_T[rank]) and isinstance(net[1], torch.nn.Identity)
    assert net[0].stride == (scale,) * rank and net[0].groups == groups
    assert isinstance(pair[0], CONV[rank])  # the input model is left alone
    torch.testing.assert_close(net(x), pair(x), atol=1e-10, rtol=0)
    # and back again: one convolution + shuffle, still the same function
    again = to_subpixel(net)
    torch.testing.assert_close(again(x), pair(x), atol=1e-10, rtol=0)


def test_untied_bias_is_refused_naming_the_pair():
    pair = torch.nn.Sequential(
        torch.nn.Identity(), torch.nn.Conv2d(2, 8, 3), torch.nn.PixelShuffle(2)
    )
    with pytest.raises(tconv.ShapeError, match=r"^1, 2: the convolution's bias differs across"):
        to_transposed(pair)


def test_strided_conv_is_refused():
    pair = torch.nn.Sequential(
        torch.nn.Conv1d(2, 4, 3, stride=2, bias=False), tconv.nn.PixelShuffle(2)
    )
    with pytest.raises(tconv.ShapeError, match=r"stride=\(2,\) is invalid for to_transposed"):
        to_transposed(pair)


def test_pairs_outside_sequential_and_other_ranks_are_left_alone():
    # a 1-D conv followed by torch's (2-D) PixelShuffle is not a pair
    seq = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3), torch.nn.PixelShuffle(2))
    out = to_transposed(seq)
    assert isinstance(out[0], torch.nn.Conv1d) and isinstance(out[1], torch.nn.PixelShuffle)


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_upsample_subpixel_switches_to_transposed_mode(dims):
    block = tconv.nn.Upsample(3, 2, 2, "subpixel", dims=dims, dtype=torch.float64)
    with torch.no_grad():
        block.conv.weight.normal_()  # break the ICNR symmetry: any weights convert exactly
    x = torch.randn(1, 3, *(5,) * dims, dtype=torch.float64)
    out = to_transposed(block)
    assert out.mode == "transposed" and block.mode == "subpixel"
    assert isinstance(out.conv, TCONV_T[dims]) and out.shuffle is None and out.bias is None
    torch.testing.assert_close(out(x), block(x), atol=1e-10, rtol=0)
    target = (9,) * dims
    torch.testing.assert_close(out(x, target), block(x, target), atol=1e-10, rtol=0)


# ---------------------------------------------------------------------------------------------
# ONNX


def dcgan_like():
    """A small DCGAN-style generator mixing torch's and tconv's layers (and awkward settings)."""
    return torch.nn.Sequential(
        torch.nn.ConvTranspose2d(16, 32, 4, 1, 0, bias=False),
        torch.nn.BatchNorm2d(32),
        torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False),
        torch.nn.ReLU(),
        tconv.nn.ConvTranspose2d(16, 8, 3, stride=2, padding="same", groups=2),
        torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(8, 3, 5, stride=3, padding=2, output_padding=1, dilation=(1, 2)),
        torch.nn.Tanh(),
    )


ALLOWED_OPS = {
    "Conv",
    "DepthToSpace",
    "Reshape",
    "Transpose",
    "Slice",
    "Pad",
    "Constant",
    "Identity",
    "Relu",
    "Tanh",
    "BatchNormalization",
}


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_rewritten_model_exports_to_onnx_and_runs_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    import onnx
    import onnxruntime as ort

    model = dcgan_like()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model[1].running_mean.normal_()
        model[1].running_var.uniform_(0.5, 2)
    model.eval()
    sub = to_subpixel(model).eval()
    x = torch.randn(2, 16, 1, 1)
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(sub(x), expected, atol=1e-5, rtol=1e-5)
    path = tmp_path / "g.onnx"
    torch.onnx.export(sub, (x,), str(path))
    graph = onnx.load(str(path)).graph
    ops = collections.Counter(node.op_type for node in graph.node)
    assert "ConvTranspose" not in ops
    assert set(ops) <= ALLOWED_OPS, ops
    assert ops["Conv"] == 4 and ops["DepthToSpace"] == 4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    torch.testing.assert_close(torch.from_numpy(got), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("rank", [1, 3])
def test_onnx_export_in_1d_and_3d(tmp_path, monkeypatch, rank):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    import onnx
    import onnxruntime as ort

    layer = TORCH_T[rank](4, 2, 3, stride=2, padding=1, output_padding=1).eval()
    sub = to_subpixel(copy.deepcopy(layer)).eval()
    x = torch.randn(1, 4, *(5,) * rank)
    path = tmp_path / "m.onnx"
    torch.onnx.export(sub, (x,), str(path))
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "ConvTranspose" not in ops and "Conv" in ops and ops <= ALLOWED_OPS
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), layer(x), atol=1e-5, rtol=1e-5)


def test_shuffle_choice_keeps_the_channel_order():
    # an equal 2-D stride uses torch's shuffle (DepthToSpace in ONNX); others tconv's, same order
    sub = to_subpixel(torch.nn.ConvTranspose2d(2, 3, 4, 2, 1))
    assert type(sub.shuffle) is torch.nn.PixelShuffle
    y = sub.conv(torch.randn(1, 2, 4, 4))
    assert torch.equal(sub.shuffle(y), tconv.functional.pixel_shuffle(y, 2))
    other = to_subpixel(torch.nn.ConvTranspose2d(2, 3, 4, (2, 3), 1))
    assert type(other.shuffle) is tconv.nn.PixelShuffle
