"""Benchmark metrics (unspin.metrics): data-driven cases and edge cases."""
from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unspin import metrics
from unspin.records import Span

# (hyp, ref, errors, ref_words)
WER_CASES = [
    ("", "", 0, 0),
    ("some words", "", 2, 0),
    ("", "three words here", 3, 3),
    ("identical text.", "identical text.", 0, 2),
    ("identical text", "identical, text!", 0, 2),  # punctuation ignored
    ("The economy grew", "the economy grew", 1, 3),  # case-sensitive
    ("the economic system grew", "the economy grew", 2, 3),  # one substitution, one insertion
    ("Putin will go to Astana.", "Putin will visit Astana.", 2, 4),
    ("a b c d", "d c b a", 4, 4),
    ("isn't it", "is not it", 2, 3),  # contractions are one word
    ("Putin’s visit", "Putin’s visit", 0, 2),
]


@pytest.mark.parametrize("hyp,ref,errors,n", WER_CASES)
def test_word_edits_and_wer(hyp, ref, errors, n):
    assert metrics.word_edits(hyp, ref) == (errors, n)
    expected = errors / n if n else (0.0 if errors == 0 else 1.0)
    assert metrics.wer(hyp, ref) == pytest.approx(expected)


@settings(max_examples=300, deadline=None)
@given(
    a=st.lists(st.sampled_from("abcde"), max_size=40),
    b=st.lists(st.sampled_from("abcde"), max_size=40),
)
def test_bit_parallel_levenshtein_matches_the_table(a, b):
    assert metrics.levenshtein(a, b) == metrics._levenshtein_dp(a, b)


def test_levenshtein_long_sequences():
    rng = random.Random(0)
    for m in (63, 64, 65, 200, 700):  # around machine-word boundaries, and long
        a = [rng.choice("abcdefgh") for _ in range(m)]
        b = [w if rng.random() > 0.3 else rng.choice("xyz") for w in a]
        b.insert(m // 2, "q")
        del b[m // 3]
        assert metrics.levenshtein(a, b) == metrics._levenshtein_dp(a, b)


# (restored, spun, original, recovery)
RECOVERY_CASES = [
    ("Putin will visit Astana.", "Putin shall go to Astana.", "Putin will visit Astana.", 1.0),
    ("Putin shall go to Astana.", "Putin shall go to Astana.", "Putin will visit Astana.", 0.0),
    ("Putin will go to Astana.", "Putin shall go to Astana.", "Putin will visit Astana.", 1 / 3),
    ("Putin shall go to the Astana.", "Putin shall go to Astana.", "Putin will visit Astana.", -1 / 3),
    ("same text", "same text", "same text", 1.0),  # nothing spun, nothing broken
    ("some text", "same text", "same text", 0.0),  # nothing spun, one word broken
    ("", "", "", 1.0),
]


@pytest.mark.parametrize("restored,spun,original,expected", RECOVERY_CASES)
def test_recovery(restored, spun, original, expected):
    assert metrics.recovery(restored, spun, original) == pytest.approx(expected)


# (scores, labels, auc)
AUC_CASES = [
    ([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0], 1.0),
    ([0.1, 0.3, 0.8, 0.9], [1, 1, 0, 0], 0.0),
    ([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], 0.5),  # all equal: ties count one half
    ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),
    ([0.2, 0.2, 0.9], [0, 1, 1], 0.75),
    ([True, False], [1, 0], 1.0),
]


@pytest.mark.parametrize("scores,labels,auc", AUC_CASES)
def test_roc_auc(scores, labels, auc):
    assert metrics.roc_auc(scores, labels) == pytest.approx(auc)


@pytest.mark.parametrize("labels", [[1, 1], [0, 0], []])
def test_roc_auc_needs_both_classes(labels):
    with pytest.raises(ValueError):
        metrics.roc_auc([0.5] * len(labels), labels)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=30))
def test_roc_auc_is_pairwise_win_rate(pairs):
    scores = [s for s, _ in pairs]
    labels = [y for _, y in pairs]
    pos = [s for s, y in pairs if y]
    neg = [s for s, y in pairs if not y]
    if not pos or not neg:
        return
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    assert metrics.roc_auc(scores, labels) == pytest.approx(wins / (len(pos) * len(neg)))


# (scores, labels, threshold, f1 at threshold)
F1_CASES = [
    ([0.9, 0.6, 0.4, 0.1], [1, 0, 1, 0], 0.5, 0.5),
    ([0.9, 0.6, 0.4, 0.1], [1, 0, 1, 0], 0.4, 0.8),
    ([0.9, 0.6, 0.4, 0.1], [1, 0, 1, 0], 0.0, 2 / 3),
    ([0.9, 0.6, 0.4, 0.1], [1, 0, 1, 0], 1.0, 0.0),
    ([0.5, 0.5, 0.5], [1, 1, 1], 0.5, 1.0),
    ([0.2, 0.1], [0, 0], 0.0, 0.0),  # no positives: F1 is 0
    ([], [], 0.5, 0.0),
]


@pytest.mark.parametrize("scores,labels,threshold,f1", F1_CASES)
def test_f1_at(scores, labels, threshold, f1):
    assert metrics.f1_at(scores, labels, threshold) == pytest.approx(f1)


BEST_F1_CASES = [
    ([0.9, 0.6, 0.4, 0.1], [1, 0, 1, 0], 0.8, 0.4),
    ([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0], 1.0, 0.8),
    ([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], 2 / 3, 0.5),  # all equal: one threshold
    ([0.2, 0.1], [0, 0], 0.0, math.inf),
]


@pytest.mark.parametrize("scores,labels,f1,threshold", BEST_F1_CASES)
def test_best_f1(scores, labels, f1, threshold):
    got_f1, got_t = metrics.best_f1(scores, labels)
    assert got_f1 == pytest.approx(f1) and got_t == threshold
    if math.isfinite(threshold):
        assert metrics.f1_at(scores, labels, got_t) == pytest.approx(got_f1)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), max_size=30))
def test_best_f1_is_the_best_threshold(pairs):
    scores = [s for s, _ in pairs]
    labels = [y for _, y in pairs]
    best, _ = metrics.best_f1(scores, labels)
    assert all(metrics.f1_at(scores, labels, t) <= best + 1e-12 for t in scores)


# (predicted, true, precision, recall, f1)
SPAN_CASES = [
    ([], [], 1.0, 1.0, 1.0),
    ([], [(0, 3)], 1.0, 0.0, 0.0),
    ([(0, 3)], [], 0.0, 1.0, 0.0),
    ([(0, 5), (10, 12)], [(3, 8), (20, 25)], 0.5, 0.5, 0.5),
    ([(0, 3)], [(3, 6)], 0.0, 0.0, 0.0),  # touching is not overlapping (end exclusive)
    ([(0, 10)], [(1, 2), (4, 5), (8, 9)], 1.0, 1.0, 1.0),  # one wide span finds three
    ([(1, 2), (4, 5)], [(0, 10)], 1.0, 1.0, 1.0),
    ([(0, 4), (2, 6)], [(5, 7)], 0.5, 1.0, 2 / 3),  # overlapping predictions
]


@pytest.mark.parametrize("pred,true,p,r,f", SPAN_CASES)
def test_span_prf(pred, true, p, r, f):
    assert metrics.span_prf(pred, true) == pytest.approx((p, r, f))


def test_span_prf_accepts_records():
    spans = [Span(0, 5, "go to", "visit", 0.9), {"start": 10, "end": 12}]
    assert metrics.span_prf(spans, [(3, 8), (20, 25)]) == pytest.approx((0.5, 0.5, 0.5))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(1, 6)), max_size=8),
    st.lists(st.tuples(st.integers(0, 50), st.integers(1, 6)), max_size=8),
)
def test_span_counts_sweep_matches_direct_check(pred, true):
    def disjoint(spans):
        out, end = [], -1
        for s, n in sorted(spans):
            if s >= end:
                out.append((s, s + n))
                end = s + n
        return out

    p, t = disjoint(pred), disjoint(true)
    correct = sum(1 for a, b in p if any(c < b and a < d for c, d in t))
    found = sum(1 for c, d in t if any(a < d and c < b for a, b in p))
    assert metrics.span_counts(p, t) == (correct, len(p), found, len(t))
