"""skneuro._progress: when and where the progress of a long loop is shown.

The estimators' side (verbose fits and DDPM sampling) is tested in
test_mlp.py and test_ddpm.py; here the choices of the display itself, under
a clock the tests move.
"""

import io
import sys

import pytest

from skneuro import _progress
from skneuro._progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(_progress, "clock", clock)
    return clock


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(clock, progress, seconds_per_step, steps):
    for done in range(1, steps + 1):
        clock.now += seconds_per_step
        progress.update(done)


def test_nothing_before_the_delay_then_a_line_per_interval(clock):
    out = io.StringIO()
    progress = Progress(100, "sampling", "step", out, delay=2.0, interval=10.0)
    run(clock, progress, 0.05, 39)  # 1.95 s
    progress.close(summary=True)
    assert out.getvalue() == ""  # short work: nothing at all, not even a summary

    progress = Progress(100, "sampling", "step", out, delay=2.0, interval=10.0)
    run(clock, progress, 0.5, 90)  # 45 s: lines at 10, 20, 30, 40 s
    clock.now += 1.5
    progress.close(summary=True)
    lines = out.getvalue().splitlines()
    assert lines == [
        "  sampling: 20/100 steps (20%) in 10.0s, ~40.0s left",
        "  sampling: 40/100 steps (40%) in 20.0s, ~30.0s left",
        "  sampling: 60/100 steps (60%) in 30.0s, ~20.0s left",
        "  sampling: 80/100 steps (80%) in 40.0s, ~10.0s left",
        "  sampling: 100/100 steps (100%) in 46.5s",  # the summary
    ]
    # A last line that said "done" is not repeated.
    again = io.StringIO()
    progress = Progress(20, "sampling", "step", again, delay=2.0, interval=10.0)
    run(clock, progress, 1.0, 20)
    progress.close(summary=True)
    assert again.getvalue().splitlines() == ["  sampling: 10/20 steps (50%) in 10.0s, ~10.0s left",
                                             "  sampling: 20/20 steps (100%) in 20.0s"]


def test_a_terminal_gets_a_tqdm_bar_from_the_delay_on(clock):
    out = Terminal()
    progress = Progress(50, "epoch 1/3", "batch", out, delay=2.0)
    run(clock, progress, 0.5, 3)
    assert progress.bar is None and out.getvalue() == ""
    run(clock, progress, 0.5, 10)
    assert progress.bar is not None and progress.bar.n >= 4  # opened at the delay
    progress.close()
    drawn = out.getvalue()
    assert drawn.startswith("\repoch 1/3:") and "/50 [" in drawn
    assert drawn.endswith("\r")  # leave=False: cleared for the line that follows


def test_a_notebook_gets_tqdm_auto_on_the_default_stream_only(clock, monkeypatch):
    import tqdm.auto

    opened = []

    class Widget:
        n = 0

        def __init__(self, **kwargs):
            opened.append(kwargs)

        def update(self, n):
            self.n += n

        def close(self):
            opened.append("closed")

    monkeypatch.setattr(_progress, "_in_notebook", lambda: True)
    monkeypatch.setattr(tqdm.auto, "tqdm", Widget)
    progress = Progress(10, "sampling", "step")  # stream=None: the notebook's output
    run(clock, progress, 1.0, 3)
    progress.close()
    assert opened[0]["total"] == 10 and "file" not in opened[0] and opened[-1] == "closed"

    # A stream of the user's own (a log file) gets plain lines, notebook or not.
    out = io.StringIO()
    progress = Progress(10, "sampling", "step", out, interval=1.0)
    run(clock, progress, 1.0, 3)
    assert out.getvalue().startswith("  sampling: 2/10 steps")
    assert len(opened) == 2


def test_a_stream_without_isatty_or_closed_gets_plain_lines(clock):
    class Bare:
        def __init__(self):
            self.text = []

        def write(self, text):
            self.text.append(text)

        def flush(self):
            pass

    bare = Bare()
    progress = Progress(4, "epoch 1/1", "batch", bare, delay=0.0, interval=0.0)
    run(clock, progress, 1.0, 2)
    assert "".join(bare.text) == ("  epoch 1/1: 1/4 batches (25%) in 1.0s, ~3.0s left\n"
                                  "  epoch 1/1: 2/4 batches (50%) in 2.0s, ~2.0s left\n")
    closed = io.StringIO()
    closed.close()
    assert not _progress._isatty(closed)


@pytest.mark.parametrize("columns", [100, 0])
def test_a_real_pseudo_terminal_gets_a_bar_sized_or_not(clock, columns, monkeypatch):
    """sys.stdout on a terminal: tqdm reads its size. One nobody sized
    (`script` without a terminal, some containers) reports 0 columns and
    rows, where tqdm would draw nothing at all: it gets 80 by 24."""
    # Pseudo-terminals are POSIX-only; on Windows the bar has no real terminal to test on.
    pty = pytest.importorskip("pty", reason="pseudo-terminals are POSIX-only")
    fcntl = pytest.importorskip("fcntl", reason="terminal sizes are set with POSIX ioctls")
    import os
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    try:
        with open(slave, "w", closefd=False) as terminal:
            monkeypatch.setattr(sys, "stdout", terminal)
            progress = Progress(20, "epoch 1/1", "batch", delay=0.0)
            run(clock, progress, 1.0, 5)
            assert progress.bar is not None
            progress.close()
            terminal.flush()
        # What was written, without waiting for more (nothing, if nothing was).
        drawn = ""
        while select.select([master], [], [], 0.2)[0]:
            drawn += os.read(master, 65536).decode()
    finally:
        os.close(master)
        os.close(slave)
    bars = [part for part in drawn.split("\r") if part.startswith("epoch 1/1:")]
    assert bars, repr(drawn)
    assert len(bars[0]) <= (columns or 80) and "/20 [" in bars[0]
