"""scikit-learn's estimator checks, with default parameters."""

import warnings

import pytest
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    check_sample_weight_equivalence_on_sparse_data,
    parametrize_with_checks,
)

from skneuro import (
    DDPM,
    AutoEncoder,
    CNNClassifier,
    CNNRegressor,
    MLPClassifier,
    MLPRegressor,
    Perceptron,
)
from skneuro.utils.estimator_checks import expected_failed_checks


@parametrize_with_checks([Perceptron(), MLPClassifier(), MLPRegressor(), CNNClassifier(),
                          CNNRegressor(), AutoEncoder(), DDPM()],
                         expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on the tiny check data
        check(estimator)


@pytest.mark.parametrize("Estimator, check", [
    (MLPClassifier, check_sample_weight_equivalence_on_dense_data),
    (MLPClassifier, check_sample_weight_equivalence_on_sparse_data),
    (MLPRegressor, check_sample_weight_equivalence_on_dense_data),
    (MLPRegressor, check_sample_weight_equivalence_on_sparse_data),
    (CNNClassifier, check_sample_weight_equivalence_on_dense_data),
    (CNNRegressor, check_sample_weight_equivalence_on_dense_data),
    (AutoEncoder, check_sample_weight_equivalence_on_dense_data),
])
def test_sample_weight_equivalence_in_float64(Estimator, check):
    """The check expected to fail in float32 passes when rounding is not in the way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(Estimator.__name__, Estimator(dtype="float64"))


def test_expected_failures_are_only_the_float32_weight_checks():
    assert set(expected_failed_checks(MLPClassifier())) == {
        "check_sample_weight_equivalence_on_dense_data",
        "check_sample_weight_equivalence_on_sparse_data",
    }
    assert expected_failed_checks(MLPClassifier(dtype="float64")) == {}
