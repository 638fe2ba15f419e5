"""Run ``python -m skneuro`` and write its table and diffusion section into the README.

    python asv_bench/demo_readme.py README.md [--full] [--cv 5]

Development tooling: the package's main job prints; this script also writes
the results between the README's ``demo-table`` and ``demo-ddpm`` markers.
"""

import argparse
import sys
import time

from readme_sections import machine_description, update_readme


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", metavar="PATH", help="the README to write into")
    parser.add_argument("--full", action="store_true", help="as python -m skneuro --full")
    parser.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    args = parser.parse_args(argv)

    from skneuro.__main__ import report

    table, table_time, diffusion, diffusion_time = report(full=args.full, cv=args.cv)
    command = f"`python -m skneuro{' --full' if args.full else ''}`"
    when = f"on {time.strftime('%Y-%m-%d')} on {machine_description()}"
    update_readme(args.readme, table, f"Written by {command} {when}, in {table_time:.0f} s.")
    update_readme(args.readme, diffusion,
                  f"Written by {command} {when}, in {diffusion_time:.0f} s.", marker="demo-ddpm")
    print(f"Table and diffusion section written into {args.readme}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
