"""The size guard: networks too large for the memory at hand are refused before
anything is allocated.

The refusals run in a subprocess under an address-space limit (``ulimit -v``),
so a regression ends in that process's MemoryError, not in the machine
running out of memory.
"""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from skneuro import CNNClassifier, MLPRegressor
from skneuro.nn import NetworkTooLargeError, get_backend
from skneuro.nn.memory import ShapeOnly, describe_bytes, footprint, host_available_bytes

resource = pytest.importorskip("resource", reason="address-space limits are POSIX-only")

LIMIT = 3 * 2**30  # bytes of address space for the child


def _run_limited(code):
    """Run ``code`` in a fresh interpreter limited to LIMIT bytes of address space."""
    script = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, {LIMIT}))
        import warnings
        warnings.simplefilter("ignore")
        import numpy as np
        X = np.random.default_rng(0).normal(size=(40, 64))
        y = np.arange(40) % 2
    """) + textwrap.dedent(code)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_huge_convolution_is_refused_before_allocation():
    out = _run_limited("""
        from skneuro import CNNClassifier
        from skneuro.nn import NetworkTooLargeError
        est = CNNClassifier("C-100000000.3", input_shape=(8, 8))
        try:
            est.fit(X, y)
        except NetworkTooLargeError as e:
            assert isinstance(e, MemoryError) and isinstance(e, ValueError)
            print("refused:", e)
        assert not hasattr(est, "network_")
        # and the process can go on: a small network still trains
        CNNClassifier("C-4.3", input_shape=(8, 8), max_iter=2).fit(X, y)
        print("small ok")
    """)
    assert "refused:" in out and "nothing was allocated" in out
    assert "GiB" in out
    assert "small ok" in out


def test_a_huge_dense_network_is_refused():
    out = _run_limited("""
        from skneuro import MLPClassifier
        try:
            MLPClassifier((100_000, 100_000)).fit(X, y)
        except MemoryError as e:
            print("refused:", e)
    """)
    assert "refused: Training this network (1e+10 parameters" in out


def test_a_batch_too_large_for_memory_is_refused_and_a_smaller_one_runs():
    # 100,000 filters over 8x8 'same': 6.4e6 values per row in one layer's
    # output; the parameters (~1.4e7) fit, a batch of 40 rows does not.
    out = _run_limited("""
        from skneuro import CNNClassifier
        from skneuro.nn import NetworkTooLargeError
        est = CNNClassifier("C-100000.3", input_shape=(1, 8, 8), max_iter=1, batch_size=40,
                            solver="sgd", warm_start=True)
        try:  # the first batch counts when the network is built
            est.fit(X, y)
        except NetworkTooLargeError as e:
            print("refused at build:", e)
        est.set_params(batch_size=1).fit(X[:4], y[:4])
        print("batch of 1 ok")
        try:  # a warm start with larger batches: checked before the batch loop
            est.set_params(batch_size=40).fit(X, y)
        except NetworkTooLargeError as e:
            print("refused later:", e)
    """)
    assert "refused at build: Training this network" in out
    assert "1.28e+07 values per sample" in out
    assert "batch of 1 ok" in out
    assert "refused later: Training on batches of 40 rows" in out


@pytest.mark.parametrize("make", [
    lambda: MLPRegressor((7, 5)),
    lambda: CNNClassifier("I-8.8, C-3.3, P-2, C-5.3_pvalid, D-6, D1"),
])
def test_the_measurement_counts_what_the_build_allocates(make):
    est = make()
    X = np.random.default_rng(0).normal(size=(10, 64))
    y = np.arange(10) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.set_params(max_iter=1).fit(X, y)
    net = est.network_
    n_params, values, largest = footprint(net, get_backend("cpu"))
    assert n_params == sum(p.size for layer in net.layers for p in layer.params.values())
    assert values == sum(int(np.prod(layer.output_shape)) for layer in net.layers)
    sizes = {node.name: sum(p.size for p in node.layer.params.values()) for node in net.nodes}
    assert largest == max(sizes.items(), key=lambda kv: kv[1])
    # measuring built nothing: the layers' arrays are the real ones still
    assert all(isinstance(p, np.ndarray) for layer in net.layers for p in layer.params.values())


def test_refused_refits_leave_a_fitted_model_as_it_was(monkeypatch):
    from skneuro.nn import memory

    X = np.random.default_rng(0).normal(size=(30, 4))
    y = X.sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPRegressor((5,), max_iter=3, random_state=0).fit(X, y)
    before = est.predict(X)
    monkeypatch.setattr(memory, "host_available_bytes", lambda: 1000)
    with pytest.raises(NetworkTooLargeError, match="this machine has 1000 bytes free"):
        est.set_params(hidden_layer_sizes=(50,)).fit(X, y)
    monkeypatch.undo()
    np.testing.assert_array_equal(est.predict(X), before)


def test_available_memory_and_sizes_read_sensibly():
    available = host_available_bytes()
    assert available is None or available > 0
    assert describe_bytes(512) == "512 bytes"
    assert describe_bytes(3 * 2**30) == "3.0 GiB"
    assert ShapeOnly((4, 6)).reshape(-1, 3).shape == (8, 3)
    assert ShapeOnly((4, 6)).reshape((2, 12)).size == 24
