"""Detection: is this document spun, and where?

How it was designed
-------------------
A spinner leaves two traces that clean text does not: words and phrases that
a reverse lexicon knows as spinner output, and, at those places, a much more
natural alternative that the language model prefers by a wide margin ("for an
official go to." vs "for an official visit.").  Clean text has lexicon matches
too ("stated", "financial institution" are English), but there the original
form is already the natural one, so the margin is small or negative.

So the evidence is the restorer's own decision score per slot (LM gain plus
channel prior, see ``unspin.restore``), taken once per distinct (form,
suggestion) pair (see :func:`evidence`) and summarised per document as
``pos_rate`` (pairs with a positive score per 100 words) and ``pos_mass``
(their summed score per 100 words).  A logistic model turns these into a
probability; its coefficients were fitted on the *train* split of the
synthetic benchmark (spun and clean documents, ``benchmarks/calibrate.py``)
so the probability is calibrated on text like it, and checked on the
held-out test split and the real pages by ``unspin bench``.  --fast's
document model is fitted with each clean text weighted 16 times
(``CLEAN_WEIGHT`` in benchmarks/calibrate.py): its n-gram evidence cannot
keep short clean texts apart as the language model's does, so its
probability is calibrated for a corpus in which about 1 text in 17 is
spun, not half.

Why it avoids false positives
-----------------------------
A single odd word never makes a document spun: the document model needs a
*rate* of strong slots, and span confidences are multiplied by the document
probability, so a clean document with one awkward phrase reports nothing.
Non-English text is reported as such and never scored.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from .config import DEFAULT, Config
from .records import Detection
from .text import norm

# Logistic coefficients per mode ("lm", "fast"): "doc" is (intercept, then
# one weight per doc_vector entry, of the kind named by "doc_vector"; "all"
# when absent); "span" likewise for span_vector.  Fitted by benchmarks/calibrate.py on the train split; the
# file records the provenance of each fit (date, documents, examples).
CALIBRATION_PATH = Path(__file__).with_name("data") / "calibration.json"


@lru_cache(maxsize=1)
def calibration() -> dict:
    cal = json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))
    if cal.get("format") != "unspin-calibration/1":
        raise RuntimeError(f"{CALIBRATION_PATH}: unknown calibration format")
    return cal


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _mode(config: Config) -> str:
    return "fast" if config.fast else "lm"


def span_vector(lm_gain: float, channel: float, source: str) -> list[float]:
    """The span model's inputs: LM (or n-gram) gain, channel score, and
    whether the pair came from the thesaurus, whose pairs are looser than the
    phrase tables' and need more evidence."""
    return [lm_gain, channel, 1.0 if source == "moby" else 0.0]


def span_confidence(lm_gain: float, channel: float, source: str, config: Config = DEFAULT) -> float:
    """P(slot was spun from its suggestion | its document is spun)."""
    # span_vector's terms written out (the same sum, in the same order):
    # called for every slot of a spun document.
    w0, w_gain, w_channel, w_moby = calibration()[_mode(config)]["span"]
    z = w0 + (w_gain * lm_gain + w_channel * channel + w_moby * (1.0 if source == "moby" else 0.0))
    return _sigmoid(z)


def evidence(proposals) -> list[float]:
    """The document's evidence: one score per distinct (observed form,
    suggestion) pair, its best.

    A slot's score is its pass-2 score where it has one, with the suggestion
    pass 2 scored (see unspin.restore._Proposal.doc_score): pass 3 may take
    a slot's runner-up, but the document model reads one hypothesis per
    slot.  A pair that recurs is one decision, not several: an article
    about a song says "tune" seven times and the lexicon's "tune" -> "song"
    fits each time, while a spinner's page shows many different pairs.
    Counted per slot, such repeats made clean documents on a single topic
    read as spun.
    """
    best: dict[tuple[str, str], float] = {}
    for p in proposals:
        if p.doc_score is None:
            x, sug = p.score, p.suggestion
        else:
            x, sug = p.doc_score, p.doc_suggestion or p.suggestion
        key = (norm(p.observed), norm(sug))
        if key not in best or x > best[key]:
            best[key] = x
    return list(best.values())


def features(proposals, words: int) -> dict[str, float]:
    w = max(words, 1)
    pos = [x for x in evidence(proposals) if x > 0]
    capped = [min(x, 20.0) for x in pos]
    return {
        "pos_rate": 100.0 * len(pos) / w,
        "pos_mass": 100.0 * sum(pos) / w,
        "n_pos": float(len(pos)),
        "capped_mass": sum(capped),
        "top_capped": max(capped, default=0.0),
        "words": float(words),
        "slots": float(len(proposals)),
    }


#: The document model's input vectors, by the name a calibration records.
DOC_VECTORS = ("all", "beyond_strongest")


def doc_vector(f: dict[str, float], kind: str = "all") -> list[float]:
    """The document model's inputs, shaped like a Poisson rate test: the
    count of positive slots and their (capped) summed score grow the odds,
    the number of words shrinks them.  So evidence must accumulate: one strong
    slot in a twenty-word sentence is what clean text also produces now and
    then ("the Soviet economic system"), while a page of them is not.

    ``kind`` "beyond_strongest" leaves the strongest pair out of the count
    and the sum: one odd phrase cannot make a text spun, however short the
    text, and only a second pair of evidence starts to.
    """
    if kind == "all":
        return [f["n_pos"], f["capped_mass"] / 10.0, f["words"] / 100.0]
    if kind == "beyond_strongest":
        return [max(f["n_pos"] - 1.0, 0.0), (f["capped_mass"] - f["top_capped"]) / 10.0, f["words"] / 100.0]
    raise ValueError(f"unknown document vector {kind!r}; expected one of {DOC_VECTORS}")


def document_probability(proposals, words, config: Config = DEFAULT):
    f = features(proposals, words)
    model = calibration()[_mode(config)]
    x = doc_vector(f, model.get("doc_vector", "all"))
    w = model["doc"]
    z = w[0] + sum(wi * xi for wi, xi in zip(w[1:], x))
    return _sigmoid(z), {k: round(v, 4) for k, v in f.items()}


def detect(text: str, config: Config = DEFAULT) -> Detection:
    """Calibrated probability that ``text`` is spun, and its suspicious spans.

    >>> d = detect("Putin is anticipated to go to Kazakhstan for an official go to. "
    ...            "The economic system at all times comes first, he stated.", Config(fast=True))
    >>> [s.suggestion for s in d.spans if s.text == "economic system"]
    ['economy']
    """
    from .restore import restore_and_explain

    return restore_and_explain(text, config).detection


def detect_many(texts, config: Config = DEFAULT):
    """Detection for many documents (the model loads once); input order."""
    from .restore import restore_many

    for r in restore_many(texts, config):
        yield r.detection
