"""The CUDA matrix products: the Numba GEMM, and the route to cuBLAS.

Like tests/test_cuda.py, these run on Numba's CUDA simulator (set up in
conftest.py) on machines without a GPU, with small shapes. The cuBLAS route
needs CuPy and a GPU; here it is replaced by a *stand-in product* (the same
signature, computed on the host) to check which operands, transposes and
shapes the products hand to it, and by a fake ``cupy`` module to check
:func:`skneuro.kernels.cuda.blas.cublas_product`'s calls.
"""

import contextlib
import sys
import types
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skneuro import MLPClassifier
from skneuro._config import CUDA_SIMULATED
from skneuro.nn.backend import cuda_unavailable_reason

# As in tests/test_cuda.py: conftest.py switches Numba to its CUDA simulator,
# so this module runs in full on CPU-only machines; it skips only where
# numba.cuda can offer neither a GPU nor the simulator.
pytestmark = pytest.mark.skipif(
    cuda_unavailable_reason() is not None,
    reason="numba.cuda is unusable here (neither a GPU nor the simulator)")

if cuda_unavailable_reason() is None:
    from numba import cuda

    from skneuro.kernels.cuda import blas, dense


def ordered_product(a, b):
    """``a @ b``, each output summed over k in order, in the operands' dtype."""
    out = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for k in range(a.shape[1]):
        out += np.multiply.outer(a[:, k], b[k])
    return out


class StandIn:
    """A product with cuBLAS's signature, on the host, recording its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, a, b, out, ta, tb):
        self.calls.append(types.SimpleNamespace(a=a, b=b, out=out, ta=ta, tb=tb))
        host_a, host_b = a.copy_to_host(), b.copy_to_host()
        out.copy_to_device(ordered_product(host_a.T if ta else host_a,
                                           host_b.T if tb else host_b))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def stand_in():
    product = StandIn()
    with blas.use_product(product):
        yield product


@pytest.fixture
def fresh_reason():
    """Forget the cached route reason before and after a test that changes it."""
    blas.cublas_unavailable_reason.cache_clear()
    yield
    blas.cublas_unavailable_reason.cache_clear()


def operands(rng, n, k, m, ta, tb, dtype):
    a = rng.normal(size=(k, n) if ta else (n, k)).astype(dtype)
    b = rng.normal(size=(m, k) if tb else (k, m)).astype(dtype)
    return a, b


# -- the Numba kernel ---------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 70, 5), (65, 33, 130)])
def test_numba_kernel_matches_numpy(rng, shape, ta, tb, dtype):
    n, k, m = shape
    a, b = operands(rng, n, k, m, ta, tb, dtype)
    out = cuda.device_array((n, m), dtype)
    with blas.use_product("numba"):
        dense._product(cuda.to_device(a), cuda.to_device(b), out, ta, tb)
    result = out.copy_to_host()
    expected = ordered_product(a.T if ta else a, b.T if tb else b)
    if CUDA_SIMULATED:
        # The simulator rounds each product and each sum like numpy (a GPU
        # may fuse them): k in ascending order, exactly.
        assert_array_equal(result, expected)
    else:
        assert_allclose(result, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(result, (a.T if ta else a) @ (b.T if tb else b), rtol=tol, atol=tol)


@pytest.mark.parametrize("ta, tb", [(False, False), (True, True)])
def test_gpu_geometry_with_fewer_row_blocks_than_row_tiles(rng, ta, tb):
    # The GPU's geometry (256 threads, 64 x 64 tiles), run on one block row:
    # the kernel loops over the row tiles beyond the grid (gridDim.y's limit).
    geometry = dense.Geometry(16, 16, 4, 4, 16)
    n, k, m = 70, 20, 3
    a, b = operands(rng, n, k, m, ta, tb, np.float32)
    out = cuda.device_array((n, m), np.float32)
    kernel = dense._kernel(np.dtype(np.float32), ta, tb, geometry)
    kernel[(1, 1), (geometry.tx, geometry.ty)](cuda.to_device(a), cuda.to_device(b), out,
                                               *dense._no_epilogue(np.dtype(np.float32)))
    assert_allclose(out.copy_to_host(), (a.T if ta else a) @ (b.T if tb else b),
                    rtol=1e-5, atol=1e-5)


def test_launch_configuration_is_cached(rng):
    a, b = operands(rng, 5, 4, 3, False, False, np.float32)
    a_d, b_d = cuda.to_device(a), cuda.to_device(b)
    out = cuda.device_array((5, 3), np.float32)
    with blas.use_product("numba"):
        dense.matmul(a_d, b_d, out, exact_rows=False)
        key = (5, 3, np.dtype(np.float32), False, False, False)
        launch = dense._LAUNCHES[key]
        dense.matmul(a_d, b_d, out, exact_rows=False)
    assert dense._LAUNCHES[key] is launch


def test_kept_configurations_give_right_products_after_other_shapes(rng):
    """The products of a convolutional network's training step, twice: a configured
    kernel kept from the first step gave wrong products in the second (on the
    simulator), so only the grid is kept."""
    steps = [((9, 2), (9, 48), True, False), ((18, 2), (18, 48), True, False),
             ((3, 8), (8, 2), False, False), ((3, 8), (3, 2), True, False),
             ((3, 2), (8, 2), False, True), ((18, 48), (2, 48), False, True),
             ((18, 2), (2, 48), False, False), ((9, 48), (2, 48), False, True)]
    with blas.use_product("numba"):
        for _ in range(2):
            for sa, sb, ta, tb in steps:
                a = rng.normal(size=sa).astype(np.float32)
                b = rng.normal(size=sb).astype(np.float32)
                expected = (a.T if ta else a) @ (b.T if tb else b)
                out = cuda.device_array(expected.shape, np.float32)
                run = (dense.matmul_tn if ta else dense.matmul_nt if tb
                       else lambda x, y, z: dense.matmul(x, y, z, exact_rows=False))
                run(cuda.to_device(a), cuda.to_device(b), out)
                assert_allclose(out.copy_to_host(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("route", ["numba", "stand-in"])
@pytest.mark.parametrize("name", ["identity", "relu", "sigmoid", "tanh", "gelu",
                                  "leaky_relu"])
def test_the_dense_layer_product_gives_matmul_then_bias_activation(rng, name, route):
    """``matmul_bias_activation``: by the Numba kernel one launch (the bias and
    activation in the GEMM's epilogue), by cuBLAS (here its stand-in) two; either
    way the values of ``matmul`` then ``bias_activation_forward``, to the bit."""
    from skneuro.kernels.codes import CODES
    from skneuro.kernels.cpu import dense as cpu_dense
    from skneuro.kernels.cuda import activations

    code, param = CODES[name], np.float32(0.3 if name == "leaky_relu" else 1.7)
    n, k, m = 37, 20, 35  # partial tiles in both directions (32 x 32 on the simulator)
    a, b = operands(rng, n, k, m, False, False, np.float32)
    bias = rng.normal(size=m).astype(np.float32)
    a_d, b_d, bias_d = cuda.to_device(a), cuda.to_device(b), cuda.to_device(bias)
    with blas.use_product(StandIn() if route == "stand-in" else "numba"):
        for exact_rows in (True, False):
            fused = cuda.device_array((n, m), np.float32)
            dense.matmul_bias_activation(a_d, b_d, bias_d, code, param, fused, exact_rows)
            separate = cuda.device_array((n, m), np.float32)
            dense.matmul(a_d, b_d, separate, exact_rows)
            activations.bias_activation_forward(separate, bias_d, code, param)
            assert_array_equal(fused.copy_to_host(), separate.copy_to_host())
    on_cpu = np.empty((n, m), np.float32)
    cpu_dense.matmul_bias_activation(a, b, bias, code, param, on_cpu)
    assert_allclose(fused.copy_to_host(), on_cpu, rtol=1e-5, atol=1e-5)


def test_the_epilogue_is_one_launch(rng, monkeypatch):
    launched = []
    original = dense._launcher

    def spy(*args, **kwargs):
        launched.append(kwargs.get("epilogue", False))
        return original(*args, **kwargs)

    monkeypatch.setattr(dense, "_launcher", spy)
    a, b = operands(rng, 5, 4, 3, False, False, np.float32)
    out = cuda.device_array((5, 3), np.float32)
    with blas.use_product("numba"):
        dense.matmul_bias_activation(cuda.to_device(a), cuda.to_device(b),
                                     cuda.to_device(np.ones(3, np.float32)), 4,
                                     np.float32(0), out)
    assert launched == [True]
    assert_allclose(out.copy_to_host(), np.maximum(a @ b + 1, 0), rtol=1e-5)


def test_shapes_are_checked(rng):
    a = cuda.to_device(np.ones((3, 4), np.float32))
    b = cuda.to_device(np.ones((5, 2), np.float32))
    with pytest.raises(ValueError, match="do not match"):
        dense.matmul(a, b, cuda.device_array((3, 2), np.float32))


@pytest.mark.parametrize("route", ["numba", "stand-in"])
@pytest.mark.parametrize("exact_rows", [True, False])
def test_a_row_does_not_depend_on_the_number_of_rows(rng, route, exact_rows):
    # On the Numba route both modes are row-independent; on the stand-in's,
    # exact_rows=True goes through fixed blocks (exact_rows=False: one call,
    # row-independent here only because the stand-in is).
    a, b = operands(rng, 37, 19, 11, False, False, np.float32)
    b_d = cuda.to_device(b)
    with blas.use_product(StandIn() if route == "stand-in" else "numba"):
        many = cuda.device_array((37, 11), np.float32)
        dense.matmul(cuda.to_device(a), b_d, many, exact_rows=exact_rows)
        many = many.copy_to_host()
        for i in (0, 8, 36):
            one = cuda.device_array((1, 11), np.float32)
            dense.matmul(cuda.to_device(a[i:i + 1]), b_d, one, exact_rows=exact_rows)
            assert_array_equal(one.copy_to_host()[0], many[i])
    assert_allclose(many, a @ b, rtol=1e-5, atol=1e-5)


# -- the route: cuBLAS's stand-in ----------------------------------------------

def test_training_products_reach_the_product_whole(rng, stand_in):
    n, k, m = 13, 6, 5
    a, b = operands(rng, n, k, m, False, False, np.float32)
    c = rng.normal(size=(n, m)).astype(np.float32)
    a_d, b_d, c_d = cuda.to_device(a), cuda.to_device(b), cuda.to_device(c)

    out = cuda.device_array((n, m), np.float32)
    dense.matmul(a_d, b_d, out, exact_rows=False)
    out_tn = cuda.device_array((k, m), np.float32)
    dense.matmul_tn(a_d, c_d, out_tn)
    out_nt = cuda.device_array((n, k), np.float32)
    dense.matmul_nt(c_d, b_d, out_nt)

    plain, tn, nt = stand_in.calls
    assert (plain.a, plain.b, plain.out, plain.ta, plain.tb) == (a_d, b_d, out, False, False)
    assert (tn.a, tn.b, tn.out, tn.ta, tn.tb) == (a_d, c_d, out_tn, True, False)
    assert (nt.a, nt.b, nt.out, nt.ta, nt.tb) == (c_d, b_d, out_nt, False, True)
    assert_allclose(out.copy_to_host(), a @ b, rtol=1e-5, atol=1e-5)
    assert_allclose(out_tn.copy_to_host(), a.T @ c, rtol=1e-5, atol=1e-5)
    assert_allclose(out_nt.copy_to_host(), c @ b.T, rtol=1e-5, atol=1e-5)


def _inside(view, base):
    """Whether the device array ``view`` lies in ``base``'s memory."""
    start = dense._address(base)
    return start <= dense._address(view) < start + base.size * base.dtype.itemsize


@pytest.mark.parametrize("function", ["matmul", "matmul_rows"])
@pytest.mark.parametrize("n", [1, 8, 37])
@pytest.mark.parametrize("alignment", [1, 1 << 60])
def test_exact_rows_products_reach_the_product_in_fixed_blocks(rng, stand_in, monkeypatch,
                                                               function, n, alignment):
    # alignment=1: every full block is in place (a GPU allocation's blocks of
    # ROW_BLOCK rows usually are); 1 << 60: every block is staged.
    monkeypatch.setattr(dense, "BLOCK_ALIGNMENT", alignment)
    rows, k, m = dense.ROW_BLOCK, 6, 5
    a, b = operands(rng, n, k, m, False, False, np.float32)
    a_d, b_d = cuda.to_device(a), cuda.to_device(b)
    out = cuda.device_array((n, m), np.float32)
    if function == "matmul":
        dense.matmul(a_d, b_d, out)  # exact_rows=True by default
    else:
        dense.matmul_rows(a_d, b_d, out)

    assert len(stand_in.calls) == -(-n // rows)
    for i, call in enumerate(stand_in.calls):
        assert call.a.shape == (rows, k) and call.out.shape == (rows, m)
        assert (call.b, call.ta, call.tb) == (b_d, False, False)
        full = (i + 1) * rows <= n
        assert _inside(call.a, a_d) == _inside(call.out, out) == (full and alignment == 1)
    assert_array_equal(out.copy_to_host(), ordered_product(a, b))


def test_predictions_follow_the_exact_rows_rule(rng):
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((6,), max_iter=2, batch_size=16, random_state=0,
                            device="cuda").fit(X, y)
    with blas.use_product("numba"):
        by_numba = clf.predict_proba(X[:11])
    product = StandIn()
    with blas.use_product(product):
        proba = clf.predict_proba(X[:11])
        calls = len(product.calls)
        single = clf.predict_proba(X[10:11])
    # Two dense layers, 11 rows: two blocks of ROW_BLOCK (8) rows each.
    assert calls == 2 * -(-11 // dense.ROW_BLOCK)
    assert all(call.a.shape[0] == call.out.shape[0] == dense.ROW_BLOCK
               for call in product.calls)
    assert_array_equal(single[0], proba[10])
    assert_allclose(proba, by_numba, rtol=1e-5, atol=1e-6)


# -- choosing the route ---------------------------------------------------------

@pytest.mark.skipif(not CUDA_SIMULATED,
                    reason="on a real GPU the default route depends on whether CuPy is there")
def test_the_simulator_uses_the_numba_kernel(rng, monkeypatch):
    assert "simulator" in blas.cublas_unavailable_reason()
    assert blas.current_product() is None
    with pytest.raises(RuntimeError, match="simulator"):
        blas.set_product("cublas")
    launched = []
    numba_product = dense._numba_product

    def spy(a, b, out, ta, tb):
        launched.append((ta, tb))
        numba_product(a, b, out, ta, tb)

    monkeypatch.setattr(dense, "_numba_product", spy)
    a, b = operands(rng, 3, 4, 3, False, False, np.float32)
    a_d, b_d = cuda.to_device(a), cuda.to_device(b)
    out = cuda.device_array((3, 3), np.float32)
    dense.matmul(a_d, b_d, out)
    dense.matmul(a_d, b_d, out, exact_rows=False)
    dense.matmul_rows(a_d, b_d, out)
    dense.matmul_tn(a_d, out, cuda.device_array((4, 3), np.float32))
    dense.matmul_nt(out, b_d, cuda.device_array((3, 4), np.float32))
    assert launched == [(False, False)] * 3 + [(True, False), (False, True)]


def test_without_cupy_the_numba_kernel_is_used(monkeypatch, fresh_reason):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    assert "CuPy is not installed" in blas._cupy_reason()
    # As on a GPU machine without CuPy: the simulator is not the reason.
    monkeypatch.setattr(blas, "_simulator_reason", lambda: None)
    assert "CuPy is not installed" in blas.cublas_unavailable_reason()
    assert blas.current_product() is None


def fake_cupy(devices=1):
    """A ``cupy`` module whose arrays are numpy views of the simulator's arrays."""
    log = []

    class Array(np.ndarray):
        device = contextlib.nullcontext()

    def asarray(x):
        log.append(("asarray", x))
        return np.asarray(x._ary if hasattr(x, "_ary") else x).view(Array)

    def matmul(x, y, out):
        log.append(("matmul", x, y, out))
        np.matmul(x, y, out=out)

    class Stream:
        null = contextlib.nullcontext()

    runtime = types.SimpleNamespace(getDeviceCount=lambda: devices)
    cuda_ns = types.SimpleNamespace(runtime=runtime, Stream=Stream,
                                    ExternalStream=lambda ptr: contextlib.nullcontext())
    return types.SimpleNamespace(asarray=asarray, matmul=matmul, cuda=cuda_ns), log


def test_cupy_reason_sees_tf32_and_missing_gpus(monkeypatch):
    module, _ = fake_cupy()
    monkeypatch.setitem(sys.modules, "cupy", module)
    monkeypatch.delenv("CUPY_TF32", raising=False)
    assert blas._cupy_reason() is None
    monkeypatch.setenv("CUPY_TF32", "1")
    assert "TF32" in blas._cupy_reason()
    monkeypatch.setenv("CUPY_TF32", "0")
    assert blas._cupy_reason() is None
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(devices=0)[0])
    assert "no GPU" in blas._cupy_reason()


@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True)])
def test_cublas_product_hands_views_to_cupy(rng, monkeypatch, ta, tb):
    module, log = fake_cupy()
    monkeypatch.setitem(sys.modules, "cupy", module)
    monkeypatch.setattr(blas, "_numba_stream_handle", lambda: 0)
    n, k, m = 4, 3, 5
    a, b = operands(rng, n, k, m, ta, tb, np.float32)
    a_d, b_d = cuda.to_device(a), cuda.to_device(b)
    out = cuda.device_array((n, m), np.float32)
    blas.cublas_product(a_d, b_d, out, ta, tb)
    assert [entry[0] for entry in log] == ["asarray"] * 3 + ["matmul"]
    _, x, y, z = log[-1]
    # The operands are views of the device arrays (no copies), transposed as asked.
    assert np.shares_memory(x, a_d._ary) and np.shares_memory(y, b_d._ary)
    assert np.shares_memory(z, out._ary)
    assert x.shape == (n, k) and y.shape == (k, m)
    assert_allclose(out.copy_to_host(), (a.T if ta else a) @ (b.T if tb else b), rtol=1e-6)


def test_set_product_refuses_unknown_routes():
    with pytest.raises(ValueError, match="Unknown product route"):
        blas.set_product("magma")
    assert blas.set_product("auto") == "auto"
