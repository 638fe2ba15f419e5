"""Callbacks: hooks into the training loop, and the progress line.

A callback overrides any of the empty hooks; the trainer calls them in order.
Raising ``StopIteration`` from ``on_epoch_end`` ends training after that
epoch, as if it had converged.
"""

import sys
import time


class Callback:
    """Base class with empty hooks.

    Each hook receives the :class:`~skneuro.nn.trainer.Trainer`; ``logs`` is a
    dict with ``epoch``, ``loss`` and, when a validation set is used,
    ``val_loss`` and ``val_score``.
    """

    def on_train_begin(self, trainer):
        """Called once before the first epoch."""

    def on_epoch_end(self, trainer, logs):
        """Called after every epoch."""

    def on_train_end(self, trainer):
        """Called once after the last epoch, also after an interruption."""


class ProgressPrinter(Callback):
    """Print one line per epoch: epoch, losses, score, elapsed and remaining time.

    Parameters
    ----------
    stream : file-like, default=sys.stdout
    """

    def __init__(self, stream=None):
        self.stream = stream

    def on_train_begin(self, trainer):
        self._start = time.perf_counter()
        self._first_epoch = trainer.epoch

    def on_epoch_end(self, trainer, logs):
        elapsed = time.perf_counter() - self._start
        # This call's epochs (a warm start goes on counting trainer.epoch).
        done = logs["epoch"] - self._first_epoch
        total = trainer.max_iter
        remaining = elapsed / max(done, 1) * max(total - done, 0)
        parts = [f"Iteration {done:>{len(str(total))}}/{total}",
                 f"loss = {logs['loss']:.6f}"]
        if "val_loss" in logs:
            parts.append(f"val_loss = {logs['val_loss']:.6f}")
        if "val_score" in logs:
            parts.append(f"val_score = {logs['val_score']:.4f}")
        parts.append(f"elapsed {_format_seconds(elapsed)}")
        parts.append(f"remaining <= {_format_seconds(remaining)}")
        print(", ".join(parts), file=self.stream or sys.stdout, flush=True)


def _format_seconds(seconds):
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s"
