"""The main job's diffusion section and the judging of DDPM's samples (skneuro._ddpm_quality)."""

import importlib.util
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skneuro import _ddpm_quality as quality
from skneuro import _demo
from skneuro.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def judge():
    return quality.make_judge()  # about 2 s


def fake_result(**changes):
    """What ``evaluate`` returns, with made-up numbers."""
    result = dict(confident=0.598, spread=0.969, classes=10,
                  counts=np.array([92, 22, 38, 40, 76, 47, 36, 54, 51, 44]),
                  frechet_ratio=1.51, epochs=30, max_epochs=30, minutes=2.0, fit_time=35.2,
                  sample_time=6.4, n_samples=500, sampling_steps=50, params=335_745)
    result.update(changes)
    return result


def test_frechet_of_shifted_samples():
    a = np.random.default_rng(0).normal(size=(400, 5))
    assert quality.frechet(a, a) == pytest.approx(0.0, abs=1e-8)
    # Same covariance, means apart by c: the distance is |c|^2.
    shift = np.array([1.0, -2.0, 0.0, 0.5, 0.0])
    assert_allclose(quality.frechet(a, a + shift), (shift ** 2).sum(), rtol=1e-6)


def test_the_judge_passes_real_digits_and_fails_noise(judge):
    rng = np.random.default_rng(0)
    real = quality.measure(judge.X[rng.permutation(len(judge.X))[:500]], judge)
    assert real["confident"] >= 0.95 and real["classes"] == 10
    assert real["spread"] >= quality.TARGETS["spread"]
    assert real["frechet_ratio"] < 0.3
    assert real["counts"].sum() == 500

    noise = quality.measure(rng.uniform(0, 16, size=(500, 64)), judge)
    assert noise["spread"] < 0.6  # most noise looks like one or two classes
    assert noise["frechet_ratio"] > 5.0

    gaussian = quality.measure(quality.gaussian_baseline(judge.X, 500, random_state=1), judge)
    assert 0.8 < gaussian["frechet_ratio"] < 1.3  # the baseline is ~1 by construction
    assert gaussian["confident"] < quality.TARGETS["confident"]


def test_evaluate_runs_a_tiny_ddpm(judge):
    """The whole chain, train -> sample -> judge, on one epoch and 50 two-step samples."""
    result = quality.evaluate(epochs=1, minutes=1.0, sampling_steps=2, n_samples=50,
                              judge=judge)
    assert result["epochs"] == 1 and result["n_samples"] == 50
    assert result["counts"].sum() == 50 and 1 <= result["classes"] <= 10
    assert 0.0 <= result["confident"] <= 1.0 and 0.0 <= result["spread"] <= 1.0
    assert np.isfinite(result["frechet_ratio"]) and result["frechet_ratio"] > 0
    assert result["params"] > 0 and result["fit_time"] > 0


def test_report_marks_targets():
    text = quality.report(fake_result())
    assert "30 epochs in 35 s (limit 2 min); 500 samples by 50-step DDIM in 6 s." in text
    assert "| 59.8% | >= 70% (NOT met) |" in text
    assert "| 0.969 (10 classes) | >= 0.95, all 10 (met) |" in text
    assert "| 1.51 | <= 0.8 (NOT met) |" in text
    assert "0: 92, 1: 22," in text and "conditional model" not in text

    full = quality.report(fake_result(confident=0.896, frechet_ratio=0.47, classes=9,
                                      epochs=300, fit_time=486.0, minutes=14.0,
                                      sampling_steps=None, conditional=0.79,
                                      cond_epochs=300, cond_fit_time=492.0))
    assert "300 epochs in 8.1 min (limit 14 min)" in full
    assert "by the 200-step ancestral sampler" in full
    assert "| 89.6% | >= 70% (met) |" in full
    assert "(9 classes) | >= 0.95, all 10 (NOT met) |" in full  # a class missing
    assert "| 0.47 | <= 0.8 (met) |" in full
    assert "| 79.0% | >= 80% (NOT met) |" in full


def test_diffusion_section_says_what_it_is():
    short = _demo.format_diffusion(fake_result())
    assert short.startswith(quality.report(fake_result()))
    assert "`python -m skneuro --full` runs it" in short and "lower than the targets" in short
    full = _demo.format_diffusion(fake_result(sampling_steps=None), full=True)
    assert "The real evaluation" in full and "lower than the targets" not in full


def test_run_diffusion_settings():
    with mock.patch.object(quality, "evaluate", return_value="r") as evaluate:
        assert _demo.run_diffusion(stream=mock.Mock()) == "r"
        evaluate.assert_called_once_with(**_demo.SHORT_DDPM)
        evaluate.reset_mock()
        _demo.run_diffusion(full=True, stream=mock.Mock())
        evaluate.assert_called_once_with()  # asv_bench/evaluate_ddpm.py's defaults
    assert _demo.SHORT_DDPM["epochs"] < 100 and _demo.SHORT_DDPM["sampling_steps"] < 200


def _script(name):
    """A development script of asv_bench/, imported as its command line runs it."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "asv_bench" / f"{name}.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


@pytest.fixture
def asv_bench_on_path(monkeypatch):
    # As `python asv_bench/<script>.py` does: the scripts import their helpers.
    monkeypatch.syspath_prepend(str(ROOT / "asv_bench"))


def test_main_prints_the_table_then_the_diffusion_section(capsys):
    task = _demo.make_tasks()[0]
    rows = [(task, (np.array([0.9, 0.8]), np.array([0.01, 0.02])),
             (np.array([0.85, 0.8]), np.array([0.02, 0.02])))]
    with mock.patch.object(_demo, "run", return_value=rows), \
            mock.patch.object(_demo, "run_diffusion", return_value=fake_result()):
        assert main(["--cv", "2"]) == 0
    out = capsys.readouterr().out
    assert out.index(_demo.format_table(rows, cv=2)) < out.index(
        _demo.format_diffusion(fake_result()))
    with pytest.raises(SystemExit):  # writing the README is the tooling's job now
        main(["--readme", "README.md"])


def test_the_readme_writer_is_not_in_the_package():
    assert not hasattr(_demo, "update_readme") and not hasattr(_demo, "machine_description")


def test_demo_readme_writes_table_and_diffusion_into_readme(tmp_path, capsys,
                                                            asv_bench_on_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- demo-table:begin -->\nSTALE\n<!-- demo-table:end -->\n"
                      "between\n<!-- demo-ddpm:begin -->\nSTALE\n<!-- demo-ddpm:end -->\nend\n",
                      encoding="utf-8")
    task = _demo.make_tasks()[0]
    rows = [(task, (np.array([0.9, 0.8]), np.array([0.01, 0.02])),
             (np.array([0.85, 0.8]), np.array([0.02, 0.02])))]
    with mock.patch.object(_demo, "run", return_value=rows), \
            mock.patch.object(_demo, "run_diffusion", return_value=fake_result()):
        assert _script("demo_readme").main([str(readme), "--cv", "2"]) == 0
    out = capsys.readouterr().out
    assert _demo.format_table(rows, cv=2) in out
    assert _demo.format_diffusion(fake_result()) in out
    assert out.index("| Perceptron |") < out.index("DDPM (U-Net")  # the section after the table
    text = readme.read_text(encoding="utf-8")
    assert "STALE" not in text and text.startswith("intro\n") and text.endswith("end\n")
    table_part = text[text.index("demo-table:begin"):text.index("demo-table:end")]
    ddpm_part = text[text.index("demo-ddpm:begin"):text.index("demo-ddpm:end")]
    assert "| Perceptron |" in table_part and "DDPM" not in table_part
    assert "Written by `python -m skneuro` on " in ddpm_part
    assert "| 59.8% | >= 70% (NOT met) |" in ddpm_part and "between" not in ddpm_part


def test_the_readme_has_the_markers():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for marker in ("demo-table", "demo-ddpm", "eval-ddpm"):
        assert text.index(f"<!-- {marker}:begin -->") < text.index(f"<!-- {marker}:end -->")


def test_evaluate_ddpm_script_uses_the_shared_judging(tmp_path, capsys, asv_bench_on_path):
    script = _script("evaluate_ddpm")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- eval-ddpm:begin -->\n<!-- eval-ddpm:end -->\n", encoding="utf-8")
    result = fake_result(epochs=300, sampling_steps=None, minutes=14.0)
    with mock.patch.object(quality, "evaluate", return_value=result) as evaluate, \
            warnings.catch_warnings():
        script.main(["--readme", str(readme)])
    evaluate.assert_called_once_with(300, 14.0, False)
    assert quality.report(result) in capsys.readouterr().out
    assert quality.report(result) in readme.read_text(encoding="utf-8")
