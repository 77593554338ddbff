"""benchmarks/calibrate.py's weighted logistic fit."""
import importlib.util
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "calibrate", Path(__file__).resolve().parents[1] / "benchmarks" / "calibrate.py"
)
calibrate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(calibrate)


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X @ [1.0, -2.0, 0.5] + rng.normal(size=n) > 0.3).astype(float)
    return X, y


def test_a_weight_counts_as_that_many_copies():
    """Weighing the clean examples k times fits what k copies of each fit."""
    X, y = _data()
    k = 4
    w = calibrate.fit_logistic(X, y, weights=np.where(y == 0, k, 1.0))
    reps = np.where(y == 0, k, 1)
    copies = calibrate.fit_logistic(np.repeat(X, reps, axis=0), np.repeat(y, reps))
    np.testing.assert_allclose(w, copies, atol=1e-6)


def test_weighing_clean_texts_lowers_the_odds_where_classes_overlap():
    X, y = _data(1)
    plain = calibrate.fit_logistic(X, y)
    weighted = calibrate.fit_logistic(X, y, weights=np.where(y == 0, 16.0, 1.0))
    assert weighted[0] < plain[0] - 1.0
    np.testing.assert_allclose(calibrate.fit_logistic(X, y, weights=np.ones(len(y))), plain)


def test_the_shipped_fast_calibration_was_fitted_with_the_scripts_clean_weight():
    from unspin.detect import calibration

    assert calibration()["fast"]["provenance"]["clean_weight"] == calibrate.CLEAN_WEIGHT["fast"]
