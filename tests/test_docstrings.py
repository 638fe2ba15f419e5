"""The examples in the docstrings run and print what they say."""

import doctest
import importlib
import warnings

import pytest

MODULES = ["skneuro.perceptron", "skneuro.mlp", "skneuro.cnn", "skneuro.autoencoder",
           "skneuro.nn.network", "skneuro.inspection.occlusion", "skneuro.io"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the short examples
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
