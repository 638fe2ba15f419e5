"""The CUDA target check: a GPU numba-cuda cannot use, numpy's missing names, real PTX.

The device logic is tested by faking the machine's state (no GPU is needed);
the PTX test compiles real skneuro kernels with numba-cuda's compiler,
outside the simulator, which needs NVVM and NVRTC (``numba-cuda[cu13]``) but
no GPU.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from skneuro import MLPClassifier
from skneuro import _cuda_target as target
from skneuro.nn import backend
from skneuro.nn.backend import CPUBackend, get_backend, resolve_device

BROKEN = ("the CUDA target cannot load: numba-cuda 0.30.4 cannot compile kernels with "
          "numpy 2.5.2 (AttributeError: module 'numpy' has no attribute 'row_stack'); "
          "pip install 'numpy<2.5' or a newer numba-cuda")


@pytest.fixture
def unprobed(monkeypatch):
    """A process that has not probed the target yet (restored afterwards)."""
    monkeypatch.setattr(target, "_problem", target._UNPROBED)


@pytest.fixture
def broken_gpu(unprobed, monkeypatch):
    """A GPU is present (the simulator's), but the probe finds the target broken."""
    calls = []

    def probe():
        calls.append(1)
        return BROKEN

    monkeypatch.setattr(target, "_probe", probe)
    return calls


@pytest.fixture
def no_gpu(unprobed, monkeypatch):
    from numba import cuda

    def probe():
        raise AssertionError("the target must not be probed without a GPU")

    monkeypatch.setattr(cuda, "is_available", lambda: False)
    monkeypatch.setattr(target, "_probe", probe)


def test_cuda_on_a_broken_target_raises_with_cause_and_fix(broken_gpu):
    with pytest.raises(RuntimeError, match="device='cuda' was requested") as info:
        resolve_device("cuda")
    message = str(info.value)
    assert "row_stack" in message and "pip install 'numpy<2.5'" in message
    with pytest.raises(RuntimeError, match="row_stack"):
        get_backend("cuda")


def test_auto_on_a_broken_target_warns_and_uses_the_cpu(broken_gpu):
    with pytest.warns(target.CUDATargetWarning, match="found a CUDA GPU but the CUDA target "
                      "cannot load.*numpy<2.5.*Running on the CPU"):
        assert resolve_device("auto") == "cpu"
    with pytest.warns(target.CUDATargetWarning):
        assert isinstance(get_backend("auto"), CPUBackend)


def test_an_estimator_with_auto_fits_on_the_cpu_and_says_why(broken_gpu, rng):
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(target.CUDATargetWarning, match="row_stack"):
        model = MLPClassifier((8,), max_iter=3, device="auto", random_state=0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Maximum iterations")
            model.fit(X, y)
        assert model.predict(X).shape == (40,)


def test_the_probe_runs_once_per_process(broken_gpu):
    for _ in range(3):
        assert backend.cuda_unavailable_reason() == BROKEN
        with pytest.raises(RuntimeError):
            resolve_device("cuda")
    assert len(broken_gpu) == 1


def test_auto_without_a_gpu_stays_quiet(no_gpu):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_device("auto") == "cpu"
        assert isinstance(get_backend("auto"), CPUBackend)
    with pytest.raises(RuntimeError, match="no usable CUDA GPU"):
        resolve_device("cuda")


def test_a_working_target_is_used(unprobed, monkeypatch):
    monkeypatch.setattr(target, "_probe", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_device("auto") == "cuda"
        assert resolve_device("cuda") == "cuda"


def test_the_simulator_needs_no_probe(unprobed):
    assert target.target_problem() is None  # conftest runs on the simulator


def test_the_probe_kernel_runs(unprobed):
    # On the simulator here; the same code launches it on a real GPU.
    assert target._run_probe_kernel() == 1.0


def test_numpy_alias_only_when_missing(monkeypatch):
    original = getattr(np, "row_stack", None)
    if original is not None:
        with target.numpy_compat() as lent:
            assert not lent and getattr(np, "row_stack", None) is original
        assert getattr(np, "row_stack", None) is original
        monkeypatch.delattr(np, "row_stack")  # numpy 2.5 and later
    assert not hasattr(np, "row_stack")
    with target.numpy_compat() as lent:
        assert lent and getattr(np, "row_stack", None) is np.vstack
    assert not hasattr(np, "row_stack")  # taken back


def test_reasons_name_cause_and_fix():
    major, minor = np.__version__.split(".")[:2]
    reason = target.compile_failure_reason(
        AttributeError("module 'numpy' has no attribute 'row_stack'"))
    assert "row_stack" in reason and f"numpy<{major}.{minor}" in reason
    assert "numba-cuda" in reason and np.__version__ in reason

    class DynamicLibNotFoundError(RuntimeError):
        pass

    reason = target.compile_failure_reason(DynamicLibNotFoundError('Failure finding "libnvvm"'))
    assert "NVVM" in reason and "skneuro[cuda]" in reason
    reason = target.launch_failure_reason(RuntimeError("CUDA_ERROR_UNSUPPORTED_PTX_VERSION"))
    assert "UNSUPPORTED_PTX_VERSION" in reason and "driver" in reason


# Outside the simulator: compile real kernels to PTX (NVVM and NVRTC, no GPU).
# Kernels that call a ``cuda.jit(device=True)`` function cannot be compiled
# so: numba-cuda 0.30.4 asks the driver for the current device's compute
# capability when it types the call (CudaSupportError without a driver).
_PTX_SCRIPT = r"""
import sys
import numpy as np

if sys.argv[1] == "numpy-2.5":  # what numpy 2.5 looks like to numba-cuda
    if hasattr(np, "row_stack"):
        del np.row_stack
try:
    from cuda.pathfinder import load_nvidia_dynamic_lib
except ImportError:
    load_nvidia_dynamic_lib = None
if load_nvidia_dynamic_lib is not None:
    for lib in ("nvvm", "nvrtc"):
        try:
            load_nvidia_dynamic_lib(lib)
        except Exception as exc:
            print(f"SKIP numba-cuda's {lib} library is not installed "
                  f"({type(exc).__name__}); pip install 'numba-cuda[cu13]' to run this test")
            sys.exit(0)

from numba import cuda, float32, int64, types

from skneuro.kernels.cuda import dense  # loads the target (prepare_target)

m32 = float32[:, ::1]
kernels = [
    # The plain GEMM (its epilogue variant calls the activations' device function).
    (dense._kernel(np.dtype(np.float32), True, False), (m32, m32, m32, float32[::1], int64,
                                                       float32)),
    (dense._column_sum, (m32, float32[::1])),
    (dense._row_sum, (m32, float32[::1])),
    (dense._take_rows, (m32, m32, int64[::1])),
]
for kernel, sig in kernels:
    ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
    assert ".entry" in ptx, ptx[:200]
assert hasattr(np, "row_stack") == (sys.argv[1] != "numpy-2.5"), "numpy left changed"
print("OK", len(kernels))
"""


@pytest.mark.parametrize("numpy_flavour", ["installed", "numpy-2.5"])
def test_real_kernels_compile_to_ptx_without_a_gpu(numpy_flavour):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["NUMBA_ENABLE_CUDASIM"] = "0"
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", _PTX_SCRIPT, numpy_flavour], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    if last.startswith("SKIP "):
        # numba-cuda installed without its toolkit wheels (NVVM, NVRTC) compiles
        # nothing outside the simulator. The test extra brings them, so CI runs this.
        pytest.skip(last[5:])
    assert last == "OK 4"
