"""The Examples sections of the public docstrings run as doctests.

Every module of the package is searched (the CUDA kernels and the device
backend are imported only where numba-cuda is installed: they hold no
examples, but a module that fails to import must not hide one that does).
Outputs are compared with NORMALIZE_WHITESPACE and ELLIPSIS, as scikit-learn's
doctests are, and a ConvergenceWarning fails the example: the documentation's
own examples must not teach fits that end in a warning.
"""

import doctest
import importlib
import pkgutil
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skneuro

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _modules_with_examples():
    names = []
    for info in pkgutil.walk_packages(skneuro.__path__, "skneuro."):
        spec = importlib.util.find_spec(info.name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        with open(spec.origin, encoding="utf-8") as f:
            if ">>>" in f.read():
                names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    # The estimators' docstrings have examples; a change that hid them from
    # this search would silently stop testing them.
    assert {"skneuro.mlp", "skneuro.cnn", "skneuro.autoencoder", "skneuro.ddpm",
            "skneuro.perceptron"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has '>>>' but no doctest was found"
    np_options = np.get_printoptions()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        _run(runner, tests, np_options)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def _run(runner, tests, np_options):
    try:
        # numpy >= 2 prints scalars as np.float64(...); the docstrings show
        # values as users of either major version read them.
        if int(np.__version__.split(".")[0]) >= 2:
            np.set_printoptions(legacy="1.25")
        for test in tests:
            runner.run(test)
    finally:
        np.set_printoptions(**np_options)
