"""The CUDA path: every CUDA kernel against its CPU twin, and whole fits.

On a machine without a GPU these run on Numba's CUDA simulator (set up in
conftest.py), with tiny shapes because every simulated thread is a Python
thread. ``SKNEURO_TEST_DEVICE=cuda pytest tests/test_cuda.py`` runs them on a
real GPU.
"""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning

from skneuro import MLPClassifier, MLPRegressor, Perceptron
from skneuro.kernels.cpu import activations as cpu_act
from skneuro.kernels.cpu import dense as cpu_dense
from skneuro.kernels.cpu import dropout as cpu_dropout
from skneuro.kernels.cpu import losses as cpu_losses
from skneuro.kernels.cpu import optim as cpu_optim
from skneuro.kernels.cpu import perceptron as cpu_perceptron
from skneuro.nn.backend import cuda_unavailable_reason, get_backend

# conftest.py switches Numba to its CUDA simulator, so on CPU-only machines (CI
# included) this module runs in full; it skips only where numba.cuda can offer
# neither a GPU nor the simulator.
pytestmark = pytest.mark.skipif(
    cuda_unavailable_reason() is not None,
    reason="numba.cuda is unusable here (neither a GPU nor the simulator)")

F32 = np.float32
TOL = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def gpu():
    return get_backend("cuda", np.float32)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def on(gpu, *arrays):
    return [gpu.asarray(a, dtype=a.dtype) for a in arrays]


def back(gpu, *arrays):
    return [gpu.to_host(a) for a in arrays]


@pytest.mark.parametrize("name", sorted(cpu_act.CODES))
def test_activation_kernels(gpu, rng, name):
    code, param = cpu_act.CODES[name], F32(0.3 if name == "leaky_relu" else 1.7)
    z = rng.normal(size=(5, 7)).astype(F32)
    b = rng.normal(size=7).astype(F32)
    expected = z.copy()
    cpu_act.bias_activation_forward(expected, b, code, param)
    z_d, b_d = on(gpu, z, b)
    gpu.activations.bias_activation_forward(z_d, b_d, code, param)
    assert_allclose(gpu.to_host(z_d), expected, **TOL)

    out_cpu = np.empty_like(z)
    cpu_act.activation_forward(z, code, param, out_cpu)
    out_d = gpu.empty(z.shape)
    gpu.activations.activation_forward(on(gpu, z)[0], code, param, out_d)
    assert_allclose(gpu.to_host(out_d), out_cpu, **TOL)

    g = rng.normal(size=z.shape).astype(F32)
    cpu_out = np.empty_like(g)
    cpu_act.activation_backward(g, expected, code, param, cpu_out)
    g_d, a_d = on(gpu, g, expected)
    gpu.activations.activation_backward(g_d, a_d, code, param, out_d)
    assert_allclose(gpu.to_host(out_d), cpu_out, **TOL)

    # The dense layer's fused operations: what the separate kernels give, to the bit.
    sums_cpu = np.empty(z.shape[1], F32)
    fused_cpu = np.empty_like(g)
    cpu_dense.bias_activation_backward(g, expected, code, param, fused_cpu, sums_cpu)
    assert_array_equal(fused_cpu, cpu_out)
    fused_d, sums_d, separate_sums_d = (gpu.empty(z.shape), gpu.empty(z.shape[1]),
                                        gpu.empty(z.shape[1]))
    gpu.dense.bias_activation_backward(g_d, a_d, code, param, fused_d, sums_d)
    gpu.dense.column_sum(out_d, separate_sums_d)
    assert_array_equal(gpu.to_host(fused_d), gpu.to_host(out_d))
    assert_array_equal(gpu.to_host(sums_d), gpu.to_host(separate_sums_d))
    assert_allclose(gpu.to_host(sums_d), sums_cpu, **TOL)
    x, W = rng.normal(size=(5, 4)).astype(F32), rng.normal(size=(4, 7)).astype(F32)
    layer_cpu = np.empty((5, 7), F32)
    cpu_dense.matmul_bias_activation(x, W, b, code, param, layer_cpu)
    layer_d = gpu.empty((5, 7))
    gpu.dense.matmul_bias_activation(*on(gpu, x, W, b), code, param, layer_d)
    assert_allclose(gpu.to_host(layer_d), layer_cpu, **TOL)


@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 3, 7), (9, 6, 5)])
def test_matrix_products(gpu, rng, shape):
    n, k, m = shape
    a = rng.normal(size=(n, k)).astype(F32)
    b = rng.normal(size=(k, m)).astype(F32)
    c = rng.normal(size=(n, m)).astype(F32)
    a_d, b_d, c_d = on(gpu, a, b, c)
    out = gpu.empty((n, m))
    gpu.dense.matmul(a_d, b_d, out)
    assert_allclose(gpu.to_host(out), a @ b, **TOL)
    out_tn = gpu.empty((k, m))
    gpu.dense.matmul_tn(a_d, c_d, out_tn)
    assert_allclose(gpu.to_host(out_tn), a.T @ c, **TOL)
    out_nt = gpu.empty((n, k))
    gpu.dense.matmul_nt(c_d, b_d, out_nt)
    assert_allclose(gpu.to_host(out_nt), c @ b.T, **TOL)
    # Row-independent, like the CPU's matmul_rows.
    one = gpu.empty((1, m))
    gpu.dense.matmul_rows(on(gpu, a[-1:])[0], b_d, one)
    assert_array_equal(gpu.to_host(one)[0], gpu.to_host(out)[-1])


def test_data_movement_and_reductions(gpu, rng):
    x = rng.normal(size=(6, 5)).astype(F32)
    idx = np.array([5, 0, 3, 3], dtype=np.intp)
    x_d, idx_d = on(gpu, x, idx)
    col = gpu.empty((5,))
    gpu.dense.column_sum(x_d, col)
    expected = np.empty(5, F32)
    cpu_dense.column_sum(x, expected)
    assert_allclose(gpu.to_host(col), expected, **TOL)
    sums = gpu.empty((6,))
    gpu.dense.row_sum(x_d, sums)
    expected = np.empty(6, F32)
    cpu_dense.row_sum(x, expected)
    assert_allclose(gpu.to_host(sums), expected, **TOL)

    rows = gpu.empty((4, 5))
    gpu.dense.take_rows(rows, x_d, idx_d)
    assert_array_equal(gpu.to_host(rows), x[idx])
    v = rng.normal(size=6).astype(F32)
    (v_d,) = on(gpu, v)
    taken = gpu.empty((4,))
    gpu.dense.take(taken, v_d, idx_d)
    assert_array_equal(gpu.to_host(taken), v[idx])
    gpu.dense.take_scaled(taken, v_d, idx_d, F32(0.5))
    assert_allclose(gpu.to_host(taken), v[idx] * F32(0.5), **TOL)

    y_d = gpu.empty(x.shape)
    gpu.dense.add(y_d, x_d, x_d)
    gpu.dense.add_into(y_d, x_d)
    assert_allclose(gpu.to_host(y_d), 3 * x, **TOL)
    gpu.dense.copy(y_d, x_d)
    assert_array_equal(gpu.to_host(y_d), x)

    wide = gpu.zeros((6, 8))
    gpu.dense.put_columns(wide, x_d, 2)
    host = gpu.to_host(wide)
    assert_array_equal(host[:, 2:7], x)
    assert not host[:, [0, 1, 7]].any()
    back_d = gpu.empty((6, 3))
    gpu.dense.take_columns(back_d, wide, 3)
    assert_array_equal(gpu.to_host(back_d), x[:, 1:4])

    gpu.dense.fill(y_d, 2.0)
    assert_array_equal(gpu.to_host(y_d), np.full(x.shape, 2, F32))
    acc = gpu.zeros((1,), dtype=np.float64)
    gpu.dense.sum_squares(x_d, acc)
    assert_allclose(gpu.to_host(acc)[0], np.sum(x.astype(np.float64) ** 2), rtol=1e-10)


@pytest.mark.parametrize("name", ["squared_error", "softmax_cross_entropy",
                                  "sigmoid_binary_cross_entropy", "poisson_deviance"])
def test_loss_kernels(gpu, rng, name):
    n, m = 7, 4
    z = rng.normal(size=(n, m)).astype(F32)
    w = rng.uniform(0.1, 1, size=n).astype(F32)
    w /= w.sum()
    if name == "softmax_cross_entropy":
        t = rng.integers(0, m, size=n).astype(np.intp)
    elif name == "poisson_deviance":
        t = rng.poisson(2.0, size=(n, m)).astype(F32)
    else:
        t = rng.integers(0, 2, size=(n, m)).astype(F32)
    grad, rows = np.empty_like(z), np.empty(n, F32)
    getattr(cpu_losses, name)(z, t, w, grad, rows)
    acc = np.zeros(1)
    cpu_losses.weighted_sum(rows, w, 2.0, acc)

    z_d, t_d, w_d = on(gpu, z, t, w)
    grad_d, rows_d = gpu.empty(z.shape), gpu.empty((n,))
    getattr(gpu.losses, name)(z_d, t_d, w_d, grad_d, rows_d)
    acc_d = gpu.zeros((1,), dtype=np.float64)
    gpu.losses.weighted_sum(rows_d, w_d, 2.0, acc_d)
    assert_allclose(gpu.to_host(grad_d), grad, **TOL)
    assert_allclose(gpu.to_host(rows_d), rows, **TOL)
    assert_allclose(gpu.to_host(acc_d), acc, rtol=1e-5)

    for activation in ("softmax", "sigmoid", "exp"):
        expected = z.copy()
        getattr(cpu_losses, activation)(expected)
        (d,) = on(gpu, z)
        getattr(gpu.losses, activation)(d)
        assert_allclose(gpu.to_host(d), expected, **TOL)


def test_optimizer_kernels(gpu, rng):
    p, g = (rng.normal(size=(3, 5)).astype(F32) for _ in range(2))
    s1, s2 = (np.abs(rng.normal(size=(3, 5))).astype(F32) for _ in range(2))
    cases = [  # the L2 penalty on the first 9 elements (of 15)
        ("sgd_update", [s1], (F32(0.1), F32(0.9), True, F32(0.01), 9)),
        ("adam_update", [s1, s2], (F32(0.01), F32(0.9), F32(0.999), F32(1e-8), F32(0.01), 9)),
        ("rmsprop_update", [s2], (F32(0.01), F32(0.9), F32(1e-8), F32(0.01), 9)),
        ("adagrad_update", [s2], (F32(0.01), F32(1e-8), F32(0.01), 9)),
    ]
    for name, slots, scalars in cases:
        p_cpu, slots_cpu = p.copy(), [s.copy() for s in slots]
        getattr(cpu_optim, name)(p_cpu, g, *slots_cpu, *scalars)
        p_d, g_d, *slots_d = on(gpu, p, g, *slots)
        getattr(gpu.optim, name)(p_d, g_d, *slots_d, *scalars)
        assert_allclose(gpu.to_host(p_d), p_cpu, **TOL, err_msg=name)
        for a, b in zip(back(gpu, *slots_d), slots_cpu):
            assert_allclose(a, b, **TOL, err_msg=name)


def test_dropout_masks_are_the_same_on_both_devices(gpu, rng):
    x = rng.normal(size=(6, 9)).astype(F32)
    out, mask = np.empty_like(x), np.empty_like(x)
    cpu_dropout.dropout_forward(x, 1234, 5, 3, F32(0.4), out, mask)
    (x_d,) = on(gpu, x)
    out_d, mask_d = gpu.empty(x.shape), gpu.empty(x.shape)
    gpu.dropout.dropout_forward(x_d, 1234, 5, 3, F32(0.4), out_d, mask_d)
    assert_array_equal(gpu.to_host(mask_d), mask)
    assert_allclose(gpu.to_host(out_d), out, **TOL)
    g_d = gpu.empty(x.shape)
    gpu.dropout.dropout_backward(x_d, mask_d, g_d)
    assert_allclose(gpu.to_host(g_d), x * mask, **TOL)


def test_perceptron_kernel(rng):
    gpu64 = get_backend("cuda", np.float64)
    X = rng.normal(size=(12, 3))
    T = rng.integers(0, 2, size=(12, 2)).astype(float)
    W = rng.uniform(-0.1, 0.1, size=(2, 4))
    order = rng.permutation(12).astype(np.intp)
    sw = rng.uniform(0.5, 2, size=12)
    X[rng.random(X.shape) < 0.3] = 0.0
    for fit_intercept, shrink, l1 in ((True, 1.0, 0.0), (False, 0.99, 0.01)):
        W_cpu, errors, loss = W.copy(), np.zeros(1, np.int64), np.zeros(2)
        cpu_perceptron.perceptron_epoch(X, T, W_cpu, order, 0.25, sw, fit_intercept, shrink,
                                        l1, loss, errors)
        csr = sparse.csr_matrix(X)
        dense_rows = on(gpu64, X)
        sparse_rows = tuple(gpu64.asarray(a, dtype=a.dtype)
                            for a in (csr.data, csr.indices, csr.indptr))
        for run, rows in ((gpu64.perceptron.perceptron_epoch, dense_rows),
                          (gpu64.perceptron.perceptron_epoch_sparse, sparse_rows)):
            T_d, W_d, o_d, sw_d = on(gpu64, T, W, order, sw)
            err_d = gpu64.zeros((1,), dtype=np.int64)
            loss_d = gpu64.zeros((2,), dtype=np.float64)
            run(*rows, T_d, W_d, o_d, 0.25, sw_d, fit_intercept, shrink, l1, loss_d, err_d)
            assert_allclose(gpu64.to_host(W_d), W_cpu, rtol=1e-12, atol=1e-15)
            assert_allclose(gpu64.to_host(loss_d), loss, rtol=1e-12)
            assert gpu64.to_host(err_d)[0] == errors[0]


def test_kernels_refuse_host_arrays(gpu):
    with pytest.raises(TypeError, match="device arrays"):
        gpu.dense.fill(np.zeros(3, F32), 1.0)


# -- whole fits -----------------------------------------------------------------
def _data(rng, n=48):
    X = rng.normal(size=(n, 4)).astype(F32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_fit_on_cuda_matches_cpu(rng, solver):
    X, y = _data(rng)
    params = dict(hidden_layer_sizes=(6,), max_iter=3, batch_size=16, random_state=0,
                  solver=solver, learning_rate_init=0.05, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu = MLPClassifier(**params).fit(X, y)
        gpu = MLPClassifier(**params, device="cuda").fit(X, y)
    for a, b in zip(cpu.coefs_, gpu.coefs_):
        assert_allclose(np.asarray(b), a, rtol=1e-4, atol=1e-5)
    assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=1e-4)
    assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), rtol=1e-4, atol=1e-5)



def test_layer_times_wait_for_the_device(rng, monkeypatch):
    from numba import cuda

    from skneuro.inspection import LayerTimes

    waits = []
    synchronize = cuda.synchronize
    monkeypatch.setattr(cuda, "synchronize", lambda: waits.append(1) or synchronize())
    X, y = _data(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with LayerTimes() as times:
            MLPClassifier((6,), max_iter=1, batch_size=16, random_state=0,
                          device="cuda").fit(X, y)
    frame = times.to_frame()
    assert set(frame["step"]) == {"dense_0", "dense_1"} and (frame["calls"] == 3).all()
    assert len(waits) == frame["calls"].sum()  # each step's time is the device's

def test_regressor_on_cuda_matches_cpu(rng):
    X, _ = _data(rng)
    y = X @ np.array([1.0, -2.0, 0.5, 0.0], F32)
    params = dict(hidden_layer_sizes=(5,), max_iter=2, batch_size=16, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu = MLPRegressor(**params).fit(X, y)
        gpu = MLPRegressor(**params, device="cuda").fit(X, y)
    assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-4, atol=1e-5)


def test_transfers_do_not_grow_with_the_number_of_batches(rng):
    X, y = _data(rng, n=128)
    backend = get_backend("cuda", np.float32)
    counts = []
    # Both batch sizes reach REFERENCE_BATCH_ROWS, so both fits read the
    # first batch's loss once (the divergence reference).
    for batch_size in (64, 32):
        clf = MLPClassifier((4,), max_iter=2, batch_size=batch_size, random_state=0,
                            device="cuda")
        before = dict(backend.transfers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        counts.append({k: backend.transfers[k] - before[k] for k in before})
    # 2 batches per epoch, then 4: the same number of copies either way.
    assert counts[0] == counts[1]


def test_gpu_model_pickles_and_predicts_on_a_cpu_only_machine(rng, tmp_path):
    X, y = _data(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((5,), max_iter=2, random_state=0, device="cuda").fit(X, y)
    expected = clf.predict_proba(X)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    code = f"""
import pickle, warnings, numpy as np
clf = pickle.loads(open({str(path)!r}, "rb").read())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    proba = clf.predict_proba(np.load({str(tmp_path / "X.npy")!r}))
assert any("CPU" in str(w.message) for w in caught), [str(w.message) for w in caught]
np.save({str(tmp_path / "proba.npy")!r}, proba)
"""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert_allclose(np.load(tmp_path / "proba.npy"), expected, rtol=1e-5, atol=1e-6)


def test_cuda_without_a_gpu_is_a_clear_error_and_auto_falls_back():
    code = """
import numpy as np
from skneuro import MLPClassifier
from skneuro.nn.backend import get_backend
X = np.random.default_rng(0).normal(size=(20, 3)); y = (X[:, 0] > 0).astype(int)
try:
    MLPClassifier((3,), max_iter=1, device="cuda").fit(X, y)
except RuntimeError as exc:
    print("error:", exc)
clf = MLPClassifier((3,), max_iter=1, device="auto").fit(X, y)
print("auto:", clf._backend().name)
"""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", CUDA_VISIBLE_DEVICES="",
               PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "error: device='cuda' was requested but no usable CUDA GPU" in proc.stdout
    assert "auto: cpu" in proc.stdout


def test_perceptron_on_cuda_matches_cpu(rng):
    X, y = _data(rng, n=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu = Perceptron(max_iter=3, random_state=0).fit(X, y)
        gpu = Perceptron(max_iter=3, random_state=0, device="cuda").fit(X, y)
    assert_allclose(gpu.weights_, cpu.weights_, rtol=1e-10)
    assert gpu.n_errors_ == cpu.n_errors_


# -- convolution and pooling kernels ------------------------------------------------
from skneuro.kernels.codes import pooled_size  # noqa: E402
from skneuro.kernels.cpu import conv as cpu_conv  # noqa: E402
from skneuro.kernels.cpu import pool as cpu_pool  # noqa: E402


@pytest.mark.parametrize("geometry", [(3, 3, 1, 1, 1, 1), (2, 3, 2, 1, 0, 1)])
def test_conv_kernels(gpu, rng, geometry):
    kh, kw, sh, sw, ph, pw = geometry
    x = rng.normal(size=(2, 2, 5, 4)).astype(F32)
    oh = (5 + 2 * ph - kh) // sh + 1
    ow = (4 + 2 * pw - kw) // sw + 1
    cols = np.empty((2 * kh * kw, 2 * oh * ow), F32)
    cpu_conv.im2col(x, kh, kw, sh, sw, ph, pw, cols)
    (x_d,) = on(gpu, x)
    cols_d = gpu.empty(cols.shape)
    gpu.conv.im2col(x_d, kh, kw, sh, sw, ph, pw, cols_d)
    assert_array_equal(gpu.to_host(cols_d), cols)

    dx = np.empty_like(x)
    cpu_conv.col2im(cols, kh, kw, sh, sw, ph, pw, dx)
    dx_d = gpu.empty(x.shape)
    gpu.conv.col2im(cols_d, kh, kw, sh, sw, ph, pw, dx_d)
    assert_allclose(gpu.to_host(dx_d), dx, **TOL)

    f, rw = 3, ow + 2  # two garbage positions per row, as in the wide unfold
    product = rng.normal(size=(f, 2, oh, rw)).astype(F32)
    b = rng.normal(size=f).astype(F32)
    code, param = cpu_act.CODES["leaky_relu"], F32(0.1)
    out = np.empty((2, f, oh, ow), F32)
    cpu_conv.channels_to_samples(product, b, code, param, out)
    product_d, b_d = on(gpu, product, b)
    out_d = gpu.empty(out.shape)
    gpu.conv.channels_to_samples(product_d, b_d, code, param, out_d)
    assert_allclose(gpu.to_host(out_d), out, **TOL)

    grad = rng.normal(size=out.shape).astype(F32)
    delta = np.empty_like(product)
    cpu_conv.samples_to_channels(grad, out, code, param, delta)
    grad_d, a_d = on(gpu, grad, out)
    delta_d = gpu.empty(product.shape)
    gpu.conv.samples_to_channels(grad_d, a_d, code, param, delta_d)
    assert_allclose(gpu.to_host(delta_d), delta, **TOL)


def test_flip_filters(gpu, rng):
    c, kh, kw, f = 3, 2, 3, 4
    W = rng.normal(size=(c * kh * kw, f)).astype(F32)
    out = np.empty((f * kh * kw, c), F32)
    cpu_conv.flip_filters(W, c, kh, kw, out)
    (W_d,) = on(gpu, W)
    out_d = gpu.empty(out.shape)
    gpu.conv.flip_filters(W_d, c, kh, kw, out_d)
    assert_array_equal(gpu.to_host(out_d), out)


@pytest.mark.parametrize("geometry", [(2, 2, 2, 2), (3, 2, 2, 1)])
def test_pool_kernels(gpu, rng, geometry):
    kh, kw, sh, sw = geometry
    x = rng.normal(size=(2, 2, 5, 4)).astype(F32)
    oh, ow = pooled_size(5, kh, sh), pooled_size(4, kw, sw)
    out = np.empty((2, 2, oh, ow), F32)
    argmax = np.empty((2, 2, oh, ow), np.int64)
    cpu_pool.max_pool_forward(x, kh, kw, sh, sw, out, argmax)
    (x_d,) = on(gpu, x)
    out_d = gpu.empty(out.shape)
    arg_d = gpu.empty(out.shape, dtype=np.int64)
    gpu.pool.max_pool_forward(x_d, kh, kw, sh, sw, out_d, arg_d)
    assert_array_equal(gpu.to_host(out_d), out)
    assert_array_equal(gpu.to_host(arg_d), argmax)

    grad = rng.normal(size=out.shape).astype(F32)
    dx = np.empty_like(x)
    cpu_pool.max_pool_backward(grad, argmax, dx)
    (grad_d,) = on(gpu, grad)
    dx_d = gpu.empty(x.shape)
    gpu.pool.max_pool_backward(grad_d, arg_d, dx_d)
    assert_allclose(gpu.to_host(dx_d), dx, **TOL)

    cpu_pool.avg_pool_forward(x, kh, kw, sh, sw, out)
    gpu.pool.avg_pool_forward(x_d, kh, kw, sh, sw, out_d)
    assert_allclose(gpu.to_host(out_d), out, **TOL)
    cpu_pool.avg_pool_backward(grad, kh, kw, sh, sw, dx)
    gpu.pool.avg_pool_backward(grad_d, kh, kw, sh, sw, dx_d)
    assert_allclose(gpu.to_host(dx_d), dx, **TOL)


@pytest.mark.parametrize("method", ["lanes", "unfold"])
def test_cnn_network_on_cuda_matches_cpu(rng, method, monkeypatch):
    from skneuro.nn import Conv, Dense, Flatten, MaxPool, Network, SoftmaxCrossEntropy

    # The CPU's two ways (the CUDA backend always unfolds).
    if method == "unfold":  # the path of other strides, forced on these stride-1 layers
        monkeypatch.setattr("skneuro.backends.cpu.convolution.method",
                            lambda layer, n: "unfold")
    else:  # lanes also for this 3-sample batch
        monkeypatch.setattr("skneuro.backends.cpu.convolution.MIN_LANES_BATCH", 1)
    x = rng.normal(size=(3, 1, 4, 4)).astype(F32)
    y = np.array([0, 1, 0], dtype=np.intp)
    w = np.full(3, 1 / 3, F32)
    grads = []
    for device in ("cpu", "cuda"):
        backend = get_backend(device, np.float32)
        net = Network.sequential((1, 4, 4), [Conv(2, 3), Conv(2, 3, activation="tanh"),
                                             MaxPool(2), Flatten(), Dense(2)])
        net.build(backend, np.random.default_rng(0))
        loss = SoftmaxCrossEntropy().bind(backend)
        out = net.forward(backend.asarray(x), training=True)
        loss(out, backend.asarray(y, dtype=np.intp), backend.asarray(w))
        net.backward(loss.grad)
        grads.append([np.asarray(backend.to_host(layer.grads[name]))
                      for layer, name in net.parameters()])
    for a, b in zip(*grads):
        assert_allclose(b, a, **TOL)


def test_cnn_fit_on_cuda_matches_cpu(rng):
    from skneuro import CNNClassifier

    X = rng.normal(size=(24, 1, 4, 4)).astype(F32)
    y = (X[:, 0, :2].sum(axis=(1, 2)) > 0).astype(int)
    params = dict(layers="C-2.3, P-2, D-4", max_iter=2, batch_size=12, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu = CNNClassifier(**params).fit(X, y)
        gpu = CNNClassifier(**params, device="cuda").fit(X, y)
    assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), rtol=1e-4, atol=1e-5)


def test_augment_kernel(gpu, rng):
    from skneuro.kernels.cpu.augment import augment as cpu_augment

    x = rng.normal(size=(3, 2, 4, 5)).astype(F32)
    for noise in (0.0, 0.3):
        out = np.empty_like(x)
        cpu_augment(x, 11, 2, 3, 1, True, F32(noise), F32(0.2), out)
        (x_d,) = on(gpu, x)
        out_d = gpu.empty(x.shape)
        gpu.augment.augment(x_d, 11, 2, 3, 1, True, F32(noise), F32(0.2), out_d)
        assert_allclose(gpu.to_host(out_d), out, rtol=1e-5, atol=1e-5)


# -- decoder kernels: nearest upsampling and the transposed convolution's bias ------
from skneuro.kernels.cpu import resample as cpu_resample  # noqa: E402


@pytest.mark.parametrize("factors", [(2, 2), (3, 1)])
def test_upsample_kernels(gpu, rng, factors):
    sh, sw = factors
    x = rng.normal(size=(2, 2, 3, 2)).astype(F32)
    out = np.empty((2, 2, 3 * sh, 2 * sw), F32)
    cpu_resample.upsample_nearest_forward(x, sh, sw, out)
    (x_d,) = on(gpu, x)
    out_d = gpu.empty(out.shape)
    gpu.resample.upsample_nearest_forward(x_d, sh, sw, out_d)
    assert_array_equal(gpu.to_host(out_d), out)

    grad = rng.normal(size=out.shape).astype(F32)
    dx = np.empty_like(x)
    cpu_resample.upsample_nearest_backward(grad, sh, sw, dx)
    (grad_d,) = on(gpu, grad)
    dx_d = gpu.empty(x.shape)
    gpu.resample.upsample_nearest_backward(grad_d, sh, sw, dx_d)
    assert_allclose(gpu.to_host(dx_d), dx, **TOL)


@pytest.mark.parametrize("name", ["identity", "sigmoid", "leaky_relu"])
def test_channel_bias_activation_kernel(gpu, rng, name):
    code, param = cpu_act.CODES[name], F32(0.1 if name == "leaky_relu" else 1.7)
    x = rng.normal(size=(2, 3, 5)).astype(F32)
    b = rng.normal(size=3).astype(F32)
    out = np.empty_like(x)
    cpu_conv.channel_bias_activation(x, b, code, param, out)
    x_d, b_d = on(gpu, x, b)
    out_d = gpu.empty(x.shape)
    gpu.conv.channel_bias_activation(x_d, b_d, code, param, out_d)
    assert_allclose(gpu.to_host(out_d), out, **TOL)
    gpu.conv.channel_bias_activation(x_d, b_d, code, param, x_d)  # in place
    assert_allclose(gpu.to_host(x_d), out, **TOL)


def test_decoder_network_on_cuda_matches_cpu(rng):
    from skneuro.nn import (
        ConvTranspose,
        Dense,
        Flatten,
        MaxPool,
        Network,
        Reshape,
        SoftmaxCrossEntropy,
        Upsample,
    )

    x = rng.normal(size=(3, 1, 2, 2)).astype(F32)
    y = np.array([0, 1, 0], dtype=np.intp)
    w = np.full(3, 1 / 3, F32)
    results = []
    for device in ("cpu", "cuda"):
        backend = get_backend(device, np.float32)
        net = Network.sequential((1, 2, 2), [
            ConvTranspose(2, 3, stride=2, activation="tanh"), MaxPool(2), Upsample(2),
            Flatten(), Dense(4), Reshape((1, 2, 2)),
            ConvTranspose(1, 3, stride=2, padding=1, output_padding=1), Flatten(), Dense(2)])
        net.build(backend, np.random.default_rng(0))
        loss = SoftmaxCrossEntropy().bind(backend)
        out = net.forward(backend.asarray(x), training=True)
        loss(out, backend.asarray(y, dtype=np.intp), backend.asarray(w))
        net.backward(loss.grad)
        results.append([np.asarray(backend.to_host(out))]
                       + [np.asarray(backend.to_host(layer.grads[name]))
                          for layer, name in net.parameters()])
    for a, b in zip(*results):
        assert_allclose(b, a, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("groups, activation", [(1, "identity"), (2, "identity"), (2, "silu"),
                                                (1, "leaky_relu")])
def test_group_norm_kernels(gpu, rng, groups, activation):
    from skneuro.kernels.cpu import norm as cpu_norm

    code = cpu_act.CODES[activation]
    slope = F32(0.1)
    x = rng.normal(loc=1.0, size=(3, 4, 5)).astype(F32)
    gamma = rng.normal(size=4).astype(F32)
    beta = rng.normal(size=4).astype(F32)
    out, xhat = np.empty_like(x), np.empty_like(x)
    inv_std = np.empty((3, groups))
    cpu_norm.group_norm_forward(x, groups, gamma, beta, 1e-5, code, slope, out, xhat, inv_std)
    x_d, gamma_d, beta_d = on(gpu, x, gamma, beta)
    out_d, xhat_d = gpu.empty(x.shape), gpu.empty(x.shape)
    inv_d = gpu.empty(inv_std.shape, dtype="float64")
    gpu.norm.group_norm_forward(x_d, groups, gamma_d, beta_d, 1e-5, code, slope, out_d, xhat_d,
                                inv_d)
    assert_allclose(gpu.to_host(out_d), out, **TOL)
    assert_allclose(gpu.to_host(inv_d), inv_std, rtol=1e-6)

    g = rng.normal(size=x.shape).astype(F32)
    dx, dgamma, dbeta = np.empty_like(x), np.empty(4, F32), np.empty(4, F32)
    cpu_norm.group_norm_backward(g, xhat, inv_std, gamma, beta, groups, code, slope, dx, dgamma,
                                 dbeta)
    (g_d,) = on(gpu, g)
    dx_d, dgamma_d, dbeta_d = gpu.empty(x.shape), gpu.empty((4,)), gpu.empty((4,))
    gpu.norm.group_norm_backward(g_d, xhat_d, inv_d, gamma_d, beta_d, groups, code, slope, dx_d,
                                 dgamma_d, dbeta_d)
    assert_allclose(gpu.to_host(dx_d), dx, **TOL)
    assert_allclose(gpu.to_host(dgamma_d), dgamma, **TOL)
    assert_allclose(gpu.to_host(dbeta_d), dbeta, **TOL)


def test_embedding_kernels(gpu, rng):
    from skneuro.kernels.cpu import embedding as cpu_embedding

    t = np.array([0.0, 2.0, 77.0], F32)
    out = np.empty((3, 9), F32)
    cpu_embedding.sinusoidal_embedding(t, 10000.0, out)
    out_d = gpu.empty(out.shape)
    gpu.embedding.sinusoidal_embedding(on(gpu, t)[0], 10000.0, out_d)
    assert_allclose(gpu.to_host(out_d), out, **TOL)
    x = rng.normal(size=(2, 3, 4)).astype(F32)
    e = rng.normal(size=(2, 3)).astype(F32)
    added = np.empty_like(x)
    cpu_embedding.add_channel_vector(x, e, added)
    x_d, e_d = on(gpu, x, e)
    added_d = gpu.empty(x.shape)
    gpu.embedding.add_channel_vector(x_d, e_d, added_d)
    assert_allclose(gpu.to_host(added_d), added, **TOL)
    sums = np.empty((2, 3), F32)
    cpu_embedding.channel_sums(x, sums)
    sums_d = gpu.empty((2, 3))
    gpu.embedding.channel_sums(x_d, sums_d)
    assert_allclose(gpu.to_host(sums_d), sums, **TOL)


def test_diffusion_and_one_hot_kernels(gpu, rng):
    from skneuro.kernels.cpu import diffusion as cpu_diffusion
    from skneuro.kernels.cpu import embedding as cpu_embedding

    x0 = rng.uniform(-1, 1, size=(5, 4)).astype(F32)
    abar = np.cumprod(1 - np.linspace(1e-4, 0.2, 8)).astype(F32)
    a, b = np.sqrt(abar), np.sqrt(1 - abar)
    x_in, eps = np.zeros((5, 6), F32), np.zeros((5, 4), F32)
    cpu_diffusion.diffusion_noise(x0, a, b, 11, 2, 0, x_in, eps)
    labels = np.array([0, 1, 2, 3, 4], F32)
    cpu_diffusion.drop_labels(labels, 11, 2, F32(0.5), 9, 5, x_in)
    x0_d, a_d, b_d, labels_d = on(gpu, x0, a, b, labels)
    x_in_d, eps_d = on(gpu, np.zeros((5, 6), F32), np.zeros((5, 4), F32))
    gpu.diffusion.diffusion_noise(x0_d, a_d, b_d, 11, 2, 0, x_in_d, eps_d)
    gpu.diffusion.drop_labels(labels_d, 11, 2, F32(0.5), 9, 5, x_in_d)
    assert_allclose(gpu.to_host(eps_d), eps, **TOL)
    assert_allclose(gpu.to_host(x_in_d), x_in, **TOL)

    onehot = np.empty((5, 6), F32)
    cpu_embedding.one_hot(labels, onehot)
    onehot_d = gpu.empty((5, 6))
    gpu.embedding.one_hot(labels_d, onehot_d)
    assert_array_equal(gpu.to_host(onehot_d), onehot)
    assert_array_equal(onehot, np.eye(6, dtype=F32)[:5])


def test_ddpm_on_cuda_matches_cpu(rng):
    """A whole conditional DDPM fit and sampling on the device: the per-batch noise and
    label dropping drawn there, the U-Net's kernels, the host-side sampler."""
    from skneuro import DDPM

    X = rng.normal(size=(8, 4))
    y = np.arange(8) % 2
    params = dict(n_steps=5, channels=2, n_levels=1, time_embedding=4, groups=1, max_iter=1,
                  batch_size=8, random_state=0, conditional=True, guidance=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu = DDPM(**params).fit(X, y)
        gpu = DDPM(**params, device="cuda").fit(X, y)
    for a, b in zip(cpu.network_.get_weights(), gpu.network_.get_weights()):
        assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert_allclose(gpu.sample(2, y=[0, 1], random_state=0),
                    cpu.sample(2, y=[0, 1], random_state=0), rtol=1e-4, atol=1e-5)


def _garbage(gpu, shape, dtype=F32):
    """A device output filled with NaN, so that every element the kernel skips shows."""
    return on(gpu, np.full(shape, np.nan, dtype))[0]




# -- the Gaussian layers' draws and the VAE loss --------------------------------------
def test_gaussian_kernels(gpu, rng):
    """Noise and reparameterized samples: the same draws, values and gradients."""
    from skneuro.kernels.cpu import gaussian as cpu_gaussian

    n, k = 6, 3
    x = rng.normal(size=(n, 5)).astype(F32)
    noisy = np.empty_like(x)
    cpu_gaussian.gaussian_noise(x, 7, 2, 1, F32(0.3), noisy)
    noisy_d = gpu.empty(x.shape)
    gpu.gaussian.gaussian_noise(on(gpu, x)[0], 7, 2, 1, F32(0.3), noisy_d)
    assert_allclose(gpu.to_host(noisy_d), noisy, **TOL)
    assert not np.allclose(noisy, x)

    stats = rng.normal(size=(n, 2 * k)).astype(F32)  # [mu | logvar]
    for sample in (True, False):
        z, eps = np.empty((n, k), F32), np.empty((n, k), F32)
        cpu_gaussian.gaussian_sample_forward(stats, 5, 1, 0, sample, z, eps)
        z_d, eps_d = gpu.empty((n, k)), gpu.empty((n, k))
        gpu.gaussian.gaussian_sample_forward(on(gpu, stats)[0], 5, 1, 0, sample, z_d, eps_d)
        assert_allclose(gpu.to_host(z_d), z, **TOL)
        assert_allclose(gpu.to_host(eps_d), eps, **TOL)
    grad = rng.normal(size=(n, k)).astype(F32)
    dstats = np.empty_like(stats)
    cpu_gaussian.gaussian_sample_backward(grad, stats, eps, dstats)
    dstats_d = gpu.empty(stats.shape)
    gpu.gaussian.gaussian_sample_backward(*on(gpu, grad, stats, eps), dstats_d)
    assert_allclose(gpu.to_host(dstats_d), dstats, **TOL)


def test_vae_loss_kernel(gpu, rng):
    n, m, k = 5, 4, 2
    out = rng.normal(size=(n, m + 2 * k)).astype(F32)
    target = rng.normal(size=(n, m)).astype(F32)
    w = np.full(n, 1 / n, F32)
    grad, rows = np.empty_like(out), np.empty(n, F32)
    cpu_losses.vae_squared_error(out, target, w, F32(0.5), grad, rows)
    grad_d, rows_d = gpu.empty(out.shape), gpu.empty((n,))
    gpu.losses.vae_squared_error(*on(gpu, out, target, w), F32(0.5), grad_d, rows_d)
    assert_allclose(gpu.to_host(grad_d), grad, **TOL)
    assert_allclose(gpu.to_host(rows_d), rows, **TOL)
