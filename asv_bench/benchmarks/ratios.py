"""Issue 20's measures, tracked: speed-ups over the references, and a busy machine.

The comparisons of ``asv_bench/compare.py`` (skneuro next to scikit-learn's
MLP and to the same CNN in PyTorch on the CPU, in one process, alternating,
compilation untimed) and of ``asv_bench/busy_machine.py`` (a fit with one
core kept busy by another process, over the same fit on a quiet machine),
run once per class (``setup_cache``) with fewer epochs and repeats than the
scripts' defaults, whose outputs the README quotes. A ratio asv reports is a
speed-up (larger is better) except the busy machine's, a slowdown (smaller
is better: issue 20's target is at most 2). Without PyTorch the CNN ratios
are NaN. The start-up measure is ``startup.py``'s.
"""

import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _mlp():
    import compare

    return compare.compare_mlp(epochs=5, repeats=3)[1]


def _cnn():
    import compare

    return compare.compare_cnn(epochs=1, repeats=3, padding="valid")[1]


def _busy():
    import busy_machine

    loop = busy_machine.start_loop()
    try:
        times, _, differences = busy_machine.measure(loop, repeats=3, epochs=50, cnn_epochs=1,
                                                     mnist_epochs=2)
    finally:
        loop.kill()
        loop.wait()
    return times, differences


class SpeedUps:
    """skneuro's speed-up over the reference, measured side by side in one process."""

    unit = "ratio"
    number = 1
    repeat = 1
    timeout = 1200

    def setup_cache(self):
        return {"mlp": _mlp(), "cnn": _cnn()}

    def track_mlp_fit_vs_scikit_learn(self, ratios):
        return ratios["mlp"]["fit"]

    def track_mlp_predict_1_row_vs_scikit_learn(self, ratios):
        return ratios["mlp"]["1 row"]

    def track_mlp_predict_64_rows_vs_scikit_learn(self, ratios):
        return ratios["mlp"]["64 rows"]

    def track_mlp_predict_10000_rows_vs_scikit_learn(self, ratios):
        return ratios["mlp"]["10000 rows"]

    def track_cnn_valid_fit_vs_pytorch(self, ratios):
        return ratios["cnn"].get("fit", math.nan)

    def track_cnn_valid_predict_1000_rows_vs_pytorch(self, ratios):
        return ratios["cnn"].get(1000, math.nan)

    def track_cnn_valid_predict_10000_rows_vs_pytorch(self, ratios):
        return ratios["cnn"].get(10000, math.nan)


class BusyMachine:
    """A fit's time with one core kept busy over its time on a quiet machine."""

    unit = "ratio"
    number = 1
    repeat = 1
    timeout = 1200
    params = (["MLPClassifier, digits", "AutoEncoder, digits", "MLPClassifier, MNIST 4,000",
               "course CNN (valid), MNIST 1,000"],)
    param_names = ["work"]

    def setup_cache(self):
        return _busy()

    def track_slowdown(self, measured, work):
        times, _ = measured
        t = times[work, "n_jobs=None"]
        return statistics.median(t["busy"]) / statistics.median(t["quiet"])

    def track_largest_weight_difference(self, measured, work):
        """0 when every run gave the same model, whatever the thread count and the load."""
        _, differences = measured
        return max(differences[work, policy] for policy in ("n_jobs=None", "n_jobs=1"))
