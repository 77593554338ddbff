"""Scores for the benchmark: word error rate, recovery, ROC-AUC, F1, span overlap.

Pure Python, no dependencies.  Word error rate is computed on word tokens
(:func:`unspin.text.tokenize`), case-sensitive, with punctuation tokens left
out: restoring "go to" to "visit" is scored on the words, not on a comma the
spinner never touched.

The word-level edit distance is exact Levenshtein distance (substitutions,
insertions and deletions all cost 1), computed with the bit-parallel
algorithm of Myers (1999) in Hyyrö's formulation for global distance: each
reference word position is one bit of a Python integer, so a hypothesis word
costs a dozen big-integer operations whatever the reference length.  A
3,000-word page against its original takes milliseconds, where the plain
O(n*m) table takes seconds; :func:`_levenshtein_dp` is the plain table, kept
as the reference the tests compare against.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from .text import tokenize


def words(text: str) -> list[str]:
    """Word tokens of ``text``, case kept, punctuation left out.

    >>> words("The 2 presidents, just about.")
    ['The', '2', 'presidents', 'just', 'about']
    """
    return [t.text for t in tokenize(text) if t.is_word]


def levenshtein(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Edit distance between two sequences (unit costs).

    >>> levenshtein("kitten", "sitting")
    3
    >>> levenshtein(["go", "to", "Astana"], ["visit", "Astana"])
    2
    >>> levenshtein([], ["a", "b"])
    2
    """
    # Common prefix and suffix cost nothing and are most of a spun text.
    i = 0
    n = min(len(a), len(b))
    while i < n and a[i] == b[i]:
        i += 1
    j = 0
    while j < n - i and a[len(a) - 1 - j] == b[len(b) - 1 - j]:
        j += 1
    a, b = a[i : len(a) - j], b[i : len(b) - j]
    if not a or not b:
        return len(a) + len(b)
    if len(a) < len(b):
        a, b = b, a  # a is the bit-vector side; fewer loop turns over b
    m = len(a)
    peq: dict[Any, int] = {}
    for k, x in enumerate(a):
        peq[x] = peq.get(x, 0) | (1 << k)
    mask = (1 << m) - 1
    top = 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for y in b:
        eq = peq.get(y, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = mv | (~(xh | pv) & mask)
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & mask  # | 1: the first row grows by one per column
        mh = (mh << 1) & mask
        pv = mh | (~(xv | ph) & mask)
        mv = ph & xv
    return score


def _levenshtein_dp(a: Sequence[Any], b: Sequence[Any]) -> int:
    """The textbook O(len(a) * len(b)) table; the reference for tests.

    >>> _levenshtein_dp("kitten", "sitting")
    3
    """
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def word_edits(hyp: str, ref: str) -> tuple[int, int]:
    """(word errors of ``hyp`` against ``ref``, words in ``ref``), for micro-averages.

    >>> word_edits("Putin will go to Astana.", "Putin will visit Astana.")
    (2, 4)
    """
    r = words(ref)
    return levenshtein(words(hyp), r), len(r)


def wer(hyp: str, ref: str) -> float:
    """Word error rate of ``hyp`` against the reference ``ref``.

    Errors over reference words.  An empty reference gives 0.0 against an
    empty hypothesis and 1.0 against any other (by convention: the ratio is
    undefined there).

    >>> wer("the economic system grew", "the economy grew")
    0.6666666666666666
    >>> wer("The economy grew.", "the economy grew")
    0.3333333333333333
    >>> wer("", ""), wer("words", "")
    (0.0, 1.0)
    """
    e, n = word_edits(hyp, ref)
    if n == 0:
        return 0.0 if e == 0 else 1.0
    return e / n


def recovery(restored: str, spun: str, original: str) -> float:
    """Share of the spinner's word errors that restoration removed.

    ``1 - WER(restored, original) / WER(spun, original)``; both WERs share the
    reference, so this is ``1 - errors(restored) / errors(spun)``.  1.0 is a
    perfect restoration, 0.0 no progress, negative values mean restoration
    made the text worse.  When the spun text has no errors (nothing was spun)
    the denominator is taken as 1: recovery is 1.0 if the restored text has
    no errors either, and ``1 - errors(restored)`` otherwise, so every word a
    restorer breaks in unspun text costs a full point.

    >>> recovery("Putin will visit Astana.", "Putin shall go to Astana.", "Putin will visit Astana.")
    1.0
    >>> round(recovery("Putin will go to Astana.", "Putin shall go to Astana.", "Putin will visit Astana."), 4)
    0.3333
    >>> recovery("same text", "same text", "same text"), recovery("some text", "same text", "same text")
    (1.0, 0.0)
    """
    e_restored, _ = word_edits(restored, original)
    e_spun, _ = word_edits(spun, original)
    return 1.0 - e_restored / max(e_spun, 1)


# --------------------------------------------------------------------------
# Document scores


def roc_auc(scores: Sequence[float], labels: Sequence[int | bool]) -> float:
    """Area under the ROC curve: the chance a positive outscores a negative.

    Rank-based (Mann-Whitney U), tied scores get their average rank, so ties
    between a positive and a negative count one half.  Raises ValueError when
    one class is missing (the area is undefined).

    >>> roc_auc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
    1.0
    >>> roc_auc([0.5, 0.5, 0.5], [1, 0, 1])
    0.5
    >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    if len(scores) != len(labels):
        raise ValueError("scores and labels differ in length")
    pos = sum(1 for y in labels if y)
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        raise ValueError("ROC-AUC needs both positive and negative examples")
    order = sorted(range(len(scores)), key=lambda k: scores[k])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        avg_rank = (i + j) / 2 + 1  # ranks are 1-based
        rank_sum += avg_rank * sum(1 for k in order[i : j + 1] if labels[k])
        i = j + 1
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def f1_at(scores: Sequence[float], labels: Sequence[int | bool], threshold: float) -> float:
    """F1 of calling ``score >= threshold`` positive.

    >>> f1_at([0.9, 0.6, 0.4, 0.1], [1, 0, 1, 0], 0.5)
    0.5
    >>> f1_at([0.2, 0.1], [0, 0], 0.5)
    0.0
    """
    tp = sum(1 for s, y in zip(scores, labels) if s >= threshold and y)
    fp = sum(1 for s, y in zip(scores, labels) if s >= threshold and not y)
    fn = sum(1 for s, y in zip(scores, labels) if s < threshold and y)
    return _f1(tp, fp, fn)


def best_f1(scores: Sequence[float], labels: Sequence[int | bool]) -> tuple[float, float]:
    """(best F1 over all thresholds, the threshold that gives it).

    Thresholds are the observed scores (``score >= threshold`` is positive);
    on ties of F1 the highest threshold wins.  Without positives the F1 is 0.0
    and the threshold ``inf``.

    >>> best_f1([0.9, 0.6, 0.4, 0.1], [1, 0, 1, 0])
    (0.8, 0.4)
    >>> best_f1([0.5, 0.5], [1, 0])
    (0.6666666666666666, 0.5)
    """
    pos = sum(1 for y in labels if y)
    if pos == 0:
        return 0.0, float("inf")
    pairs = sorted(zip(scores, labels), key=lambda p: -p[0])
    best, best_t = 0.0, float("inf")
    tp = fp = 0
    i = 0
    while i < len(pairs):
        t = pairs[i][0]
        while i < len(pairs) and pairs[i][0] == t:  # a threshold takes all its ties
            tp += bool(pairs[i][1])
            fp += not pairs[i][1]
            i += 1
        f = _f1(tp, fp, pos - tp)
        if f > best:
            best, best_t = f, t
    return best, best_t


# --------------------------------------------------------------------------
# Spans


def _bounds(s: Any) -> tuple[int, int]:
    if hasattr(s, "start") and hasattr(s, "end"):
        return int(s.start), int(s.end)
    if isinstance(s, dict):
        return int(s["start"]), int(s["end"])
    a, b = s
    return int(a), int(b)


def span_counts(predicted: Iterable[Any], true: Iterable[Any]) -> tuple[int, int, int, int]:
    """(correct predicted, predicted, found true, true) for micro-averaging.

    Spans are ``(start, end)`` pairs, or objects with ``start``/``end`` (such
    as :class:`unspin.records.Span`), end exclusive.  A predicted span is
    correct when it overlaps some true span; a true span is found when some
    predicted span overlaps it.

    >>> span_counts([(0, 5), (10, 12)], [(3, 8), (20, 25)])
    (1, 2, 1, 2)
    """
    p = sorted(_bounds(s) for s in predicted)
    t = sorted(_bounds(s) for s in true)

    def overlapping(xs: list[tuple[int, int]], ys: list[tuple[int, int]]) -> int:
        # Sorted sweep over ys for each x: O((n + m) log) for typical inputs.
        hits = 0
        j = 0
        for a, b in xs:
            while j < len(ys) and ys[j][1] <= a:
                j += 1
            k = j
            while k < len(ys) and ys[k][0] < b:
                if ys[k][1] > a:
                    hits += 1
                    break
                k += 1
        return hits

    # ys sorted by start; skipping ys that end before a is safe only if ends
    # are monotone, which holds for non-overlapping span lists.  For general
    # lists fall back to the direct check.
    if _disjoint(p) and _disjoint(t):
        return overlapping(p, t), len(p), overlapping(t, p), len(t)
    correct = sum(1 for a, b in p if any(c < b and a < d for c, d in t))
    found = sum(1 for c, d in t if any(a < d and c < b for a, b in p))
    return correct, len(p), found, len(t)


def _disjoint(spans: list[tuple[int, int]]) -> bool:
    return all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))


def prf(correct: int, n_pred: int, found: int, n_true: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from :func:`span_counts` (or their sums).

    An empty prediction is vacuously precise (1.0) and an empty truth is
    vacuously recalled (1.0); F1 is 0.0 unless both are positive.

    >>> prf(0, 0, 0, 0)
    (1.0, 1.0, 1.0)
    """
    p = correct / n_pred if n_pred else 1.0
    r = found / n_true if n_true else 1.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return p, r, f


def span_prf(predicted: Iterable[Any], true: Iterable[Any]) -> tuple[float, float, float]:
    """Precision, recall, F1 of predicted spans against true spans, by overlap.

    >>> span_prf([(0, 5), (10, 12)], [(3, 8), (20, 25)])
    (0.5, 0.5, 0.5)
    >>> span_prf([], [(0, 3)])
    (1.0, 0.0, 0.0)
    """
    return prf(*span_counts(predicted, true))
