"""The plotting displays of skneuro.inspection, drawn with the Agg backend."""

import doctest
import importlib
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402

from skneuro import DDPM, AutoEncoder, CNNClassifier, MLPClassifier, Perceptron  # noqa: E402
from skneuro.inspection import (  # noqa: E402
    ImageGridDisplay,
    LatentSpaceDisplay,
    OcclusionDisplay,
    TrainingCurveDisplay,
    occlusion_map,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _quiet_fit(estimator, *args, **kwargs):
    # The fits are cut short for speed; that they could go on is not tested here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.fixture(scope="module")
def mlp_validated(digits):
    X, y = digits
    return _quiet_fit(MLPClassifier((16,), max_iter=15, random_state=0), X[:300], y[:300],
                      validation_data=(X[300:], y[300:]))


@pytest.fixture(scope="module")
def autoencoder(digits):
    X, _ = digits
    return _quiet_fit(AutoEncoder(n_components=3, hidden_layer_sizes=(16,), max_iter=5,
                                  random_state=0), X)


@pytest.fixture(scope="module")
def cnn(digits):
    X, y = digits
    return _quiet_fit(CNNClassifier("C-4.3, D-16", input_shape=(1, 8, 8), max_iter=3,
                                    learning_rate_init=0.01, random_state=0), X, y)


@pytest.fixture(scope="module")
def ddpm(digits):
    X, _ = digits
    return _quiet_fit(DDPM(input_shape=(1, 8, 8), n_steps=5, channels=4, n_levels=1,
                           groups=2, time_embedding=8, max_iter=1, random_state=0), X[:64] * 16)


# -- TrainingCurveDisplay -----------------------------------------------------

def test_training_curve_plots_the_estimators_curves(mlp_validated):
    clf = mlp_validated
    display = TrainingCurveDisplay.from_estimator(clf)
    assert_allclose(display.line_.get_ydata(), clf.loss_curve_)
    assert_array_equal(display.line_.get_xdata(), np.arange(1, clf.n_iter_ + 1))
    assert_allclose(display.validation_line_.get_ydata(), clf.validation_loss_curve_)
    best = int(np.argmin(clf.validation_loss_curve_)) + 1
    assert display.best_epoch == best
    assert display.best_line_.get_xdata()[0] == best
    assert "lowest validation loss" in display.best_line_.get_label()
    assert display.ax_.get_yscale() == "linear"
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_legend() is not None


def test_training_curve_marks_the_epoch_early_stopping_restored(digits):
    X, y = digits
    clf = MLPClassifier((16,), max_iter=100, early_stopping=True, n_iter_no_change=3,
                        random_state=0).fit(X, y)
    assert clf.n_iter_ < 100  # it stopped early, so the restored epoch is not the last
    display = TrainingCurveDisplay.from_estimator(clf)
    restored = clf.validation_scores_.index(clf.best_validation_score_) + 1
    assert display.best_epoch == restored < clf.n_iter_
    assert display.best_line_.get_xdata()[0] == restored
    assert "early stopping" in display.best_line_.get_label()


def test_training_curve_without_validation_log_scale_and_given_ax(autoencoder):
    _, ax = plt.subplots()
    display = TrainingCurveDisplay.from_estimator(autoencoder, ax=ax, log_scale=True)
    assert display.ax_ is ax
    assert ax.get_yscale() == "log"
    assert_allclose(display.line_.get_ydata(), autoencoder.loss_curve_)
    assert display.validation_line_ is None
    assert display.best_epoch is None and display.best_line_ is None
    # plot again on other axes, without the marker
    _, other = plt.subplots()
    assert display.plot(ax=other, mark_best=False).ax_ is other


def test_training_curve_of_cnn_and_ddpm(cnn, ddpm):
    for est in (cnn, ddpm):
        display = TrainingCurveDisplay.from_estimator(est)
        assert_allclose(display.line_.get_ydata(), est.loss_curve_)
        assert display.ax_.get_title() == type(est).__name__


def test_training_curve_aligns_a_shorter_validation_curve():
    display = TrainingCurveDisplay([3.0, 2.0, 1.5, 1.0],
                                   validation_loss_curve=[2.5, 2.6]).plot()
    assert_array_equal(display.validation_line_.get_xdata(), [3, 4])
    with pytest.raises(ValueError, match="validation_loss_curve"):
        TrainingCurveDisplay([1.0], validation_loss_curve=[1.0, 2.0]).plot()
    with pytest.raises(ValueError, match="non-empty"):
        TrainingCurveDisplay([]).plot()


def test_training_curve_errors(digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(MLPClassifier())
    perceptron = Perceptron(max_iter=50, random_state=0).fit(X, y == 0)
    with pytest.raises(TypeError, match="loss_curve_"):
        TrainingCurveDisplay.from_estimator(perceptron)


# -- OcclusionDisplay -----------------------------------------------------------

def test_occlusion_display_draws_the_map_over_the_image(cnn, digits):
    X, _ = digits
    display = OcclusionDisplay.from_estimator(cnn, X[0], window=2, stride=1)
    expected = occlusion_map(cnn, X[0], window=2, stride=1)
    assert_allclose(display.heatmap, expected)
    assert_allclose(display.heatmap_.get_array(), expected)
    assert_allclose(display.image_.get_array(), X[0].reshape(8, 8))
    low, high = display.heatmap_.get_clim()
    assert low == -high == -np.abs(expected).max()  # zero at the colormap's middle
    assert display.target == cnn.predict(X[:1].reshape(1, 1, 8, 8))[0]
    assert display.colorbar_ is not None
    assert display.figure_ is display.ax_.figure


def test_occlusion_display_target_ax_and_no_colorbar(cnn, digits):
    X, _ = digits
    _, ax = plt.subplots()
    display = OcclusionDisplay.from_estimator(cnn, X[0], window=3, target=5, ax=ax,
                                              colorbar=False)
    assert display.ax_ is ax and display.colorbar_ is None
    assert display.target == 5
    assert_allclose(display.heatmap, occlusion_map(cnn, X[0], window=3, target=5))
    assert "5" in ax.get_title()


def test_occlusion_display_of_a_flat_classifier_draws_a_signal(mlp_validated, digits):
    X, _ = digits
    display = OcclusionDisplay.from_estimator(mlp_validated, X[0], window=4, stride=4)
    assert display.image_ is None
    assert len(display.lines_) == 1
    assert_allclose(display.lines_[0].get_ydata(), X[0])
    assert display.heatmap_.get_array().shape == (1, 64)


def test_occlusion_display_errors(cnn, digits):
    X, _ = digits
    with pytest.raises(NotFittedError):
        OcclusionDisplay.from_estimator(CNNClassifier("C-4.3", input_shape=(1, 8, 8)), X[0])
    with pytest.raises(ValueError, match="shape"):
        OcclusionDisplay.from_estimator(cnn, X[0][:10])
    with pytest.raises(ValueError, match="heatmap"):
        OcclusionDisplay(np.zeros((2, 2, 2)), np.zeros(8)).plot()


# -- LatentSpaceDisplay -----------------------------------------------------------

def test_latent_space_points_are_the_codes(autoencoder, digits):
    X, y = digits
    display = LatentSpaceDisplay.from_estimator(autoencoder, X, y)
    Z = autoencoder.transform(X)
    assert_allclose(display.scatter_.get_offsets(), Z[:, :2])
    labels = [t.get_text() for t in display.legend_.get_texts()]
    assert labels == [str(d) for d in range(10)]
    assert display.colorbar_ is None
    # one colour per class: the two points of a class share it, two classes differ
    display.figure_.canvas.draw()  # colours are mapped when drawn
    colors = display.scatter_.get_facecolors()
    first = [int(np.flatnonzero(y == d)[0]) for d in (0, 1)]
    second = int(np.flatnonzero(y == 0)[1])
    assert_allclose(colors[first[0]], colors[second])
    assert not np.allclose(colors[first[0]], colors[first[1]])
    assert display.ax_.get_xlabel() == "latent component 0"


def test_latent_space_other_components_continuous_target_and_ax(autoencoder, digits):
    X, _ = digits
    _, ax = plt.subplots()
    value = X.mean(axis=1)  # a continuous target: a colorbar, no legend
    display = LatentSpaceDisplay.from_estimator(autoencoder, X, value, components=(2, 0),
                                                ax=ax)
    assert display.ax_ is ax
    assert_allclose(display.scatter_.get_offsets(), autoencoder.transform(X)[:, [2, 0]])
    assert display.colorbar_ is not None and display.legend_ is None
    assert ax.get_xlabel() == "latent component 2"
    plain = LatentSpaceDisplay.from_estimator(autoencoder, X)
    assert plain.legend_ is None and plain.colorbar_ is None


def test_latent_space_errors(autoencoder, digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        LatentSpaceDisplay.from_estimator(AutoEncoder(), X)
    for bad in [(0, 0), (0, 3), (0,), (0.0, 1.0)]:
        with pytest.raises(ValueError, match="components"):
            LatentSpaceDisplay.from_estimator(autoencoder, X, components=bad)
    one = _quiet_fit(AutoEncoder(n_components=1, hidden_layer_sizes=(8,), max_iter=1,
                                 random_state=0), X)
    with pytest.raises(ValueError, match="at least 2"):
        LatentSpaceDisplay.from_estimator(one, X)
    with pytest.raises(ValueError, match="one value per point"):
        LatentSpaceDisplay.from_estimator(autoencoder, X, y[:10])


# -- ImageGridDisplay ---------------------------------------------------------------

def _tile(display, k, n_cols, h=8, w=8):
    """Image k of a display's mosaic (a blank pixel around each tile)."""
    i, j = divmod(k, n_cols)
    mosaic = np.asarray(display.image_.get_array())
    return mosaic[1 + i * (h + 1):(i + 1) * (h + 1), 1 + j * (w + 1):(j + 1) * (w + 1)]


def test_image_grid_of_ddpm_samples(ddpm):
    display = ImageGridDisplay.from_estimator(ddpm, n_samples=6, random_state=0, n_cols=4)
    expected = ddpm.sample(6, random_state=0).reshape(6, 8, 8)
    assert_allclose(display.images, expected)
    for k in range(6):
        assert_allclose(_tile(display, k, 4), expected[k])
    assert np.asarray(display.image_.get_array()).shape == (2 * 9 + 1, 4 * 9 + 1)
    assert display.figure_ is display.ax_.figure


def test_image_grid_of_reconstructions(autoencoder, digits):
    X, _ = digits
    _, ax = plt.subplots()
    display = ImageGridDisplay.from_reconstruction(autoencoder, X[:5], image_shape=(8, 8),
                                                   ax=ax)
    assert display.ax_ is ax
    rebuilt = autoencoder.inverse_transform(autoencoder.transform(X[:5]))
    for k in range(5):
        assert_allclose(_tile(display, k, 5), X[k].reshape(8, 8))  # originals above
        assert_allclose(_tile(display, 5 + k, 5), rebuilt[k].reshape(8, 8))  # below
    assert [t.get_text() for t in ax.get_yticklabels()] == ["original", "reconstruction"]


def test_image_grid_of_rgb_images():
    images = np.random.default_rng(0).uniform(size=(3, 4, 5, 3))
    display = ImageGridDisplay(images).plot()
    assert np.asarray(display.image_.get_array()).shape == (6, 19, 3)


def test_image_grid_errors(autoencoder, ddpm, digits):
    X, _ = digits
    with pytest.raises(NotFittedError):
        ImageGridDisplay.from_estimator(DDPM(input_shape=(1, 8, 8)))
    with pytest.raises(NotFittedError):
        ImageGridDisplay.from_reconstruction(AutoEncoder(), X[:3], image_shape=(8, 8))
    # a dense autoencoder takes flat rows: the image shape must be given
    with pytest.raises(ValueError, match="image_shape=\\(H, W\\)"):
        ImageGridDisplay.from_reconstruction(autoencoder, X[:3])
    with pytest.raises(ValueError, match="not images"):
        ImageGridDisplay.from_reconstruction(autoencoder, X[:3], image_shape=(4, 4))
    with pytest.raises(ValueError, match="image_shape must be"):
        ImageGridDisplay.from_estimator(ddpm, 2, image_shape=(64,))
    with pytest.raises(ValueError, match="channels"):
        ImageGridDisplay.from_estimator(ddpm, 2, image_shape=(2, 4, 8))
    with pytest.raises(TypeError, match="no sample method"):
        ImageGridDisplay.from_estimator(autoencoder, 2, image_shape=(8, 8))
    with pytest.raises(ValueError, match="row_labels"):
        ImageGridDisplay(np.zeros((2, 3, 3)), row_labels=["a", "b"]).plot()
    with pytest.raises(ValueError, match="images must have shape"):
        ImageGridDisplay(np.zeros((2, 9))).plot()


# -- common -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["_training_curve", "_occlusion_display", "_latent_space",
                                  "_image_grid"])
def test_docstring_examples(name):
    module = importlib.import_module(f"skneuro.inspection.{name}")
    # The examples' fits stop on their own: a warning would show in the docs.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_matplotlib_is_imported_only_to_draw():
    import subprocess
    import sys

    code = ("import sys, skneuro.inspection; "
            "assert 'matplotlib' not in sys.modules, 'imported on import'")
    subprocess.run([sys.executable, "-c", code], check=True)
