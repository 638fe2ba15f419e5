"""Saving and loading: skops files and pickles, in a fresh process, and the
files that must be refused (foreign types, another state format, truncated,
a huge declared array)."""

import io
import pickle
import subprocess
import sys
import textwrap
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.datasets import load_digits

import skneuro
from skneuro import (
    DDPM,
    AutoEncoder,
    CNNClassifier,
    CNNRegressor,
    MLPClassifier,
    MLPRegressor,
    Perceptron,
)
from skneuro._saved_state import IncompatibleStateError
from skneuro.nn import Callback

skops_io = pytest.importorskip("skops.io", reason="skops is the test extra's; pip install skops")
from skneuro.io import dump, load, trusted_types  # noqa: E402  (needs skops above)


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return (X[:200] / 16).astype(np.float32), y[:200]


def _models(X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "mlp_classifier": (MLPClassifier((6,), max_iter=2, random_state=0).fit(X, y),
                               "predict_proba"),
            "mlp_regressor": (MLPRegressor(hidden_layer_sizes=(6,), max_iter=2,
                                           random_state=0).fit(X, y), "predict"),
            "perceptron": (Perceptron(max_iter=2, random_state=0).fit(X, y),
                           "decision_function"),
            "cnn_classifier": (CNNClassifier("C-2.3, P-2, D-8", input_shape=(1, 8, 8),
                                             max_iter=1, random_state=0).fit(X, y),
                               "predict_proba"),
            "cnn_regressor": (CNNRegressor("C-2.3, D-4", input_shape=(1, 8, 8), max_iter=1,
                                           random_state=0).fit(X, y), "predict"),
            "vae": (AutoEncoder(2, (8,), max_iter=1, variational=True,
                                random_state=0).fit(X), "transform"),
            "conv_autoencoder": (AutoEncoder(2, layers="I-8.8, C-4.3_s2", max_iter=1,
                                             random_state=0).fit(X), "transform"),
            "ddpm": (DDPM(input_shape=(1, 8, 8), n_steps=10, max_iter=1,
                          random_state=0).fit(X), "score"),
        }


def test_every_estimator_round_trips_through_skops_and_pickle_in_a_fresh_process(
        data, tmp_path):
    X, y = data
    models = _models(X, y)
    expected = {}
    for name, (model, method) in models.items():
        dump(model, tmp_path / f"{name}.skops")
        (tmp_path / f"{name}.pkl").write_bytes(pickle.dumps(model))
        expected[name] = np.asarray(getattr(model, method)(X))
    np.save(tmp_path / "X.npy", X)
    methods = {name: method for name, (_, method) in models.items()}
    code = textwrap.dedent(f"""
        import pickle, numpy as np
        from skneuro.io import load
        X = np.load({str(tmp_path / "X.npy")!r})
        out = {{}}
        for name, method in {methods!r}.items():
            for kind in ("skops", "pkl"):
                path = {str(tmp_path)!r} + f"/{{name}}.{{kind}}"
                model = load(path) if kind == "skops" else pickle.load(open(path, "rb"))
                out[f"{{name}}.{{kind}}"] = np.asarray(getattr(model, method)(X))
        np.savez({str(tmp_path / "out.npz")!r}, **out)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    got = np.load(tmp_path / "out.npz")
    for name, values in expected.items():
        for kind in ("skops", "pkl"):
            np.testing.assert_array_equal(got[f"{name}.{kind}"], values, err_msg=name)


def test_loading_needs_no_list_of_internals(data):
    X, y = data
    model = MLPClassifier((6,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    saved = io.BytesIO()
    dump(model, saved)
    untrusted = skops_io.get_untrusted_types(data=saved.getvalue())
    assert untrusted and set(untrusted) <= set(trusted_types())
    saved.seek(0)
    assert isinstance(load(saved), MLPClassifier)


class ForeignCallback(Callback):
    """A type that is not skneuro's: a file holding it must not load silently."""


def test_a_foreign_type_is_refused_by_name(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((6,), max_iter=1, callbacks=[ForeignCallback()]).fit(X, y)
    saved = io.BytesIO()
    dump(model, saved)
    saved.seek(0)
    with pytest.raises(skops_io.exceptions.UntrustedTypesFoundException,
                       match="ForeignCallback"):
        load(saved)


def test_a_file_of_another_state_format_is_refused_clearly(data, monkeypatch):
    from skneuro import _saved_state

    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((6,), max_iter=1).fit(X, y)
    monkeypatch.setattr(_saved_state, "STATE_FORMAT", 99)  # a later release saves it
    saved = io.BytesIO()
    dump(model, saved)
    pickled = pickle.dumps(model)
    monkeypatch.undo()
    saved.seek(0)
    with pytest.raises(IncompatibleStateError, match=r"state format 99\).*reads state "
                                                     r"format 1.*refit"):
        load(saved)
    with pytest.raises(IncompatibleStateError, match="state format 99"):
        pickle.loads(pickled)
    assert issubclass(IncompatibleStateError, ValueError)
    assert skneuro.io.STATE_FORMAT == 1


def test_a_truncated_file_is_refused(data, tmp_path):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((6,), max_iter=1).fit(X, y)
    path = tmp_path / "model.skops"
    dump(model, path)
    whole = path.read_bytes()
    path.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(zipfile.BadZipFile):
        load(path)


def test_a_huge_declared_array_is_refused_within_bounded_memory(data, tmp_path):
    """A small file whose array header declares 10**12 values: refused by an
    error, in a process limited to 3 GiB of address space."""
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((6,), max_iter=1).fit(X, y)
    path = tmp_path / "model.skops"
    dump(model, path)
    forged = tmp_path / "forged.skops"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(forged, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename.endswith(".npy") and b"(64, 6)" in content[:128]:
                content = content.replace(b"(64, 6)", b"(1000000, 1000000)", 1)
            dst.writestr(item, content)
    code = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
        from skneuro.io import load
        try:
            load({str(forged)!r})
        except Exception as e:
            print("refused:", type(e).__name__)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused:" in done.stdout


def test_the_readmes_saving_example_runs_as_written(capsys):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Saving models"):]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the docs' examples end without warnings
        exec(compile(block, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "True"


def _forged_weights(data, tmp_path, rewrite, **params):
    """A saved small MLP whose (64, 6) weight arrays (and their copies in the
    optimizer and trainer) are rewritten by ``rewrite(npy_bytes)``; its path."""
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((6,), max_iter=1, **params).fit(X, y)
    path, forged = tmp_path / "model.skops", tmp_path / "forged.skops"
    dump(model, path)
    changed = 0
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(forged, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename.endswith(".npy") and b"(64, 6)" in content[:128]:
                content = rewrite(content)
                changed += 1
            dst.writestr(item, content)
    assert changed >= 1
    return forged


@pytest.mark.parametrize("descr", [b"'<i4'", b"'|O'"])
def test_arrays_of_the_wrong_dtype_are_refused(data, tmp_path, descr):
    """A weight array rewritten as int32 (same size: it would load) or as
    objects (pickled code): refused, never used for predictions."""
    forged = _forged_weights(data, tmp_path,
                             lambda content: content.replace(b"'<f4'", descr, 1))
    with pytest.raises((ValueError, TypeError)):
        load(forged)


def test_an_array_header_damaged_past_parsing_is_refused_as_a_value_error(data, tmp_path):
    """The forgery above shortens the header by a byte, so numpy's header reader
    takes in the first byte of the data. Where that byte opens a bracket the
    header no longer tokenizes (a TokenError, not numpy's ValueError): the
    weights' first byte is set to one here, and the error is still a
    ValueError."""
    def open_a_bracket(content):
        end = 10 + int.from_bytes(content[8:10], "little")  # npy format 1.0
        content = content[:end] + b"(" + content[end + 1:]
        return content.replace(b"'<f4'", b"'|O'", 1)

    forged = _forged_weights(data, tmp_path, open_a_bracket, random_state=0)
    with pytest.raises(ValueError, match="header is damaged"):
        load(forged)


def test_saving_changes_nothing_in_the_model(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((6,), max_iter=1).fit(X, y)
    before = dict(vars(model))
    pickle.dumps(model)
    dump(model, io.BytesIO())
    assert vars(model).keys() == before.keys()  # no version stamps left behind


def test_a_model_whose_dtype_parameter_changed_after_fit_still_round_trips(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier((6,), max_iter=1).fit(X, y)  # float32 weights
    model.set_params(dtype="float64")  # takes effect at the next fit
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
