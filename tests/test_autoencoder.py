"""AutoEncoder: reconstruction, the transformer API, denoising, VAE, convolutional form."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skneuro import AutoEncoder
from skneuro.nn import ConvTranspose, Crop, GaussianNoise, GaussianSampling, Upsample


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16.0).astype(np.float32), y[:600]


def fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


def pca_error(X, k, X_test=None):
    pca = PCA(k).fit(X)
    X_test = X if X_test is None else X_test
    return float(((X_test - pca.inverse_transform(pca.transform(X_test))) ** 2).mean())


def test_reconstruction_beats_the_mean_and_pca_on_a_curve():
    """Points on an arc in 3-D: one latent number describes them (the angle),
    which no line does."""
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 1.5 * np.pi, 400)
    X = np.c_[np.cos(angle), np.sin(angle), 0.5 * np.cos(angle)] + rng.normal(0, 0.02, (400, 3))
    ae = fit_quietly(AutoEncoder(1, (32, 32), activation="tanh", max_iter=300,
                                 learning_rate_init=0.01, random_state=0), X)
    error = -ae.score(X)
    assert error < 0.1 * X.var(axis=0).mean()   # the mean predictor's error
    assert error < 0.5 * pca_error(X, 1)


def test_shapes_dtypes_and_feature_names(digits):
    X, _ = digits
    ae = fit_quietly(AutoEncoder(3, (16,), max_iter=5, random_state=0), X)
    Z = ae.transform(X[:7])
    assert Z.shape == (7, 3) and Z.dtype == np.float32
    assert ae.inverse_transform(Z).shape == (7, 64)
    # Outputs take the input's floating dtype, whatever the model computes in.
    assert ae.inverse_transform(Z.astype(np.float64)).dtype == np.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert_array_equal(ae.fit_transform(X), ae.transform(X))
    assert list(ae.get_feature_names_out()) == ["autoencoder0", "autoencoder1", "autoencoder2"]
    assert ae.n_features_in_ == 64 and ae.input_shape_ == (64,)
    ae64 = fit_quietly(AutoEncoder(2, (8,), max_iter=2, dtype="float64", random_state=0), X)
    assert ae64.transform(X[:2].astype(np.float64)).dtype == np.float64
    assert ae64.transform(X[:2].astype(np.float32)).dtype == np.float32
    assert ae64.inverse_transform([[0.5, 0.5]]).dtype == np.float64  # a list: float64
    for model in (ae, ae64):
        assert model.__sklearn_tags__().transformer_tags.preserves_dtype == ["float64",
                                                                            "float32"]
    with pytest.raises(ValueError, match="n_components=3"):
        ae.inverse_transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="64 features"):
        ae.transform(X[:, :10])


def test_pandas_output(digits):
    import pandas as pd  # a runtime dependency: never missing
    X, _ = digits
    frame = pd.DataFrame(X[:50], columns=[f"pixel{i}" for i in range(64)])
    ae = AutoEncoder(2, (8,), max_iter=3, random_state=0).set_output(transform="pandas")
    Z = fit_quietly(ae, frame).transform(frame)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == ["autoencoder0", "autoencoder1"]
    assert list(ae.feature_names_in_) == list(frame.columns)
    assert_allclose(Z.to_numpy(), ae.set_output(transform="default").transform(frame))


def test_encoder_and_decoder_are_the_networks_own_layers(digits):
    """transform and inverse_transform run parts of the trained network: no copies."""
    X, _ = digits
    ae = fit_quietly(AutoEncoder(2, (16,), max_iter=5, random_state=0), X)
    full = ae.network_.forward(X[:5]).copy()
    assert_allclose(ae.inverse_transform(ae.transform(X[:5])), full, rtol=1e-6, atol=1e-6)
    decoder_last = ae.network_.layers[-1]
    before = ae.inverse_transform(np.zeros((1, 2)))
    decoder_last.params["b"] += 1.0
    assert_allclose(ae.inverse_transform(np.zeros((1, 2))), before + 1.0, rtol=1e-6)


def test_pickle_round_trip(digits):
    X, _ = digits
    for params in [dict(), dict(variational=True, noise=0.1)]:
        ae = fit_quietly(AutoEncoder(2, (16,), max_iter=3, random_state=0, **params), X)
        clone = pickle.loads(pickle.dumps(ae))
        assert_array_equal(clone.transform(X), ae.transform(X))
        assert_array_equal(clone.inverse_transform(ae.transform(X[:3])),
                           ae.inverse_transform(ae.transform(X[:3])))
        assert clone.score(X) == ae.score(X)


def test_reproducible_from_random_state(digits):
    X, _ = digits
    params = dict(n_components=2, hidden_layer_sizes=(16,), max_iter=3, noise=0.2,
                  variational=True, early_stopping=True)
    a = fit_quietly(AutoEncoder(**params, random_state=3), X)
    b = fit_quietly(AutoEncoder(**params, random_state=3), X)
    c = fit_quietly(AutoEncoder(**params, random_state=4), X)
    assert_array_equal(a.transform(X), b.transform(X))
    assert a.loss_curve_ == b.loss_curve_
    assert not np.allclose(a.transform(X), c.transform(X))


def test_noise_only_while_fitting_and_the_validation_data_is_clean(digits):
    X, _ = digits
    X_train, X_val = X[:500], X[500:]
    ae = fit_quietly(AutoEncoder(2, (16,), noise=1.0, max_iter=4, random_state=0),
                     X_train, validation_data=X_val)
    noise = ae.network_.layers[0]
    assert isinstance(noise, GaussianNoise)
    # One draw per training batch (3 per epoch), none for the validation data.
    assert noise.step == 3 * 4
    assert_array_equal(ae.transform(X_val), ae.transform(X_val))  # deterministic
    assert noise.step == 3 * 4
    # The last validation loss is the clean loss of the final model: the course's
    # 1/2 * sum over pixels, averaged over samples (n_features / 2 times the MSE).
    clean = 0.5 * 64 * -ae.score(X_val)
    assert_allclose(ae.validation_loss_curve_[-1], clean, rtol=1e-5)
    assert_allclose(ae.validation_scores_[-1], ae.score(X_val), rtol=1e-5)
    # The same fit without noise: the noise changed training, not the validation data.
    quiet = fit_quietly(AutoEncoder(2, (16,), max_iter=4, random_state=0), X_train,
                        validation_data=X_val)
    assert quiet.loss_curve_[0] != ae.loss_curve_[0]
    assert_allclose(quiet.validation_loss_curve_[-1], 0.5 * 64 * -quiet.score(X_val),
                    rtol=1e-5)


def test_early_stopping_restores_the_best_reconstruction(digits):
    X, _ = digits
    ae = fit_quietly(AutoEncoder(2, (16,), early_stopping=True, validation_fraction=0.2,
                                 n_iter_no_change=2, max_iter=60, learning_rate_init=0.05,
                                 random_state=0), X)
    # The split early stopping used, made again from random_state.
    _, val_idx = train_test_split(np.arange(len(X)), test_size=0.2, random_state=0)
    assert len(ae.validation_loss_curve_) == ae.n_iter_
    assert_allclose(ae.score(X[val_idx]), ae.best_validation_score_, rtol=1e-5)
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    plain = fit_quietly(AutoEncoder(2, (16,), max_iter=2, random_state=0), X)
    assert plain.validation_loss_curve_ is None and plain.validation_scores_ is None


def test_variational_transform_sample_and_prior(digits):
    X, _ = digits
    params = dict(variational=True, max_iter=40, batch_size=32, learning_rate_init=0.01,
                  random_state=0)
    vae = fit_quietly(AutoEncoder(2, (32,), kl_weight=1.0, **params), X)
    assert isinstance(vae.network_.layers[2], GaussianSampling)
    assert_array_equal(vae.transform(X), vae.transform(X))  # the means, no draw
    samples = vae.sample(5, random_state=0)
    assert samples.shape == (5, 64) and np.isfinite(samples).all()
    assert_array_equal(vae.sample(5, random_state=0), samples)
    assert not np.allclose(vae.sample(5, random_state=1), samples)
    # The KL term pulls the means towards the prior's, 0: without it they spread.
    free = fit_quietly(AutoEncoder(2, (32,), kl_weight=0.0, **params), X)
    assert np.abs(vae.transform(X)).max() < 0.5 < np.abs(free.transform(X)).max()
    assert np.abs(vae.transform(X)).mean() < 0.2 * np.abs(free.transform(X)).mean()
    with pytest.raises(ValueError, match="n_samples"):
        vae.sample(0)


def test_sample_needs_a_variational_model(digits):
    X, _ = digits
    ae = fit_quietly(AutoEncoder(2, (8,), max_iter=2, random_state=0), X)
    assert not hasattr(ae, "sample")
    with pytest.raises(AttributeError, match="has no attribute 'sample'") as excinfo:
        ae.sample(3)
    assert "variational=False" in str(excinfo.value.__cause__)


def test_convolutional_autoencoder_on_small_images(digits):
    X, _ = digits
    ae = fit_quietly(AutoEncoder(8, layers="C-16.3_s2, C-16.3_s2", input_shape=(1, 8, 8),
                                 max_iter=15, batch_size=32, learning_rate_init=0.01,
                                 random_state=0), X)
    kinds = [type(layer).__name__ for layer in ae.network_.layers]
    assert kinds.count("ConvTranspose") == 2 and "Reshape" in kinds
    assert ae.input_shape_ == (1, 8, 8)
    assert -ae.score(X) < 0.5 * X.var(axis=0).mean()
    # Flat rows or images, and reconstructions in the layout fitted on.
    images = X.reshape(-1, 1, 8, 8)
    assert_allclose(ae.transform(images), ae.transform(X))
    assert ae.inverse_transform(ae.transform(X[:3])).shape == (3, 64)
    shaped = fit_quietly(AutoEncoder(2, layers="C-4.3, P-2", max_iter=1, random_state=0),
                         images)
    assert shaped.inverse_transform(shaped.transform(images[:3])).shape == (3, 1, 8, 8)


def test_convolutional_mirror_crops_where_pooling_rounded_up():
    X = np.random.default_rng(0).normal(size=(20, 63)).astype(np.float32)
    ae = fit_quietly(AutoEncoder(3, layers="C-4.3_s2, P-3_s2, C-4.3, D-8",
                                 input_shape=(1, 7, 9), max_iter=1, random_state=0), X)
    layers = ae.network_.layers
    assert any(isinstance(layer, Crop) for layer in layers)
    strided = [layer for layer in layers if isinstance(layer, ConvTranspose)][-1]
    assert strided.stride == (2, 2) and strided.output_shape == (1, 7, 9)
    assert any(isinstance(layer, Upsample) for layer in layers)
    assert ae.inverse_transform(ae.transform(X)).shape == X.shape


def test_decoder_layer_sizes_and_linear_autoencoder(digits):
    X, _ = digits
    ae = fit_quietly(AutoEncoder(2, (32, 16), decoder_layer_sizes=(8,), max_iter=1,
                                 random_state=0), X)
    assert [layer.units for layer in ae.network_.layers] == [32, 16, 2, 8, 64]
    mirrored = fit_quietly(AutoEncoder(2, (32, 16), max_iter=1, random_state=0), X)
    assert [layer.units for layer in mirrored.network_.layers] == [32, 16, 2, 16, 32, 64]
    # No hidden layer: a linear autoencoder, which reaches PCA's error.
    linear = fit_quietly(AutoEncoder(2, (), max_iter=300, learning_rate_init=0.01,
                                     random_state=0), X)
    assert -linear.score(X) < 1.02 * pca_error(X, 2)


@pytest.mark.parametrize("params, match", [
    (dict(n_components=0), "n_components"),
    (dict(noise=-0.1), "noise"),
    (dict(kl_weight=-1.0), "kl_weight"),
    (dict(out_activation="softmax"), "out_activation"),
    (dict(input_shape=(1, 8, 8)), "convolutional form"),
    (dict(layers="C-4.3", decoder_layer_sizes=(8,)), "dense form"),
    (dict(layers="C-4.3, D-16, D5"), "D5"),
    (dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes"),
    (dict(dtype="int32"), "dtype"),
])
def test_bad_parameters_are_clear_errors(digits, params, match):
    X, _ = digits
    with pytest.raises((ValueError, InvalidParameterError), match=match):
        AutoEncoder(**{"n_components": 2, **params}, max_iter=1).fit(X[:20])


def test_lbfgs_warns_that_it_neither_corrupts_nor_samples(digits):
    X, _ = digits
    with pytest.warns(UserWarning, match="deterministic objective"):
        fit_quietly(AutoEncoder(2, (8,), solver="lbfgs", noise=0.1, max_iter=5,
                                random_state=0), X[:100])


def test_partial_fit_and_warm_start(digits):
    X, _ = digits
    ae = AutoEncoder(2, (8,), random_state=0)
    ae.partial_fit(X)
    ae.partial_fit(X)
    # As scikit-learn: n_iter_ counts this call's epochs; the curve goes on.
    assert ae.n_iter_ == 1 and len(ae.loss_curve_) == 2 and ae.t_ == 2 * len(X)
    warm = fit_quietly(AutoEncoder(2, (8,), max_iter=2, warm_start=True, random_state=0), X)
    fit_quietly(warm, X)
    assert warm.n_iter_ == 2 and len(warm.loss_curve_) == 4


def test_in_a_pipeline_and_a_grid_search(digits):
    X, y = digits
    common = dict(hidden_layer_sizes=(32,), batch_size=32, learning_rate_init=0.01,
                  max_iter=20, random_state=0)
    pipe = make_pipeline(StandardScaler(), AutoEncoder(**common),
                         LogisticRegression(max_iter=500))
    search = GridSearchCV(pipe, {"autoencoder__n_components": [2, 8]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    # More latent numbers keep more of what tells the digits apart.
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] and search.best_params_ == {"autoencoder__n_components": 8}
    # Alone, the autoencoder is scored by its reconstruction (higher is better).
    alone = GridSearchCV(AutoEncoder(**common), {"n_components": [1, 6]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alone.fit(X)
    assert alone.best_params_ == {"n_components": 6}
    assert alone.cv_results_["mean_test_score"][1] > 0.8 * alone.cv_results_[
        "mean_test_score"][0]  # scores are negative: a clearly smaller error


def test_convolutional_vae_shards_draw_the_whole_batch(digits):
    """The convolutional form splits batches into shards (as the CNNs); the noise
    and the code's draws are the unsharded batch's, and the thread count does not
    change the model."""
    from unittest import mock

    X, _ = digits
    params = dict(n_components=3, layers="C-4.3_s2, D-16", input_shape=(1, 8, 8),
                  variational=True, noise=0.2, kl_weight=0.5, max_iter=2, batch_size=64,
                  random_state=0)
    one = fit_quietly(AutoEncoder(**params, n_jobs=1), X)
    two = fit_quietly(AutoEncoder(**params, n_jobs=2), X)
    for a, b in zip(one.network_.get_weights(), two.network_.get_weights()):
        assert_array_equal(a, b)
    fits = []
    for shards in (1, 2):
        with mock.patch.object(AutoEncoder, "_n_shards", shards):
            fits.append(fit_quietly(AutoEncoder(**params, dtype="float64"), X))
    for a, b in zip(*(fit.network_.get_weights() for fit in fits)):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_the_demo_row_beats_pca():
    """`python -m skneuro`'s autoencoder row, on 2 folds: a lower held-out error than PCA's."""
    from skneuro._demo import _cross_validate, _ratio, make_tasks

    (task,) = [t for t in make_tasks() if t.name == "AutoEncoder"]
    X, y = task.load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, _ = _cross_validate(task.ours, X, y, 2, lambda k, n: None, task.scorer)
    theirs, _ = _cross_validate(task.theirs, X, y, 2, lambda k, n: None, task.scorer)
    assert ours.mean() < 0.9 * theirs.mean()
    assert _ratio(0.0234) == "0.023x" and _ratio(2.345) == "2.3x"
