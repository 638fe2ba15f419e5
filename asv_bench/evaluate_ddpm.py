"""Do DDPM's samples look like digits? An evaluation on scikit-learn's 8x8 digits.

    python asv_bench/evaluate_ddpm.py
    python asv_bench/evaluate_ddpm.py --readme README.md

A DDPM (the default U-Net: 32 channels, 2 levels, T = 200, linear schedule,
Adam 1e-3, batch 64) trains on all 1,797 digits (pixels 0-16) for ``--epochs``
epochs (no stop on a stalled training loss), or fewer if ``--minutes`` of
training run out (a callback stops it at the time limit). It then draws 500
samples by the ancestral sampler. A classifier trained on the real digits
(skneuro's MLPClassifier, one hidden layer of 256 ReLU units, pixels / 16; it
is not part of what is evaluated) judges them:

* confident: the share of samples classified with probability >= 0.9
  (target >= 70%);
* spread: the entropy of the predicted classes over log(10) (target >= 0.95,
  with all ten classes present);
* realism: the Frechet distance between the samples' and the real digits'
  hidden-layer features (the classifier's 256 ReLU units), divided by that of
  samples from a Gaussian fitted to the training pixels (mean and full
  covariance; target <= 0.8).

``--conditional`` also trains a class-conditional model (classifier-free
guidance weight 2) and asks it for 50 samples of each class: the classifier
must agree with the requested class for >= 80% of them.

The judging lives in ``skneuro/_ddpm_quality.py``, shared with the diffusion
section of ``python -m skneuro`` (whose ``--full`` runs this evaluation).
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=14.0)
    parser.add_argument("--conditional", action="store_true")
    parser.add_argument("--readme", metavar="PATH",
                        help="write the output into this README between its markers")
    args = parser.parse_args(argv)

    from readme_sections import machine_description, update_readme

    from skneuro._ddpm_quality import evaluate, report

    header = (f"`python asv_bench/evaluate_ddpm.py{' --conditional' if args.conditional else ''}`"
              f", {time.strftime('%Y-%m-%d')}, {machine_description()}:")
    print(header, flush=True)
    body = report(evaluate(args.epochs, args.minutes, args.conditional))
    print()
    print(body)
    if args.readme:
        update_readme(args.readme, body, header, marker="eval-ddpm")
        print(f"\nWritten into {args.readme}.")


if __name__ == "__main__":
    main()
