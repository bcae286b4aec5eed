"""The error taxonomy (docs/index.md, "Errors"), case by case, in the API, the modules and the
command line: ShapeError for geometry and shapes, ValueError for a bad choice among named
options, TypeError for a wrong type; each message names the bad value."""

from __future__ import annotations

import re

import pytest
import torch

import tconv
from tconv.cli import main
from tconv.interop.onnx import OnnxConvTranspose1d, output_shape_crop
from tconv.methods import METHODS
from tconv.nn import ConvTranspose1d, ConvTranspose2d, Upsample

X1, W1 = torch.randn(1, 2, 5), torch.randn(2, 3, 3)
X2 = torch.randn(1, 2, 5, 5)
SHAPE = ["shape", "--input", "16", "--kernel", "3", "--stride", "2"]

CASES = [
    # -- ShapeError: geometry and shapes
    (
        lambda: ConvTranspose2d(2, 2, 3, stride=2)(X2, output_size=(1, 11, 11)),
        tconv.ShapeError,
        r"output_size=\(1, 11, 11\) is invalid for 2 spatial dimensions: expected 2 entries "
        r"\(the spatial size\) or 4 \(N, C, \*spatial\)",
    ),
    (
        lambda: tconv.conv_transpose(X1, W1, stride=2, output_size=(1, 3, 4, 11)),
        tconv.ShapeError,
        r"output_size=\(1, 3, 4, 11\) is invalid for 1 spatial dimension: expected 1",
    ),
    (
        lambda: Upsample(2, 2, 2)(X2, output_size=(10,)),
        tconv.ShapeError,
        r"output_size=\(10,\) is invalid for 2 spatial dimensions",
    ),
    (
        lambda: tconv.conv_transpose(X1, W1, stride=2, padding="same", output_padding=1),
        tconv.ShapeError,
        r"padding='same' with output_padding=\(1,\) is invalid: 'same' means output = input \* "
        r"stride, .* pass output_size= .* or explicit \(begin, end\) crop pairs",
    ),
    (
        lambda: ConvTranspose1d(2, 2, 3, stride=2, padding="same_lower", output_padding=1),
        tconv.ShapeError,
        r"padding='same_lower' with output_padding=\(1,\) is invalid",
    ),
    (
        lambda: tconv.output_size(16, 3, stride=2, padding="valid", output_padding=1),
        tconv.ShapeError,
        r"padding='valid' with output_padding=\(1,\) is invalid: 'valid' means the full output",
    ),
    (
        lambda: ConvTranspose2d(4, 2, 3)(torch.randn(3, 8, 8)),
        tconv.ShapeError,
        r"input has 3 channels .* expects in_channels=4 .*; the 3-D input was read as unbatched "
        r"\(C, H, W\) as torch does: .* \(4-D \(N, C, H, W\)\)",
    ),
    (
        lambda: ConvTranspose1d(4, 2, 3)(torch.randn(3, 8)),
        tconv.ShapeError,
        r"read as unbatched \(C, L\)",
    ),
    (
        lambda: tconv.conv_transpose(X1, W1, stride=(1, 2)),
        tconv.ShapeError,
        r"stride=\(1, 2\) is invalid: expected an int or 1 int ",
    ),
    (
        lambda: tconv.conv_transpose(X1, W1, padding="half"),
        tconv.ShapeError,
        r"padding='half' is invalid: valid names are",
    ),
    # -- ValueError: a bad choice among named options
    (
        lambda: tconv.conv_transpose(X1, W1, method="fft"),
        ValueError,
        r"method='fft' is invalid: valid methods are \('native'",
    ),
    (
        lambda: ConvTranspose2d(2, 2, 3, method="fft"),
        ValueError,
        r"method='fft' is invalid",
    ),
    (
        lambda: ConvTranspose2d(2, 2, 3, padding_mode="wrap"),
        ValueError,
        r"padding_mode='wrap' is invalid: valid modes are \('zeros', 'circular'",
    ),
    (
        lambda: output_shape_crop(11, 0, 8, "SAME"),
        ValueError,
        r"auto_pad='SAME' is invalid: valid values are \('NOTSET'",
    ),
    (
        lambda: OnnxConvTranspose1d(1, 1, 3, output_shape=(8,), auto_pad="same"),
        ValueError,
        r"auto_pad='same' is invalid",
    ),
    # -- TypeError: a wrong type
    (
        lambda: ConvTranspose2d(2, 2, 3, stride="a"),
        TypeError,
        r"stride='a' is invalid: expected an int or a tuple of 2 ints, got str",
    ),
    (
        lambda: tconv.conv_transpose(X1, W1, padding=1.5),
        TypeError,
        r"padding=1.5 is invalid: .* got float",
    ),
    (
        lambda: ConvTranspose2d(2, 2, 3, padding=(1, 1.5)),
        TypeError,
        r"padding=\(1, 1.5\) is invalid: expected an int, 2 ints, .* holding 1.5 of type float",
    ),
    (
        lambda: ConvTranspose2d(2, 2, 3, groups=1.0),
        TypeError,
        r"groups=1.0 is invalid: groups must be an int, got float",
    ),
    (
        lambda: ConvTranspose2d(2, 2, 3, stride=2)(X2, output_size="11"),
        TypeError,
        r"output_size='11' is invalid: expected an int or a sequence of ints, got str",
    ),
    (
        lambda: Upsample("4", 4, 2),
        TypeError,
        r"in_channels='4' is invalid: expected an int, got str",
    ),
    (
        lambda: tconv.conv_matrix(torch.randn(2, 2, 3), 5, groups=1.5),
        TypeError,
        r"groups=1.5 is invalid: expected an int, got float",
    ),
    (
        lambda: tconv.conv_transpose(X1.double(), W1),
        TypeError,
        r"input \(torch.float64\), weight \(torch.float32\) must all have the same dtype",
    ),
    (
        lambda: tconv.conv_transpose(X1, W1, torch.zeros(3, dtype=torch.float16)),
        TypeError,
        r"bias \(torch.float16\) must all have the same dtype",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), CASES)
def test_each_error_has_its_type_and_names_the_value(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    # a ValueError for a named option is not a ShapeError (the taxonomy keeps them apart)
    assert isinstance(info.value, tconv.ShapeError) is (error is tconv.ShapeError)


@pytest.mark.parametrize("method", METHODS)
def test_dtype_mismatch_is_named_for_every_method(method):
    x, w = torch.randn(1, 2, 6, dtype=torch.float64), torch.randn(2, 3, 3)
    with pytest.raises(TypeError, match=r"input \(torch.float64\), weight \(torch.float32\)"):
        tconv.conv_transpose(x, w, stride=2, method=method)
    m = ConvTranspose1d(2, 3, 3, stride=2, method=method)
    with pytest.raises(TypeError, match=r"input \(torch.float64\), weight \(torch.float32\)"):
        m(x)


def test_output_size_lengths_follow_torch():
    # torch's modules accept rank or rank + 2 entries and refuse the rest; so does tconv
    ref = torch.nn.ConvTranspose2d(2, 3, 3, stride=2)
    m = ConvTranspose2d(2, 3, 3, stride=2)
    m.load_state_dict(ref.state_dict())
    for size in [(12, 11), (1, 3, 12, 11)]:
        torch.testing.assert_close(m(X2, output_size=size), ref(X2, output_size=size))
    for size in [(11,), (3, 12, 11), (1, 1, 3, 12, 11)]:
        with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
            ref(X2, output_size=size)
        with pytest.raises(tconv.ShapeError, match=r"expected 2 entries .* or 4"):
            m(X2, output_size=size)


def test_an_int_output_size_is_the_size_of_every_spatial_dimension():
    m = ConvTranspose2d(2, 3, 3, stride=2)
    torch.testing.assert_close(m(X2, output_size=12), m(X2, output_size=(12, 12)))
    assert m(X2, output_size=12).shape == (1, 3, 12, 12)
    y = tconv.conv_transpose(X1, W1, stride=2, output_size=12)
    torch.testing.assert_close(y, torch.nn.functional.conv_transpose1d(X1, W1, None, 2, 0, 1))


def test_unbatched_input_that_fits_still_works_as_in_torch():
    ref = torch.nn.ConvTranspose2d(3, 2, 3)
    m = ConvTranspose2d(3, 2, 3)
    m.load_state_dict(ref.state_dict())
    x = torch.randn(3, 8, 8)
    torch.testing.assert_close(m(x), ref(x))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [*SHAPE, "--padding", "same", "--output-padding", "1"],
            r"padding='same' with output_padding=\(1,\) is invalid: 'same' means output = input",
        ),
        (
            [*SHAPE, "--padding", "valid", "--output-padding", "1"],
            r"padding='valid' with output_padding=\(1,\) is invalid",
        ),
    ],
)
def test_named_padding_with_output_padding_is_refused_by_the_command_line(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"tconv {argv[0]}: error: ")
    assert re.search(message, captured.err), captured.err
