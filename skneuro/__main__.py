"""``python -m skneuro``: train every estimator, cross-validated, next to scikit-learn.

Prints a table of scores and fit times, then a diffusion section: a DDPM
trained on the digits, its samples judged by a classifier of the real digits.
``--full`` trains longer, larger networks and runs the real DDPM evaluation;
``--readme README.md`` writes the table and the diffusion section into the
README between their markers.
"""

import argparse
import os
import sys
import time


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skneuro",
        description="Train every skneuro estimator, cross-validated, next to "
                    "scikit-learn's closest equivalent, on data that ships with scikit-learn.",
    )
    parser.add_argument("--full", action="store_true",
                        help="longer runs with larger networks, and the real DDPM evaluation "
                             "(up to 14 minutes more)")
    parser.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    parser.add_argument("--readme", metavar="PATH",
                        help="write the table and the diffusion section into this README "
                             "between their markers")
    args = parser.parse_args(argv)

    from skneuro import __version__
    from skneuro._demo import (
        format_diffusion,
        format_table,
        machine_description,
        run,
        run_diffusion,
        update_readme,
    )

    start = time.perf_counter()
    print(f"skneuro {__version__}: {'full' if args.full else 'short'} runs, "
          f"{args.cv}-fold cross-validation, {os.cpu_count()} CPU cores")
    rows = run(full=args.full, cv=args.cv)
    table = format_table(rows, cv=args.cv)
    table_time = time.perf_counter() - start
    print()
    print(table)
    print()
    print("Fit times are means over folds, after Numba compilation (done before timing).")
    print()
    diffusion_start = time.perf_counter()
    diffusion = format_diffusion(run_diffusion(full=args.full), full=args.full)
    diffusion_time = time.perf_counter() - diffusion_start
    print()
    print(diffusion)
    print()
    print(f"Total {time.perf_counter() - start:.0f} s (table {table_time:.0f} s, "
          f"diffusion {diffusion_time:.0f} s).")
    if args.readme:
        command = f"`python -m skneuro{' --full' if args.full else ''}`"
        when = f"on {time.strftime('%Y-%m-%d')} on {machine_description()}"
        update_readme(args.readme, table, f"Written by {command} {when}, in {table_time:.0f} s.")
        update_readme(args.readme, diffusion,
                      f"Written by {command} {when}, in {diffusion_time:.0f} s.",
                      marker="demo-ddpm")
        print(f"Table and diffusion section written into {args.readme}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
