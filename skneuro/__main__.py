"""``python -m skneuro``: train every estimator, cross-validated, next to scikit-learn.

Prints a table of scores and fit times, then a diffusion section: a DDPM
trained on the digits, its samples judged by a classifier of the real digits.
``--full`` trains longer, larger networks and runs the real DDPM evaluation.
``python asv_bench/demo_readme.py README.md`` (development tooling, outside
the package) runs the same and writes the results into the README.
"""

import argparse
import os
import sys
import time


def parse_args(argv=None):
    """The command line's options (``--full``, ``--cv``)."""
    parser = argparse.ArgumentParser(
        prog="python -m skneuro",
        description="Train every skneuro estimator, cross-validated, next to "
                    "scikit-learn's closest equivalent, on data that ships with scikit-learn.",
    )
    parser.add_argument("--full", action="store_true",
                        help="longer runs with larger networks, and the real DDPM evaluation "
                             "(up to 14 minutes more)")
    parser.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    return parser.parse_args(argv)


def report(full=False, cv=5):
    """Run the demo and print it; return ``(table, table_s, diffusion, diffusion_s)``."""
    from skneuro import __version__
    from skneuro._demo import format_diffusion, format_table, run, run_diffusion

    start = time.perf_counter()
    print(f"skneuro {__version__}: {'full' if full else 'short'} runs, "
          f"{cv}-fold cross-validation, {os.cpu_count()} CPU cores")
    rows = run(full=full, cv=cv)
    table = format_table(rows, cv=cv)
    table_time = time.perf_counter() - start
    print()
    print(table)
    print()
    print("Fit times are means over folds, after Numba compilation (done before timing).")
    print()
    diffusion_start = time.perf_counter()
    diffusion = format_diffusion(run_diffusion(full=full), full=full)
    diffusion_time = time.perf_counter() - diffusion_start
    print()
    print(diffusion)
    print()
    print(f"Total {time.perf_counter() - start:.0f} s (table {table_time:.0f} s, "
          f"diffusion {diffusion_time:.0f} s).")
    return table, table_time, diffusion, diffusion_time


def main(argv=None):
    """``python -m skneuro [--full] [--cv N]``; returns the exit status."""
    args = parse_args(argv)
    report(full=args.full, cv=args.cv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
