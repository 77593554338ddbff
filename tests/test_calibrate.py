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


def test_the_shipped_calibrations_record_the_scripts_settings():
    """Both modes were fitted with the clean weight and the document vector
    that benchmarks/calibrate.py now uses by default."""
    from unspin.detect import calibration

    for mode in ("lm", "fast"):
        model = calibration()[mode]
        assert model["provenance"]["clean_weight"] == calibrate.CLEAN_WEIGHT[mode]
        assert model["doc_vector"] == calibrate.DOC_VECTOR[mode]


def _rec(label, kind, words, *scores):
    slots = [
        {"score": s, "doc_score": s, "observed": f"w{i}", "suggestion": f"o{i}", "gain": s, "channel": 0.0,
         "source": "phrases", "ok": bool(label)}
        for i, s in enumerate(scores)
    ]
    return {"words": words, "label": label, "kind": kind, "slots": slots}


def test_long_texts_join_whole_documents_of_one_label():
    """Whole documents (not their short leading texts) are joined k at a
    time for each k in LONG_JOINS, clean with clean and spun with spun; a
    joined text's words and slots are its parts'."""
    recs = []
    for i in range(12):
        recs += [_rec(0, "document", 100 + i, 1.0), _rec(1, "document", 100 + i, 5.0, 6.0)]
        recs += [_rec(0, "short", 10, 1.0), _rec(1, "short", 10, 5.0)]
    joined = calibrate.long_texts(recs)
    assert [r["kind"] for r in joined] == ["joined 3"] * 4 + ["joined 6"] * 2 + ["joined 12"] + (
        ["joined 3"] * 4 + ["joined 6"] * 2 + ["joined 12"]
    )
    first = joined[0]
    assert first["label"] == 0 and first["words"] == 100 + 101 + 102 and len(first["slots"]) == 3
    assert all(len(r["slots"]) == 2 * int(r["kind"].split()[1]) for r in joined if r["label"] == 1)
    assert calibrate.long_texts([r for r in recs if r["kind"] == "short"]) == []
