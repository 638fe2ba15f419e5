"""Callbacks: hooks into the training loop, and the progress display.

A callback overrides any of the empty hooks; the trainer calls them in order.
Raising ``StopIteration`` from ``on_epoch_end`` ends training after that
epoch, as if it had converged. ``on_batch_end`` runs after every batch, but
only for the callbacks that override it, so a loop without such a callback
pays nothing per batch.
"""

import sys
import time

from skneuro import _progress
from skneuro._progress import _format_seconds


class Callback:
    """Base class with empty hooks.

    Each hook receives the :class:`~skneuro.nn.trainer.Trainer`; ``logs`` is a
    dict with ``epoch``, ``loss`` and, when a validation set is used,
    ``val_loss`` and ``val_score``.
    """

    def on_train_begin(self, trainer):
        """Called once before the first epoch."""

    def on_epoch_begin(self, trainer):
        """Called before every epoch (``trainer.epoch`` epochs are done)."""

    def on_batch_end(self, trainer, batch, n_batches):
        """Called after every training batch, if overridden; keep it cheap.

        Parameters
        ----------
        trainer : Trainer
        batch : int
            Batches trained so far in this epoch (1 after the first).
        n_batches : int
            Batches in the epoch.
        """

    def on_epoch_end(self, trainer, logs):
        """Called after every epoch."""

    def on_train_end(self, trainer):
        """Called once after the last epoch, also after an interruption or an error."""


class ProgressPrinter(Callback):
    """Print one line per epoch, and the progress within epochs that run long.

    The line gives the epoch, the losses, the score, the elapsed and the
    remaining time. An epoch that runs longer than ``delay`` seconds also
    shows its batches: a progress bar (tqdm's) in a terminal or a Jupyter
    notebook (with ipywidgets installed), which disappears when the epoch's
    line is printed; elsewhere (a log file, CI) a plain line every
    ``interval`` seconds, such as
    ``  epoch 3/100: 120/938 batches (12%) in 10.0s, ~1m08s left``.
    Shorter epochs print their line only.

    Parameters
    ----------
    stream : file-like, default=None
        Where to print; None is ``sys.stdout``.
    delay : float, default=2.0
        Seconds an epoch runs before its progress is shown.
    interval : float, default=10.0
        Seconds between two plain progress lines.
    """

    #: Class defaults, for printers pickled (with a trainer) before these existed.
    delay = _progress.DELAY
    interval = _progress.INTERVAL

    def __init__(self, stream=None, *, delay=_progress.DELAY, interval=_progress.INTERVAL):
        self.stream = stream
        self.delay = delay
        self.interval = interval

    def on_train_begin(self, trainer):
        self._start = time.perf_counter()
        self._first_epoch = trainer.epoch
        self._progress = None

    def on_epoch_begin(self, trainer):
        # The bar or lines are made (and tqdm imported) only once the epoch
        # has run `delay` seconds; before that, a batch costs a clock read.
        done = trainer.epoch - self._first_epoch
        self._epoch_label = f"epoch {done + 1}/{trainer.max_iter}"
        self._progress = None
        self._epoch_start = _progress.clock()

    def on_batch_end(self, trainer, batch, n_batches):
        progress = self._progress
        if progress is None:
            if _progress.clock() - self._epoch_start < self.delay:
                return
            progress = self._progress = _progress.Progress(
                n_batches, self._epoch_label, "batch", self.stream, delay=self.delay,
                interval=self.interval, start=self._epoch_start)
        progress.update(batch)

    def _close_progress(self):
        if getattr(self, "_progress", None) is not None:
            self._progress.close()
            self._progress = None

    def on_train_end(self, trainer):
        self._close_progress()

    def on_epoch_end(self, trainer, logs):
        self._close_progress()
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
