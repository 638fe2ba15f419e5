"""DDPM: schedules, the forward process, training, sampling, errors."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skneuro import DDPM
from skneuro.ddpm import beta_schedule

SMALL = dict(n_steps=20, channels=8, time_embedding=16, max_iter=3, random_state=0)


def fit_quietly(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


def test_schedules():
    linear = beta_schedule("linear", 100, 1e-4, 0.02)
    assert linear[0] == pytest.approx(1e-4) and linear[-1] == pytest.approx(0.02)
    cosine = beta_schedule("cosine", 100)
    assert np.all((cosine > 0) & (cosine <= 0.999))
    abar = np.cumprod(1 - cosine)
    assert abar[-1] < 1e-3 < abar[0]  # from almost data to almost noise


@pytest.mark.parametrize("n_steps", [1, 2, 5, 50, 200, 1000, 4000])
def test_default_linear_schedule_ends_in_noise_at_any_length(n_steps):
    betas = beta_schedule("linear", n_steps)
    assert np.all((betas > 0) & (betas < 1))
    abar = np.cumprod(1 - betas)
    assert abar[-1] < 1e-2  # pure noise at the last step
    if n_steps > 1:
        assert abar[0] > 0.9  # almost the data at the first
    if n_steps == 1000:  # Ho et al.'s own values
        assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02)


def test_fit_sample_score_and_noise(digits):
    X, _ = digits
    model = fit_quietly(DDPM(input_shape=(1, 8, 8), **SMALL), X)
    assert len(model.loss_curve_) == 3 and np.isfinite(model.loss_curve_).all()
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    assert model.betas_.shape == model.alphas_cumprod_.shape == (20,)
    samples = model.sample(5, random_state=1)
    assert samples.shape == (5, 64)  # the layout of X: flat rows
    assert np.isfinite(samples).all()
    assert samples.min() >= X.min() and samples.max() <= X.max()  # the data's scale
    assert_array_equal(samples, model.sample(5, random_state=1))
    assert not np.array_equal(samples, model.sample(5, random_state=2))
    assert model.score(X) == model.score(X)  # fixed draws: deterministic
    assert model.score(X) < 0
    noisy = model.add_noise(X[:3], [0, 10, 19], random_state=0)
    assert noisy.shape == (3, 64)
    # At the first step the image is nearly intact; at the last, nearly noise.
    assert np.corrcoef(noisy[0], X[0])[0, 1] > 0.99
    assert abs(np.corrcoef(noisy[2], X[2])[0, 1]) < 0.99


def test_verbose_sampling_shows_its_steps_once_it_runs_long(digits, monkeypatch, capsys):
    X, _ = digits
    model = fit_quietly(DDPM(input_shape=(1, 8, 8), **dict(SMALL, max_iter=1)), X[:64])
    quiet = model.sample(2, random_state=0)
    model.set_params(verbose=True)
    # Sampling in well under the 2 s delay prints nothing (the real clock).
    assert_array_equal(model.sample(2, random_state=0), quiet)
    assert capsys.readouterr().out == ""

    # A step "takes" 4 s: a plain line every 10 s (output is not a terminal),
    # then one saying that sampling ended.
    readings = iter(np.arange(1000) * 4.0)
    monkeypatch.setattr("skneuro._progress.clock", lambda: next(readings))
    assert_array_equal(model.sample(2, random_state=0), quiet)
    lines = capsys.readouterr().out.splitlines()
    assert 4 <= len(lines) <= 9, lines
    assert lines[0].startswith("  sampling: ") and "/20 steps (" in lines[0]
    assert lines[-1].startswith("  sampling: 20/20 steps (100%) in ")
    done = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert done == sorted(done)


def test_shaped_input_odd_sizes_and_one_feature():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2, 5, 3))  # padded to 8x4 inside, cropped back
    model = fit_quietly(DDPM(**SMALL), X)
    assert model.sample(2, random_state=0).shape == (2, 2, 5, 3)
    one = fit_quietly(DDPM(**SMALL), rng.normal(size=(30, 1)))
    out = one.sample(4, random_state=0)
    assert out.shape == (4, 1) and np.isfinite(out).all()


def test_ddim_sampler_and_pickle(digits):
    X, _ = digits
    model = fit_quietly(DDPM(input_shape=(1, 8, 8), sampling_steps=5, **SMALL), X)
    fast = model.sample(3, random_state=0)
    assert fast.shape == (3, 64) and np.isfinite(fast).all()
    again = pickle.loads(pickle.dumps(model))
    assert_array_equal(again.sample(3, random_state=0), fast)
    assert again.score(X[:50]) == model.score(X[:50])


def test_conditional_model(digits):
    X, y = digits
    model = fit_quietly(DDPM(input_shape=(1, 8, 8), conditional=True, guidance=2.0, **SMALL),
                        X, y)
    assert_array_equal(model.classes_, np.arange(10))
    assert model.sample(4, y=[0, 1, 2, 3], random_state=0).shape == (4, 64)
    assert model.sample(2, y=7, random_state=0).shape == (2, 64)
    assert model.sample(2, random_state=0).shape == (2, 64)  # unconditional
    with pytest.raises(ValueError, match="not fitted on"):
        model.sample(1, y=[11])
    with pytest.raises(ValueError, match="needs the class labels"):
        DDPM(conditional=True, **SMALL).fit(X)


def test_reproducible_and_independent_of_threads(digits):
    X, _ = digits
    a = fit_quietly(DDPM(input_shape=(1, 8, 8), n_jobs=1, **SMALL), X)
    b = fit_quietly(DDPM(input_shape=(1, 8, 8), n_jobs=2, **SMALL), X)
    for wa, wb in zip(a.network_.get_weights(), b.network_.get_weights()):
        assert_array_equal(wa, wb)


def test_early_stopping_and_grid_search(digits):
    X, _ = digits
    model = fit_quietly(DDPM(input_shape=(1, 8, 8), early_stopping=True, **SMALL), X)
    assert len(model.validation_loss_curve_) == len(model.loss_curve_)
    search = GridSearchCV(DDPM(input_shape=(1, 8, 8), **SMALL),
                          {"beta_schedule": ["linear", "cosine"]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X)
    assert search.best_params_["beta_schedule"] in ("linear", "cosine")


@pytest.mark.parametrize("params, match", [
    (dict(beta_start=0.0), "beta_start"),
    (dict(beta_end=1.0), "beta_end"),
    (dict(beta_end=1e-4), "beta_start <= beta_end"),  # below the default start
    (dict(n_steps=0), "n_steps"),
    (dict(solver="lbfgs"), "solver"),
    (dict(n_levels=7), "n_levels"),
    (dict(input_shape=(1, 7)), "input_shape"),
])
def test_bad_parameters(digits, params, match):
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        DDPM(**{**SMALL, **params}).fit(X)


def test_bad_calls(digits):
    X, _ = digits
    model = fit_quietly(DDPM(input_shape=(1, 8, 8), **SMALL), X)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)
    with pytest.raises(ValueError, match="t must be"):
        model.add_noise(X[:2], 20)
    with pytest.raises(ValueError, match="expecting 64 features"):
        model.score(X[:, :10])


def test_forward_process_kernel_matches_its_formula():
    from skneuro.kernels.cpu import diffusion
    from skneuro.nn import CPUBackend

    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, size=(6, 5))
    abar = np.cumprod(1 - np.linspace(1e-4, 0.2, 10))
    x_in = np.full((6, 7), np.nan)
    eps = np.full((6, 5), np.nan)
    for variant in ("serial", "parallel"):
        getattr(diffusion.diffusion_noise, variant)(x0, np.sqrt(abar), np.sqrt(1 - abar), 7, 3,
                                                    0, x_in, eps)
        t = x_in[:, 5].astype(int)
        assert np.all((t >= 0) & (t < 10)) and np.array_equal(t, x_in[:, 5])
        expected = np.sqrt(abar[t])[:, None] * x0 + np.sqrt(1 - abar[t])[:, None] * eps
        assert_allclose(x_in[:, :5], expected, rtol=1e-12)
        assert np.isnan(x_in[:, 6]).all()  # the label column is left alone
    # Rows draw as their place in the batch: a shard starting at row 2 agrees.
    part_in, part_eps = np.empty((4, 7)), np.empty((4, 5))
    diffusion.diffusion_noise(x0[2:].copy(), np.sqrt(abar), np.sqrt(1 - abar), 7, 3, 2,
                              part_in, part_eps)
    assert_array_equal(part_eps, eps[2:])
    # Over many rows the noise is standard normal and the steps uniform.
    big = np.zeros((4000, 50))
    big_in, big_eps = np.empty((4000, 51)), np.empty((4000, 50))
    diffusion.diffusion_noise(big, np.sqrt(abar), np.sqrt(1 - abar), 1, 0, 0, big_in, big_eps)
    assert abs(big_eps.mean()) < 0.01 and abs(big_eps.std() - 1) < 0.01
    assert set(np.unique(big_in[:, 50]).astype(int)) == set(range(10))
    labels = np.arange(4000, dtype=float) % 10
    diffusion.drop_labels(labels, 1, 0, 0.25, 10, 50, big_in)
    dropped = big_in[:, 50] == 10
    assert 0.22 < dropped.mean() < 0.28
    assert_array_equal(big_in[~dropped, 50], labels[~dropped])
    assert CPUBackend().diffusion is diffusion


def test_tol_none_trains_max_iter_epochs_without_a_warning(digits):
    X, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DDPM(input_shape=(1, 8, 8), **SMALL).fit(X)
    assert model.tol is None and model.n_iter_ == SMALL["max_iter"]
    # A float asks for a criterion: missing it within max_iter warns, as ever.
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        DDPM(input_shape=(1, 8, 8), tol=1.0, n_iter_no_change=50, **SMALL).fit(X)


def test_tol_none_with_early_stopping_keeps_the_best_validation_weights(digits):
    X, _ = digits
    model = DDPM(input_shape=(1, 8, 8), early_stopping=True, n_iter_no_change=1,
                 **{**SMALL, "max_iter": 4}).fit(X)
    # No patience applies: every epoch runs, and the best epoch's weights stay.
    assert model.n_iter_ == 4
    assert model.best_validation_score_ == pytest.approx(max(model.validation_scores_))
