"""``python -m skneuro``: train every estimator, cross-validated, next to scikit-learn.

Prints a table of scores and fit times. ``--full`` trains longer, larger
networks; ``--readme README.md`` writes the table into the README between its
demo markers.
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
                        help="longer runs with larger networks (several minutes more)")
    parser.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    parser.add_argument("--readme", metavar="PATH",
                        help="write the table into this README between the demo markers")
    args = parser.parse_args(argv)

    from skneuro import __version__
    from skneuro._demo import format_table, machine_description, run, update_readme

    start = time.perf_counter()
    print(f"skneuro {__version__}: {'full' if args.full else 'short'} runs, "
          f"{args.cv}-fold cross-validation, {os.cpu_count()} CPU cores")
    rows = run(full=args.full, cv=args.cv)
    table = format_table(rows, cv=args.cv)
    elapsed = time.perf_counter() - start
    print()
    print(table)
    print()
    print(f"Fit times are means over folds, after Numba compilation (done before timing). "
          f"Total {elapsed:.0f} s.")
    if args.readme:
        header = (f"Written by `python -m skneuro{' --full' if args.full else ''}` on "
                  f"{time.strftime('%Y-%m-%d')} on {machine_description()}, "
                  f"in {elapsed:.0f} s.")
        update_readme(args.readme, table, header)
        print(f"Table written into {args.readme}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
