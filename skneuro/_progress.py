"""Progress of long loops (an epoch's batches, sampling's steps), shown late.

Nothing is shown until the loop has run ``delay`` seconds, so short work
prints exactly what it printed before. Then:

- in a notebook (the default stream, under Jupyter with ipywidgets), a
  notebook progress bar, and in a terminal (the stream is a TTY), a text
  bar: tqdm's, through ``tqdm.auto``;
- anywhere else (a log file, CI, a pipe), one plain line every ``interval``
  seconds: bars redraw with carriage returns, which a log keeps as one
  endless line or as a flood.

tqdm is imported only when a bar is about to be shown. The loops call
:meth:`Progress.update` once per iteration; until the next display is due it
reads a monotonic clock and compares, and nothing else.
"""

import os
import sys
import time
import warnings

#: Seconds a loop runs before its progress is shown.
DELAY = 2.0
#: Seconds between two plain lines (the first one after this long, too: in a
#: log every line stays, so epochs shorter than this add none).
INTERVAL = 10.0
#: Seconds between two refreshes of a bar (tqdm redraws at most 10 times a
#: second anyway; fewer calls keep the loop's overhead down).
BAR_REFRESH = 0.2

#: The clock; tests replace it with one they advance themselves.
clock = time.monotonic


def _format_seconds(seconds):
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s"


def _in_notebook():
    """Whether tqdm would draw a notebook widget here (Jupyter with ipywidgets)."""
    with warnings.catch_warnings():
        # tqdm.autonotebook warns that it chose the notebook bar, or that
        # ipywidgets is missing (then plain lines are shown, which is fine).
        warnings.simplefilter("ignore")
        from tqdm.autonotebook import tqdm as chosen
    from tqdm.std import tqdm as console

    return chosen is not console


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def _columns(stream):
    """The terminal's width behind ``stream``; 0 where it is unknown."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):  # no descriptor, or not a terminal
        return 0


class Progress:
    """The progress of one loop of ``total`` iterations, shown once it runs long.

    Parameters
    ----------
    total : int
        Iterations of the loop.
    label : str
        What runs, at the head of the bar or line ("Iteration 3/100").
    unit : str
        What an iteration is ("batch", "step"); plural with an "es" or "s".
    stream : file-like, default=None
        Where to write; None is ``sys.stdout`` (and a notebook bar under
        Jupyter).
    delay : float, default=DELAY
        Seconds before anything is shown.
    interval : float, default=INTERVAL
        Seconds between two plain lines.
    start : float, default=None
        When the loop began, on :data:`clock`; None is now.
    """

    def __init__(self, total, label, unit, stream=None, delay=DELAY, interval=INTERVAL,
                 start=None):
        self.total = int(total)
        self.label = label
        self.unit = unit
        self.stream = stream
        self.delay = delay
        self.interval = interval
        self.start = clock() if start is None else start
        #: When :meth:`update` next does more than read the clock.
        self.due = self.start + delay
        self.bar = None
        self.mode = None  # None until shown: "bar" or "lines"
        self.lines = 0
        self.done = 0

    def update(self, done):
        """Record that ``done`` iterations are finished; show them if it is time."""
        now = clock()
        if now >= self.due:
            self._show(done, now)

    def _show(self, done, now):
        self.done = done
        if self.mode is None:
            self.mode = "bar" if self._open_bar(done) else "lines"
            if self.mode == "lines":
                self.due = self.start + max(self.delay, self.interval)
                if now < self.due:
                    return
        if self.mode == "bar":
            self.bar.update(done - self.bar.n)
            self.due = now + BAR_REFRESH
            return
        elapsed = now - self.start
        line = (f"  {self.label}: {done}/{self.total} {self._units()} "
                f"({100 * done // max(self.total, 1)}%) in {_format_seconds(elapsed)}")
        if 0 < done < self.total:
            left = elapsed / done * (self.total - done)
            line += f", ~{_format_seconds(left)} left"
        print(line, file=self.stream or sys.stdout, flush=True)
        self.lines += 1
        self.due = now + self.interval

    def _units(self):
        return self.unit + ("es" if self.unit.endswith(("s", "sh", "ch", "x")) else "s")

    def _open_bar(self, done):
        """Open a tqdm bar where one can be drawn; False where plain lines go."""
        if self.stream is None and _in_notebook():
            kwargs = {}  # the notebook's widget; it has no stream
        elif _isatty(self.stream or sys.stdout):
            stream = self.stream or sys.stdout
            # A pseudo-terminal nobody sized (`script` without a terminal,
            # some containers) reports 0 columns, where tqdm draws nothing.
            kwargs = ({"file": stream, "dynamic_ncols": True} if _columns(stream)
                      else {"file": stream, "ncols": 80, "nrows": 24})
        else:
            return False
        from tqdm.auto import tqdm

        # leave=False: the bar disappears when its loop ends, and the line
        # that sums the loop up (the epoch's) takes its place.
        self.bar = tqdm(total=self.total, initial=done, desc=self.label, unit=self.unit,
                        leave=False, **kwargs)
        return True

    def close(self, summary=False):
        """End the display: close the bar; with ``summary``, a last plain line
        where plain lines were shown, unless the last one said the loop was
        done (so a log says the loop finished)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif summary and self.lines and self.done != self.total:
            self.due = self.start  # due now
            self.interval = float("inf")
            self._show(self.total, clock())
