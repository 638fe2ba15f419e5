"""Where a network's time goes: each layer's forward and backward passes, timed.

Like CIANNA's performance report: turn it on around any ``fit``,
``predict`` or ``transform`` call, and read a table of seconds per layer and
pass. Off, it costs one global lookup per plan step.
"""

import time

from skneuro.nn import _timing


class LayerTimes:
    """Time every layer's forward and backward passes inside a ``with`` block.

    Each step of a network's plan is timed as it runs: a layer, or what the
    backend made of several (on the CPU a run of dense layers predicts as one
    chain, and convolutions run in regions of the lanes layout with layout
    changes between them), so the rows are what actually ran. On the GPU
    each step waits for the device before its time is read, which slows the
    run a little and makes the times the device's. Steps run by the CPU's
    shards in two threads at once are summed over the threads (seconds of a
    core, not of the clock); ``total`` is the clock's time of the block.

    Attributes
    ----------
    total : float
        Seconds between entering and leaving the block.
    records : dict
        ``{(step, description, pass): [calls, seconds]}``.

    Examples
    --------
    >>> import numpy as np
    >>> from skneuro import MLPClassifier
    >>> from skneuro.inspection import LayerTimes
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> with LayerTimes() as times:
    ...     clf = MLPClassifier((16,), early_stopping=True, random_state=0).fit(X, y)
    >>> frame = times.to_frame()
    >>> sorted(frame["pass"].unique())
    ['backward', 'forward']
    """

    def __init__(self):
        self.records = {}
        self.total = 0.0
        self._start = None
        self._keys = {}  # step -> its record key, described once, not at every call

    def __enter__(self):
        self.records = {}
        self._keys = {}
        self._start = time.perf_counter()
        _timing.start(self)
        return self

    def __exit__(self, *exc_info):
        _timing.stop(self)
        self.total = time.perf_counter() - self._start
        return False

    def _add(self, step, which, seconds):
        with _timing.LOCK:
            keys = self._keys.get(step)
            if keys is None:
                name, description = step.name, _timing.describe(step)
                keys = self._keys[step] = {w: (name, description, w)
                                           for w in ("forward", "backward")}
            record = self.records.setdefault(keys[which], [0, 0.0])
            record[0] += 1
            record[1] += seconds

    def to_frame(self):
        """The times as a pandas DataFrame, one row per step and pass, slowest first.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``step``, ``layer`` (what ran), ``pass`` ("forward" or
            ``"backward"``), ``calls``, ``seconds``, ``share`` (of all the
            steps' seconds).
        """
        import pandas as pd

        rows = [dict(step=step, layer=layer, **{"pass": which}, calls=calls, seconds=seconds)
                for (step, layer, which), (calls, seconds) in self.records.items()]
        frame = pd.DataFrame(rows, columns=["step", "layer", "pass", "calls", "seconds"])
        total = frame["seconds"].sum()
        frame["share"] = frame["seconds"] / total if total > 0 else 0.0
        return frame.sort_values("seconds", ascending=False, ignore_index=True)

    def report(self):
        """A Markdown table of :meth:`to_frame` and the block's total time.

        Returns
        -------
        text : str
        """
        frame = self.to_frame()
        lines = ["| step | layer | pass | calls | seconds | share |", "|---|---|---|---|---|---|"]
        for step, layer, which, calls, seconds, share in frame.itertuples(index=False,
                                                                           name=None):
            lines.append(f"| {step} | {layer} | {which} | {calls} | {seconds:.4f} | "
                         f"{share:.1%} |")
        lines.append("")
        lines.append(f"Steps: {frame['seconds'].sum():.3f} s (summed over threads); "
                     f"the block: {self.total:.3f} s.")
        return "\n".join(lines)
