"""``import tconv`` (and the interop modules themselves) import no other framework."""

import subprocess
import sys

FRAMEWORKS = ("keras", "tensorflow", "jax", "jaxlib", "flax", "onnx", "onnxruntime", "onnxscript")


def _loaded_after(statement: str) -> list[str]:
    code = (
        f"import sys\n{statement}\nprint(','.join(n for n in {FRAMEWORKS!r} if n in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return [name for name in out.stdout.strip().split(",") if name]


def test_import_tconv_loads_no_framework():
    assert _loaded_after("import tconv") == []


def test_importing_the_interop_modules_loads_no_framework():
    statement = "import tconv.interop, tconv.interop.keras, tconv.interop.jax, tconv.interop.onnx"
    assert _loaded_after(statement) == []


def test_the_check_can_fail():
    # the probe sees a framework once it is imported (so the tests above can fail)
    assert _loaded_after("import onnx") == ["onnx"]
