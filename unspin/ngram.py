"""Word and bigram frequencies: the evidence ``--fast`` mode uses instead of the LM.

Bigram counts come from the frequency dictionary shipped in the ``symspellpy``
wheel (``frequency_bigramdictionary_en_243_342.txt``: 243,342 lower-case
bigrams with Google Books counts, one ``w1 w2 count`` per line).  Unigram
frequencies come from ``wordfreq`` (Zipf scale).  The score of a word in
context is a stupid-backoff estimate (Brants et al. 2007): the bigram's
relative frequency when the bigram is listed, else 0.4 times the unigram
probability.  It is crude, but it is cheap, and it is only asked to compare
two words in the same slot.
"""
from __future__ import annotations

import importlib.util
import math
from functools import lru_cache
from pathlib import Path

BACKOFF = math.log(0.4)
BIGRAM_FILE = "frequency_bigramdictionary_en_243_342.txt"


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[tuple[str, str], float], dict[str, float], dict[str, float]]:
    """Bigram counts, each left word's total, and wordfreq's word frequencies."""
    from wordfreq import get_frequency_dict

    spec = importlib.util.find_spec("symspellpy")
    if spec is None or not spec.origin:
        raise RuntimeError("symspellpy is not installed: pip install symspellpy")
    path = Path(spec.origin).with_name(BIGRAM_FILE)
    counts: dict[tuple[str, str], float] = {}
    left_tot: dict[str, float] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) != 3:
                continue
            a, b, c = parts[0], parts[1], float(parts[2])
            counts[(a, b)] = c
            left_tot[a] = left_tot.get(a, 0.0) + c
    # The same arguments as wordfreq's own lookups use, so the language check
    # (unspin.text.english_share) shares this dict instead of loading another.
    return counts, left_tot, get_frequency_dict("en", "best")


@lru_cache(maxsize=1)
def _bigram_logps() -> dict[tuple[str, str], float]:
    """log P(b | a) for every listed bigram, computed once: a lookup is then
    all a listed bigram costs."""
    counts, left_tot, _ = _tables()
    log = math.log
    return {k: log(c / left_tot[k[0]]) for k, c in counts.items()}


def load() -> None:
    """Read the tables now (a second or two), not at the first lookup."""
    _tables()
    _bigram_logps()


@lru_cache(maxsize=200_000)
def unigram_logp(w: str) -> float:
    """Natural-log unigram probability, floored at 1e-9 for unknown words.

    >>> unigram_logp("the") > unigram_logp("fastidiously")
    True
    """
    f = _tables()[2].get(w.lower(), 0.0)
    return math.log(max(f, 1e-9))


@lru_cache(maxsize=500_000)
def bigram_logp(left: str, w: str) -> float:
    """log P(w | left) by stupid backoff.

    >>> bigram_logp("last", "month") > bigram_logp("final", "month")
    True
    """
    a, b = left.lower(), w.lower()
    lp = _bigram_logps().get((a, b))
    if lp is not None:
        return lp
    return BACKOFF + unigram_logp(b)


def phrase_logp(words: list[str], left: str | None, right: str | None) -> float:
    """Log-probability of ``words`` between ``left`` and ``right`` neighbours
    (see :func:`phrase_logps`).

    >>> phrase_logp(["last", "month"], "visits", "and") > phrase_logp(["final", "month"], "visits", "and")
    True
    """
    return phrase_logps([words], left, right)[0]


def phrase_logps(phrases: list[list[str]], left: str | None, right: str | None) -> list[float]:
    """Log-probability of each of ``phrases`` between the same neighbours:
    the sum of :func:`bigram_logp` over its word pairs, the left neighbour's
    included (:func:`unigram_logp` for a first word without one), and the
    pair its last word makes with the right neighbour.

    One call scores a slot's form and all its candidates: the neighbours are
    lower-cased once and the bigram table is read directly, without
    :func:`bigram_logp`'s per-pair cache.
    """
    get = _bigram_logps().get
    uni = unigram_logp
    first = left.lower() if left else None
    last = right.lower() if right is not None else None
    out = []
    for words in phrases:
        lp = 0.0
        prev = first
        for w in words:
            w = w.lower()
            if prev is None:
                lp += uni(w)
            else:
                x = get((prev, w))
                lp += x if x is not None else BACKOFF + uni(w)
            prev = w
        if last is not None and prev is not None:
            x = get((prev, last))
            lp += x if x is not None else BACKOFF + uni(last)
        out.append(lp)
    return out
