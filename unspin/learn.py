"""Learning a spinner's substitutions from its output alone (``unspin learn``).

Free thesauri reach only part of what a spinner does; every spinner product
has its own table ("within the" for "in the", "12 months" for "year").  Given
a corpus of suspected spun documents, this module proposes table entries
``spun form -> original`` that a user can review and pass back to the engine
(``--table FILE``).

How entries are found
---------------------
1. *Counting* (one streaming pass; the documents are spooled to a temporary
   file for the second pass).  Every word n-gram of 1 to :attr:`max_n`
   words that does not cross punctuation or a line break is counted, with the
   number of documents it occurs in and how often it is capitalised inside a
   sentence (a name).
2. *Over-represented forms.*  A spinner writes its forms far more often than
   writers do.  A candidate spun form occurs in at least :attr:`min_docs`
   documents, at least :attr:`min_overrep` times more often than clean text
   predicts, and not in bursts (a topic word recurs within a document; a
   spinner's habit is spread out).  Clean text is the ``--reference``
   corpus, smoothed with built-in frequencies (``wordfreq`` for words, the
   ``symspellpy`` bigram counts for word pairs, chained for longer n-grams),
   or the built-in frequencies alone.  Forms are examined in order of
   *excess* occurrences (observed minus predicted): those that account for
   most of a spinner's edits first.
3. *Candidate originals* for each form: the engine's reverse lexicon, the
   Moby thesaurus read in full (both directions, phrases included, lemmas
   re-inflected: "utilized" finds "used"), the same words with a number
   spelled the other way ("the 2" -> "the two"), per-word thesaurus
   substitutions of multiword forms whose result is a known word pair
   ("irregular woodland" -> "random forest"), and (with the language model) the
   shorter runs of a multiword form's own words ("coronary heart" ->
   "heart"), words the bigram counts
   expect between the form's neighbours and the n-grams most
   under-represented in the suspects (:attr:`deficit_candidates`): a
   spinner's originals go missing ("one other" -> "another", "the place" ->
   "where", which no thesaurus lists).
4. *Mass balance.*  A spinner moves occurrences from the original to its
   form: the original must have lost a fair share of its occurrences
   (:data:`MIN_SHARE`) and must not be over-represented itself
   (:data:`MAX_ORIGINAL_OVERREP`), its occurrences inside the form not
   counted ("court" inside "court docket", :func:`_own_count`).  That
   share is also the channel prior log P(form | original) added to every
   gain below, so a frequent word
   ("in", "the") must read far better than a rare one to be chosen.  When
   the original is also under-represented by about the form's excess
   (:func:`_balance`), a lexicon or thesaurus candidate needs any gain,
   otherwise a larger one (:data:`MIN_GAIN_RELATED`); a candidate with no
   lexical tie to the form, or a shorter run of its own words (which reads
   better for its fewer tokens alone), always needs the largest
   (:data:`MIN_GAIN_UNRELATED`).  With ``--fast``
   the balance is required, as bigram scores are too weak to be the judge.
5. *Evidence in context.*  Each remaining candidate replaces the form in up
   to :attr:`contexts` sampled occurrences from distinct documents.  With the
   language model, a pre-score from one pass per context (the candidate's
   first token against the form's tokens, the rest of the candidate from the
   bigram counts) keeps the best :attr:`lm_candidates`, then both versions
   of each context window are scored (in stages: a candidate that can no
   longer win enough contexts is not scored further); with ``--fast`` the
   bigram model scores them.  A pair is kept when the original, prior
   included, reads better in at least :attr:`min_win` of the contexts and
   its gain, averaged without the best and the worst context
   (:func:`_trimmed_mean`), reaches the margin above.  An
   entry with no lexical tie is dropped when lexically related entries
   already account for all its original's missing occurrences
   (:func:`_drop_claimed`), and of two disagreeing entries where one form
   contains the other, the one that is not a habit of its own is dropped
   (:func:`_drop_redundant`).
6. *Confidence*: a logistic score of the share of winning contexts, the
   trimmed mean gain, the number of documents and the over-representation;
   it ranks entries for review.  ``unspin bench learn`` measures how precise
   the kept entries are.

Memory is bounded: counts are pruned of single-document n-grams when they
grow past :data:`MAX_KEYS`, and contexts are kept only for candidate forms.
"""
from __future__ import annotations

import hashlib
import heapq
import json
import math
import os
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator

from .config import Config
from .text import match_case, norm, sentences, tokenize

#: Counted n-grams kept in memory before single-document ones are pruned.
MAX_KEYS = 3_000_000

#: Pseudo-count (in tokens) of the built-in frequencies when a reference
#: corpus is given: the built-in rate is the prior, the reference the data.
PRIOR_TOKENS = 20_000

#: An original must have lost at least this share of its occurrences to the
#: form (see _share).
MIN_SHARE = 0.1

#: An original may be at most this many times more frequent in the suspects
#: than in clean text (beyond DEFICIT_Z standard deviations).
MAX_ORIGINAL_OVERREP = 2.0

#: An under-represented n-gram (see _deficits) lacks at least this share of
#: its clean-text count ...
MIN_DEFICIT = 0.25

#: ... and this many standard deviations of its expected count (Poisson).
DEFICIT_Z = 3.0

#: Accepted range of an original's deficit over its form's excess (see _balance).
BALANCE = (0.4, 8.0)

#: The trimmed mean gain (nats, prior included) a candidate needs (see _min_gain):
#: related by the lexicon or thesaurus, when the counts do not balance ...
MIN_GAIN_RELATED = 2.0

#: ... or with no lexical tie to the form (an under-represented n-gram, a
#: word the bigram counts expect there), balanced or not.  The language
#: model favours frequent words, and nothing else vouches for such a pair.
MIN_GAIN_UNRELATED = 5.0

#: Candidate sources with no lexical tie to the form (see _candidates).
UNTIED = ("deficit", "context")

#: Shares of a shorter entry's occurrences inside a longer entry that
#: decide which of two disagreeing entries stays (see _drop_redundant).
SOLE_SHARE = 0.9
MINORITY_SHARE = 0.5

#: Contexts after which the language model's verification stops for a
#: candidate that can no longer win min_win of them (see _lm_gains).
VERIFY_STAGES = (3, 5)

#: Observed context windows whose attention caches _lm_gains holds at once.
VERIFY_CHUNK = 512

#: Originals must be ordinary words (wordfreq Zipf scale).
MIN_ZIPF_ORIGINAL = 3.0

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen"
    " fourteen fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_ORDINALS = (
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh"
    " twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth"
    " nineteenth twentieth"
).split()
_SUFFIX = {1: "st", 2: "nd", 3: "rd"}

#: A number as digits and as words, both ways: spinners swap them ("the
#: two" -> "the 2", "the second" -> "the 2nd", "four" -> "4").
NUMBER_SPELLINGS: dict[str, str] = {}
for _n, (_card, _ord) in enumerate(zip(_UNITS, _ORDINALS)):
    _th = _SUFFIX.get(_n % 10, "th") if _n not in (11, 12, 13) else "th"
    NUMBER_SPELLINGS.update({str(_n): _card, _card: str(_n), f"{_n}{_th}": _ord, _ord: f"{_n}{_th}"})


@dataclass(frozen=True)
class LearnOptions:
    #: Score candidates with bigram counts only, not the language model.
    #: Much less precise (``bench learn``: about a quarter of the entries
    #: right, and many proposed from clean text), so the CLI does not offer
    #: it; the stages can be exercised quickly with it.
    fast: bool = False
    #: A spun form must occur in at least this many documents.
    min_docs: int = 5
    #: Longest spun form, in words.
    max_n: int = 4
    #: A spun form must be at least this many times more frequent than in
    #: clean text, and than its original is relative to clean text.
    min_overrep: float = 1.75
    #: Occurrences (from distinct documents) each candidate is tried in.
    contexts: int = 8
    #: A form occurring on average more than this many times per document
    #: it occurs in is a topic word ("alkali" in a chemistry page), not a
    #: spinner's habit.
    max_burst: float = 2.5
    #: Share of those contexts where the original must read better.
    min_win: float = 0.625
    #: Entries below this confidence are not proposed.
    min_confidence: float = 0.5
    #: At most this many over-represented forms are examined, those with the
    #: most excess occurrences first.
    max_forms: int = 2000
    #: Candidate originals per form verified by the language model.
    lm_candidates: int = 3
    #: The most under-represented n-grams tried as candidate originals of
    #: every form (with the language model).
    deficit_candidates: int = 1000
    #: Engine configuration whose lexicon proposes candidates (tables,
    #: thesaurus, withhold).
    engine: Config = field(default_factory=Config)
    #: Random seed for sampling contexts (results are deterministic).
    seed: int = 0


@dataclass
class Learned:
    """One proposed table entry and its evidence."""

    spun: str
    original: str
    count: int  # occurrences of the spun form in the suspects
    docs: int  # documents it occurs in
    confidence: float
    gain: float  # log-probability gain of the original per context, trimmed mean
    win: float  # share of contexts where the original reads better
    overrep: float  # log rate ratio, suspects vs clean text
    overrep_original: float
    origin: str  # lexicon | thesaurus | number | part | context | deficit: where the candidate came from
    scorer: str  # lm | ngram
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class LearnResult:
    entries: list[Learned]
    documents: int
    words: int
    forms_examined: int
    seconds: float
    reference_documents: int = 0


# --------------------------------------------------------------------------
# Counting


def _runs(text: str) -> Iterator[tuple[list[str], list[bool], list[tuple[int, int]], int, int]]:
    """Runs of words joined only by spaces or tabs, per sentence.

    Yields (normalised words, capitalised-as-a-name flags, char spans,
    sentence start, sentence end).
    """
    for s, e in sentences(text):
        toks = tokenize(text[s:e], offset=s)
        first_word = True
        run_w: list[str] = []
        run_c: list[bool] = []
        run_s: list[tuple[int, int]] = []
        prev_end = None
        for t in toks:
            if not t.is_word:
                if run_w:
                    yield run_w, run_c, run_s, s, e
                run_w, run_c, run_s = [], [], []
                prev_end = None
                continue
            gap = text[prev_end : t.start] if prev_end is not None else ""
            if prev_end is not None and (not gap or gap.strip(" \t")):
                if run_w:
                    yield run_w, run_c, run_s, s, e
                run_w, run_c, run_s = [], [], []
            w = t.text
            upper = any(c.isupper() for c in w)
            name = upper and not (first_word and w[0].isupper() and not any(c.isupper() for c in w[1:]))
            first_word = False
            run_w.append(norm(w))
            run_c.append(name)
            run_s.append((t.start, t.end))
            prev_end = t.end
        if run_w:
            yield run_w, run_c, run_s, s, e


class _Counts:
    """n-gram counts, document frequencies and name counts over a stream."""

    def __init__(self, max_n: int):
        self.max_n = max_n
        self.count: Counter[str] = Counter()
        self.df: Counter[str] = Counter()
        self.names: Counter[str] = Counter()
        self.tokens = 0
        self.docs = 0

    def add(self, text: str) -> None:
        self.docs += 1
        seen: set[str] = set()
        for words, caps, _, _, _ in _runs(text):
            self.tokens += len(words)
            for i in range(len(words)):
                for n in range(1, self.max_n + 1):
                    if i + n > len(words):
                        break
                    k = " ".join(words[i : i + n])
                    self.count[k] += 1
                    if any(caps[i : i + n]):
                        self.names[k] += 1
                    seen.add(k)
        for k in seen:
            self.df[k] += 1
        if len(self.count) > MAX_KEYS:
            self._prune()

    def _prune(self) -> None:
        for k in [k for k, d in self.df.items() if d <= 1]:
            del self.df[k]
            self.count.pop(k, None)
            self.names.pop(k, None)


# --------------------------------------------------------------------------
# Clean-text rates


@lru_cache(maxsize=1)
def _bigram_index() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Most frequent successors and predecessors of each word in the bigram counts."""
    from .ngram import _tables

    counts = _tables()[0]
    succ: dict[str, list[tuple[float, str]]] = defaultdict(list)
    pred: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (a, b), c in counts.items():
        succ[a].append((c, b))
        pred[b].append((c, a))
    top = 40
    return (
        {a: [w for _, w in sorted(v, reverse=True)[:top]] for a, v in succ.items()},
        {b: [w for _, w in sorted(v, reverse=True)[:top]] for b, v in pred.items()},
    )


def _builtin_logp(words: tuple[str, ...]) -> float:
    """log of the per-token rate of an n-gram in general English (built-in counts)."""
    from .ngram import bigram_logp, unigram_logp

    lp = unigram_logp(words[0])
    for a, b in zip(words, words[1:]):
        lp += bigram_logp(a, b)
    return lp


class _Reference:
    def __init__(self, counts: _Counts | None):
        self.counts = counts

    def logp(self, key: str) -> float:
        words = tuple(key.split(" "))
        b = _builtin_logp(words)
        c = self.counts
        if c is None or c.tokens == 0:
            return b
        return math.log((c.count.get(key, 0) + PRIOR_TOKENS * math.exp(b)) / (c.tokens + PRIOR_TOKENS))


def _overrep(key: str, sus: _Counts, ref: _Reference, count: float | None = None) -> float:
    """log(rate in the suspects / rate in clean text); ``count`` replaces the
    n-gram's count in the suspects (see _own_count)."""
    if count is None:
        count = sus.count.get(key, 0)
    return math.log((count + 0.5) / max(sus.tokens, 1)) - ref.logp(key)


def _expected(key: str, sus: _Counts, ref: _Reference) -> float:
    """How often clean text of the suspects' size would have the n-gram."""
    return sus.tokens * math.exp(ref.logp(key))


# --------------------------------------------------------------------------
# Contexts


@dataclass
class _Context:
    doc: int
    sentence: str
    a: int  # the form's offsets in the sentence
    b: int
    left: str | None
    right: str | None

    @property
    def observed(self) -> str:
        return self.sentence[self.a : self.b]

    def with_(self, replacement: str) -> str:
        return self.sentence[: self.a] + replacement + self.sentence[self.b :]

    def example(self, width: int = 60) -> str:
        lo = max(0, self.a - width)
        hi = min(len(self.sentence), self.b + width)
        s = ("…" if lo else "") + self.sentence[lo : self.a] + "[" + self.observed + "]"
        s += self.sentence[self.b : hi] + ("…" if hi < len(self.sentence) else "")
        return " ".join(s.split())


def _collect_contexts(
    texts: Iterable[str], forms: set[str], max_n: int, k: int, seed: int
) -> dict[str, list[_Context]]:
    """Up to ``k`` occurrences of each form, one per document.

    Each (form, document) pair draws a priority from a hash of the seed, the
    form and the document's position, and each form keeps its ``k`` lowest:
    a form's sample does not depend on which other forms are sampled."""
    heaps: dict[str, list[tuple[int, int, _Context]]] = defaultdict(list)  # max-heaps by -priority
    for di, text in enumerate(texts):
        hit: dict[str, _Context] = {}
        for words, caps, spans, s, e in _runs(text):
            for i in range(len(words)):
                for n in range(1, max_n + 1):
                    if i + n > len(words):
                        break
                    key = " ".join(words[i : i + n])
                    if key not in forms or key in hit or any(caps[i : i + n]):
                        continue
                    left = words[i - 1] if i > 0 else None
                    right = words[i + n] if i + n < len(words) else None
                    a, b = spans[i][0] - s, spans[i + n - 1][1] - s
                    hit[key] = _Context(di, text[s:e], a, b, left, right)
        for key, ctx in hit.items():
            pri = _priority(seed, key, di)
            h = heaps[key]
            if len(h) < k:
                heapq.heappush(h, (-pri, di, ctx))
            elif pri < -h[0][0]:
                heapq.heapreplace(h, (-pri, di, ctx))
    return {key: [c for _, _, c in sorted(h, reverse=True)] for key, h in heaps.items()}


def _priority(seed: int, form: str, doc: int) -> int:
    digest = hashlib.blake2b(f"{seed}\0{form}\0{doc}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# --------------------------------------------------------------------------
# Candidate originals


def _zipf(phrase: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(phrase, "en")


def _lemmas(word: str) -> dict[str, str]:
    """lemma -> the inflection tag ``word`` has as a form of it (or "")."""
    from lemminflect import getAllLemmas

    from .lexicon import _inflections

    out = {word: ""}
    for lems in getAllLemmas(word).values():
        for lem in lems:
            if lem == word:
                continue
            tag = next((t for t, f in _inflections(lem).items() if f == word), None)
            if tag:
                out[lem] = tag
    return out


def _moby_related(forms: set[str]) -> dict[str, set[str]]:
    """Every Moby relation of each form (and of each word of a multiword
    form), both directions, phrases included.  Moby lists lemmas, so an
    inflected word ("utilized") is looked up by its lemma ("utilize") and its
    relatives are inflected the same way ("used")."""
    from .lexicon import _inflections, _moby_path

    words = {w for f in forms for w in f.split(" ")} | forms
    lemma_of: dict[str, dict[str, str]] = {}
    for w in words:
        lemma_of[w] = _lemmas(w) if " " not in w else {w: ""}
    want: dict[str, list[tuple[str, str]]] = defaultdict(list)  # lemma -> (word, tag)
    for w, lems in lemma_of.items():
        for lem, tag in lems.items():
            want[lem].append((w, tag))
    rel_lemma: dict[str, set[str]] = defaultdict(set)
    with open(_moby_path(), encoding="latin-1") as fh:
        for line in fh:
            parts = [p.strip().lower() for p in line.rstrip("\n").split(",")]
            head, items = parts[0], parts[1:]
            if head in want:
                rel_lemma[head].update(items)
            for it in items:
                if it in want:
                    rel_lemma[it].add(head)
    rel: dict[str, set[str]] = defaultdict(set)
    for lem, related in rel_lemma.items():
        for w, tag in want[lem]:
            if not tag:
                rel[w].update(related)
                continue
            for r in related:
                if " " in r:
                    continue
                f = _inflections(r).get(tag)
                if f:
                    rel[w].add(f)
                    if tag == "NNS":
                        # A plural's relative may be a collective or mass
                        # noun in the singular ("authorities" for "government").
                        rel[w].add(r)
    return rel


def _candidates(
    form: str,
    ctxs: list[_Context],
    lex,
    moby: dict[str, set[str]],
    lm: bool = True,
) -> dict[str, str]:
    """original -> where it came from (lexicon, thesaurus, number, part, context).

    Part and context candidates are proposed only when the language model
    will score them (``lm``): the bigram scorer prefers any shorter
    phrase for its fewer tokens, and would shorten "met within the city"
    to "met"."""
    from .ngram import _tables

    out: dict[str, str] = {}
    for e in lex.reverse(form):
        out.setdefault(norm(e.original), "lexicon")
    for o in moby.get(form, ()):
        out.setdefault(o, "thesaurus")
    words = form.split(" ")
    for i, w in enumerate(words):
        if w in NUMBER_SPELLINGS:
            out.setdefault(" ".join(words[:i] + [NUMBER_SPELLINGS[w]] + words[i + 1 :]), "number")
    if lm:
        # A spinner may lengthen a word ("heart" -> "coronary heart", "court"
        # -> "court docket"): every shorter run of the form's own words.
        for n in range(1, len(words)):
            for i in range(len(words) - n + 1):
                out.setdefault(" ".join(words[i : i + n]), "part")
    if len(words) > 1:
        # One word swapped for a thesaurus relative, when the result is a
        # known word pair ("irregular woodland" -> "random forest").
        bigrams = _tables()[0]
        options = [[w] + sorted(moby.get(w, ())) for w in words]
        partial = [[]]  # type: list[list[str]]
        for i, opts in enumerate(options):
            nxt = []
            for p in partial:
                for o in opts:
                    if " " in o:
                        continue
                    if p and (p[-1], o) not in bigrams:
                        continue
                    nxt.append(p + [o])
            partial = nxt[:200]
        for p in partial:
            o = " ".join(p)
            if o != form:
                out.setdefault(o, "thesaurus")
    if not lm or not form.replace(" ", "").isalpha():
        return _ordinary(out, form)
    # Words the bigram counts expect between the form's neighbours.
    succ, pred = _bigram_index()
    support: Counter[str] = Counter()
    for c in ctxs:
        s = set(succ.get(c.left, ())) if c.left else None
        p = set(pred.get(c.right, ())) if c.right else None
        pool = (s & p) if (s is not None and p is not None) else (s or p or set())
        support.update(pool)
    need = max(2, len(ctxs) // 4)
    # Ties broken by the word, not by set order (which changes with
    # PYTHONHASHSEED from one run to the next).
    for o, n in sorted(support.items(), key=lambda x: (-x[1], x[0]))[:12]:
        if n >= need:
            out.setdefault(o, "context")
    return _ordinary(out, form)


def _ordinary(cands: dict[str, str], form: str) -> dict[str, str]:
    cands.pop(form, None)
    return {
        o: src
        for o, src in cands.items()
        if o.replace(" ", "").replace("'", "").replace("-", "").isalnum()
        and _zipf(o) >= MIN_ZIPF_ORIGINAL
        and not _lone_letter(o)
    }


def _lone_letter(phrase: str) -> bool:
    """Whether a word of the phrase is a single letter other than "a" and
    "i": an initial ("j" of "J. Smith"), never a spinner's original."""
    return any(len(w) == 1 and w.isalpha() and w not in "ai" for w in phrase.split(" "))


# --------------------------------------------------------------------------
# Evidence


def _own_count(original: str, form: str, sus: _Counts) -> int:
    """The original's occurrences in the suspects outside the form: where a
    spinner writes "court docket" for "court", every "court docket" is also
    counted as a "court", which would hide the original's deficit."""
    count = sus.count.get(original, 0)
    inside = f" {form} ".count(f" {original} ")
    return max(count - inside * sus.count.get(form, 0), 0)


def _share(original: str, form: str, excess: float, sus: _Counts) -> float:
    """The share of the original's occurrences the spinner would have moved
    to the form: its excess over (excess + the original's own count in the
    suspects).  Counted in the suspects alone, so it does not depend on how
    well the reference matches their topics."""
    return excess / (excess + _own_count(original, form, sus)) if excess > 0 else 0.0


def _plausible(original: str, form: str, excess: float, sus: _Counts, ref: _Reference) -> bool:
    """Whether the original could have supplied the form's excess.

    A spinner moves occurrences from the original to its form, so the
    original must have lost a fair share of them (:data:`MIN_SHARE`): "in"
    (thousands of uses) cannot be where 100 uses of "amongst" came from.
    And it must not be clearly over-represented itself
    (:data:`MAX_ORIGINAL_OVERREP`), nor as over-represented as the form.  How
    much it is under-represented is not asked: a word's rate varies between
    corpora by topic far more than by what a spinner takes ("said" in news
    against encyclopaedic text).
    """
    if _share(original, form, excess, sus) < MIN_SHARE:
        return False
    count = _own_count(original, form, sus)
    if _overrep(original, sus, ref, count) >= _overrep(form, sus, ref):
        return False
    expected = _expected(original, sus, ref)
    return count <= MAX_ORIGINAL_OVERREP * expected + DEFICIT_Z * math.sqrt(expected)


def _balance(original: str, form: str, excess: float, sus: _Counts, ref: _Reference) -> float | None:
    """How much of the form's excess the original's deficit accounts for.

    A spinner moves occurrences from the original to its form: the form is
    seen ``excess`` times more than clean text predicts, and the original
    about as many times less.  Returns deficit / excess when the original is
    under-represented and the two amounts agree within :data:`BALANCE`
    (several forms may share one original, so the deficit may be larger);
    None otherwise.  A word that is rare in the suspects for other reasons
    (pronouns in encyclopaedic text) has a deficit far larger than the excess.
    The reference's rates vary with its topics, so this is evidence for a
    pair (see _min_gain), not a requirement.
    """
    if excess <= 0:
        return None
    deficit = _deficit(original, sus, ref, count=_own_count(original, form, sus))
    if deficit is None:
        return None
    ratio = deficit / excess
    lo, hi = BALANCE
    return ratio if lo <= ratio <= hi else None


def _deficit(
    key: str, sus: _Counts, ref: _Reference, expected: float | None = None, count: float | None = None
) -> float | None:
    """How many occurrences of the n-gram are missing from the suspects,
    when clearly more than chance; None otherwise.  ``count`` replaces the
    n-gram's count in the suspects (see _own_count)."""
    if expected is None:
        expected = _expected(key, sus, ref)
    if count is None:
        count = sus.count.get(key, 0)
    deficit = expected - count
    if deficit <= 0:
        return None
    if deficit < MIN_DEFICIT * expected:
        return None  # within the noise of a frequent word's rate
    if deficit < DEFICIT_Z * math.sqrt(expected):
        return None  # within the noise of a rare word's count
    return deficit


def _channel(original: str, form: str, excess: float, sus: _Counts) -> float:
    """log P(form | original): the channel prior added to every gain, so
    that a frequent original must read much better than a rare one."""
    return math.log(max(_share(original, form, excess, sus), 1e-9))


def _deficits(sus: _Counts, ref: _Reference, k: int) -> list[str]:
    """The ``k`` n-grams (1 to 3 words) most under-represented in the
    suspects: where a spinner's forms came from.  They are candidate
    originals for every form, for the spinner habits no thesaurus lists
    ("one other" -> "another", "the place" -> "where")."""
    keys = {key for key, c in sus.count.items() if c >= 5}
    if ref.counts is not None:
        keys.update(key for key, c in ref.counts.count.items() if c >= 3)
    out = []
    for key in keys:
        if key.count(" ") > 2 or not key.replace(" ", "").replace("'", "").isalpha():
            continue
        expected = _expected(key, sus, ref)
        if expected < 10:
            continue
        deficit = _deficit(key, sus, ref, expected)
        if deficit is None or _zipf(key) < MIN_ZIPF_ORIGINAL or _lone_letter(key):
            continue
        out.append((deficit, key))
    out.sort(key=lambda x: (-x[0], x[1]))
    return [key for _, key in out[:k]]


def _min_gain(source: str, balanced: bool) -> float:
    """The trimmed mean gain a candidate needs.

    A candidate with no lexical tie to the form (an under-represented
    n-gram, a word the bigram counts expect there) needs
    :data:`MIN_GAIN_UNRELATED` whatever the counts say: an under-represented
    n-gram balances some form's excess almost by construction.  A lexicon,
    thesaurus or number candidate needs any gain when its deficit matches the
    form's excess (_balance), :data:`MIN_GAIN_RELATED` otherwise.  A shorter run
    of the form's own words ("part") reads better for its fewer tokens
    alone ("assistive technology" -> "technology"), so it needs
    :data:`MIN_GAIN_UNRELATED` too."""
    if source in UNTIED or source == "part":
        return MIN_GAIN_UNRELATED
    return 0.0 if balanced else MIN_GAIN_RELATED


def _continuation(original: str, form: str, right: str | None) -> float:
    """What the pre-score's first token leaves out, from the bigram counts:
    the rest of a multiword original, and how each side joins the right
    neighbour."""
    from .ngram import bigram_logp

    ow, fw = original.split(" "), form.split(" ")
    lp = sum(bigram_logp(a, b) for a, b in zip(ow, ow[1:]))
    if right is not None:
        lp += bigram_logp(ow[-1], right) - bigram_logp(fw[-1], right)
    return lp


def _completion(sc, original: str) -> float:
    """log P(rest of the first word | its first token), estimated from word
    frequencies: the pre-score reads only a candidate's first token, and
    " android" begins with the token " and"."""
    word = original.split(" ")[0]
    a, b = sc.encode(" " + word)[1][0]
    return _completion_lp((" " + word)[a:b].strip().lower(), word.lower())


@lru_cache(maxsize=100_000)
def _completion_lp(token: str, word: str) -> float:
    from .ngram import unigram_logp

    if not token or token == word:
        return 0.0
    return min(0.0, unigram_logp(word) - unigram_logp(token))


def _ngram_gains(form: str, original: str, ctxs: list[_Context]) -> list[float]:
    """Bigram log-probability gain of the original over the form, per context."""
    from .ngram import phrase_logp

    fw, ow = form.split(" "), original.split(" ")
    return [phrase_logp(ow, c.left, c.right) - phrase_logp(fw, c.left, c.right) for c in ctxs]


def _lm_gains(
    pairs: list[tuple[str, str, list[_Context]]], batch_size: int, min_win: float = 0.0
) -> list[list[float]]:
    """Language-model gain of each original over its form, per context.

    Each context window is scored once as observed and once per original.
    An original's window reads like the observed one up to the form, so it
    runs the model only from there, on the observed window's attention cache
    (``Scorer.score``'s ``keep`` and ``prefixes``): the shared tokens'
    log-probabilities are the same on both sides and cancel.  The contexts
    are scored in stages (:data:`VERIFY_STAGES`): a pair that has lost so
    many contexts that it can no longer win ``min_win`` of them is not
    scored further, and its list stops there (its share of wins is then
    below ``min_win`` too), so the outcome is the same as scoring all.
    """
    from .lm import get_scorer
    from .restore import _shared

    sc = get_scorer()
    out: list[list[float]] = [[] for _ in pairs]
    live = list(range(len(pairs)))
    done = 0
    for stage in (*VERIFY_STAGES, None):
        observed: dict[tuple[int, int, int], list[int]] = {}  # (sentence id, a, b) -> token ids
        jobs: list[tuple[int, tuple[int, int, int], list[int]]] = []  # (pair, observed key, variant)
        for i in live:
            form, original, ctxs = pairs[i]
            for c in ctxs[done:stage]:
                key = (id(c.sentence), c.a, c.b)
                if key not in observed:
                    observed[key] = [sc.bos_id] + sc.encode(_window(c.sentence, c.a, c.b)[0])[0]
                rep = match_case(original, c.observed)
                jobs.append((i, key, [sc.bos_id] + sc.encode(_window(c.with_(rep), c.a, c.a + len(rep))[0])[0]))
        # In chunks of observed windows, so that few attention caches are
        # held at once (23 KB a token).
        keys = list(observed)
        for c0 in range(0, len(keys), VERIFY_CHUNK):
            ks = keys[c0 : c0 + VERIFY_CHUNK]
            row = {key: r for r, key in enumerate(ks)}
            js = [j for j, (_, key, _) in enumerate(jobs) if key in row]
            # Tokens of each observed window's cache its variants can read.
            shared = {j: _shared(observed[jobs[j][1]], jobs[j][2]) for j in js}
            keep_n = [0] * len(ks)
            for j in js:
                r = row[jobs[j][1]]
                keep_n[r] = max(keep_n[r], shared[j])
            base = sc.score([observed[k] for k in ks], batch_size=batch_size, keep=lambda r, _: keep_n[r])
            sums = [float(b.token_lp.sum()) for b in base]
            prefixes = [(base[row[jobs[j][1]]], shared[j]) if shared[j] else None for j in js]
            var = sc.score([jobs[j][2] for j in js], batch_size=batch_size, prefixes=prefixes)
            for j, v in zip(js, var):
                i, key, _ = jobs[j]
                out[i].append(float(v.token_lp.sum()) - sums[row[key]])
            del base, var, prefixes
        if stage is None:
            break
        done = stage
        # Still able to win min_win of its contexts if it wins all the rest?
        live = [
            i
            for i in live
            if len(pairs[i][2]) > done
            and sum(x > 0 for x in out[i]) + len(pairs[i][2]) - done >= min_win * len(pairs[i][2])
        ]
    return out


def _lm_prescores(
    items: list[tuple[str, list[_Context], list[str]]], batch_size: int
) -> list[dict[str, float]]:
    """Per form, each candidate's mean pre-score over the form's contexts:
    log P(candidate's first token) - log P(the form's tokens), both after the
    same left context, from one scoring pass per context (as the restorer's
    pass 1 does)."""
    from .lm import get_scorer
    from .restore import _tok_range

    sc = get_scorer()
    seqs, wants, metas = [], [], []
    for form, ctxs, cands in items:
        for c in ctxs:
            w, a = _window(c.sentence, c.a, c.b)
            ids, offs = sc.encode(w)
            rng = _tok_range(offs, a, a + len(c.observed))
            if rng is None:
                metas.append(None)
                continue
            fk, lk = rng
            # The model reads left to right: the tokens after the form
            # change nothing here, so they are not run.
            seqs.append([sc.bos_id] + ids[: lk + 1])
            space = offs[fk][0] == a - 1
            firsts = {o: sc.first_token((" " if space else "") + match_case(o, c.observed)) for o in cands}
            wants.append({fk: set(firsts.values())})
            metas.append((fk, lk, firsts))
    res = iter(sc.score(seqs, wants, batch_size=batch_size))
    out: list[dict[str, float]] = []
    k = 0
    for form, ctxs, cands in items:
        tot: dict[str, list[float]] = {o: [] for o in cands}
        completion = {o: _completion(sc, o) for o in cands}
        for c in ctxs:
            m = metas[k]
            k += 1
            if m is None:
                continue
            r = next(res)
            fk, lk, firsts = m
            obs = float(r.token_lp[fk : lk + 1].sum())
            for o, tid in firsts.items():
                v = r.gathered.get((fk, tid))
                if v is not None:
                    v += _continuation(o, form, c.right) + completion[o]
                    tot[o].append(v - obs)
        out.append({o: sum(v) / len(v) for o, v in tot.items() if v})
    return out


def _trimmed_mean(gains: list[float]) -> float:
    """The mean gain without the best and the worst context (of 5 or more).

    A spun form is sometimes also the writer's own word: "throughout" for
    "during", but also "throughout the country", where "during" reads far
    worse.  One such context should not sink an entry that wins the others,
    nor one lucky context carry an entry that does not.

    >>> _trimmed_mean([-10.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    3.5
    >>> _trimmed_mean([1.0, 3.0])
    2.0
    """
    if len(gains) < 5:
        return sum(gains) / len(gains) if gains else 0.0
    kept = sorted(gains)[1:-1]
    return sum(kept) / len(kept)


def _window(sentence: str, a: int, b: int, words: int = 12) -> tuple[str, int]:
    """The sentence around [a, b), at most ``words`` words each side, and
    where ``a`` falls in it."""
    # The piece touching the slot (usually "") is kept besides ``words`` words.
    left = " ".join(sentence[:a].split(" ")[-(words + 1) :])
    right = " ".join(sentence[b:].split(" ")[: words + 1])
    return left + sentence[a:b] + right, len(left)


def _confidence(win: float, gain: float, docs: int, overrep: float) -> float:
    z = -6.0 + 5.0 * win + 0.8 * min(gain, 4.0) + 0.9 * math.log(docs) + 0.4 * min(overrep, 6.0)
    return 1.0 / (1.0 + math.exp(-z))


# --------------------------------------------------------------------------
# Driver


class _Spool:
    """The suspects written once to a temporary file, for a second pass."""

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="unspin-learn-", suffix=".jsonl")
        self.fh = os.fdopen(fd, "w", encoding="utf-8")
        self.n = 0

    def add(self, text: str) -> None:
        self.fh.write(json.dumps(text) + "\n")
        self.n += 1

    def __iter__(self) -> Iterator[str]:
        self.fh.flush()
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)

    def close(self) -> None:
        self.fh.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def learn(
    suspects: Iterable[str],
    reference: Iterable[str] | None = None,
    options: LearnOptions = LearnOptions(),
    progress: Callable[[str], None] | None = None,
) -> LearnResult:
    """Propose ``spun -> original`` entries from suspected spun documents.

    Corpus statistics need a corpus: here 3,000 copies of one spun sentence,
    and its clean version as reference.

    >>> spun = ["We met within the city and walked within the park."] * 3000
    >>> clean = ["We met in the city and walked in the park."] * 3000
    >>> r = learn(spun, clean, LearnOptions(fast=True))
    >>> [(e.spun, e.original, e.docs) for e in r.entries]
    [('within', 'in', 3000)]
    """
    from .lexicon import lexicon_for

    t0 = time.monotonic()
    say = progress or (lambda msg: None)
    sus = _Counts(options.max_n)
    spool = _Spool()
    try:
        for text in suspects:
            if not isinstance(text, str):
                raise TypeError(f"documents must be str, not {type(text).__name__}")
            sus.add(text)
            spool.add(text)
            if sus.docs % 500 == 0:
                say(f"counted {sus.docs:,} documents")
        ref_counts = None
        if reference is not None:
            ref_counts = _Counts(options.max_n)
            for text in reference:
                ref_counts.add(text)
        ref = _Reference(ref_counts)
        say(f"counted {sus.docs:,} documents, {sus.tokens:,} words")

        # Over-represented forms.
        forms = []
        for key, df in sus.df.items():
            if df < options.min_docs:
                continue
            if sus.names.get(key, 0) * 2 > sus.count[key]:
                continue
            if sus.count[key] > options.max_burst * df:
                continue
            if not any(ch.isalpha() for ch in key):
                continue
            ov = _overrep(key, sus, ref)
            if ov >= math.log(options.min_overrep):
                # Ranked by excess occurrences: the forms that account for
                # the most spinner edits come first.
                excess = sus.count[key] - _expected(key, sus, ref)
                forms.append((excess, key, ov))
        forms.sort(key=lambda x: (-x[0], x[1]))
        forms = forms[: options.max_forms]
        overrep = {k: ov for _, k, ov in forms}
        say(f"{len(forms):,} over-represented forms")

        ctxs = _collect_contexts(spool, set(overrep), options.max_n, options.contexts, options.seed)
        lex = lexicon_for(options.engine)
        moby = _moby_related(set(overrep)) if options.engine.thesaurus else {}

        # Plausible candidates, ranked by a cheap score plus the channel
        # prior: bigram gain (--fast) or the language model's pre-score.
        # A kept candidate: (original, source, channel prior, gain it needs).
        pool: list[tuple[str, list[_Context], list[tuple[str, str, float, float]]]] = []
        deficits = [] if options.fast else _deficits(sus, ref, options.deficit_candidates)
        for n_done, (excess, form, ov) in enumerate(forms, 1):
            cs = ctxs.get(form, [])
            if len(cs) < options.min_docs:
                continue
            cands = _candidates(form, cs, lex, moby, lm=not options.fast)
            for o in deficits:
                if o != form:
                    cands.setdefault(o, "deficit")
            kept = []
            for o, src in cands.items():
                if options.fast:
                    # Bigram scoring cannot tell a related phrase that fits
                    # from the original, so it keeps the strict balance.
                    if _balance(o, form, excess, sus, ref) is None:
                        continue
                    need = 0.0
                elif _plausible(o, form, excess, sus, ref):
                    need = _min_gain(src, _balance(o, form, excess, sus, ref) is not None)
                else:
                    continue
                kept.append((o, src, _channel(o, form, excess, sus), need))
            if kept:
                pool.append((form, cs, kept))
            if n_done % 200 == 0:
                say(f"found candidates for {n_done:,}/{len(forms):,} forms")
        shortlist: list[tuple[str, str, str, float, float]] = []
        if options.fast:
            for form, cs, kept in pool:
                ranked = sorted(kept, key=lambda x: (-sum(_ngram_gains(form, x[0], cs)), x[0]))
                shortlist.append((form, *ranked[0]))
        else:
            say(f"pre-scoring candidates of {len(pool):,} forms with the language model")
            pre = _lm_prescores([(form, cs, [k[0] for k in kept]) for form, cs, kept in pool], options.engine.batch_size)
            for (form, cs, kept), ps in zip(pool, pre):
                ranked = sorted(kept, key=lambda x: (-(ps.get(x[0], -1e9) + x[2]), x[0]))
                shortlist.extend((form, *k) for k in ranked[: options.lm_candidates])

        gains: list[list[float]]
        if options.fast:
            gains = [_ngram_gains(f, o, ctxs[f]) for f, o, *_ in shortlist]
        else:
            say(f"verifying {len(shortlist):,} candidates with the language model")
            gains = _lm_gains(
                [(f, o, ctxs[f]) for f, o, *_ in shortlist], options.engine.batch_size, options.min_win
            )

        best: dict[str, Learned] = {}
        for (form, o, src, prior, need), g in zip(shortlist, gains):
            g = [x + prior for x in g]
            win = sum(x > 0 for x in g) / len(g)
            mean = _trimmed_mean(g)
            if win < options.min_win or mean <= 0 or mean < need:
                continue
            docs = sus.df[form]
            conf = _confidence(win, mean, docs, overrep[form])
            if conf < options.min_confidence:
                continue
            cand = Learned(
                form,
                o,
                sus.count[form],
                docs,
                round(conf, 4),
                round(mean, 3),
                round(win, 3),
                round(overrep[form], 3),
                round(_overrep(o, sus, ref), 3),
                src,
                "ngram" if options.fast else "lm",
                [c.example() for c in ctxs[form][:3]],
            )
            old = best.get(form)
            if old is None or (cand.win, cand.gain) > (old.win, old.gain):
                best[form] = cand
        excess_of = {form: excess for excess, form, _ in forms}
        entries = _drop_claimed(list(best.values()), excess_of, sus, ref)
        entries = _drop_redundant(entries)
        entries.sort(key=lambda e: (-e.confidence, -e.count, e.spun))
        return LearnResult(
            entries,
            sus.docs,
            sus.tokens,
            len(forms),
            time.monotonic() - t0,
            ref_counts.docs if ref_counts else 0,
        )
    finally:
        spool.close()


def _drop_claimed(entries: list[Learned], excess: dict[str, float], sus: _Counts, ref: _Reference) -> list[Learned]:
    """Drop an entry with no lexical tie to its form (origin deficit or
    context) whose original's missing occurrences are already accounted
    for by lexically related entries: "throughout" -> "during" explains the
    whole deficit of "during", so "adopting" -> "during" (really
    "following") is the language model's taste for a frequent word."""
    claimed: dict[str, float] = defaultdict(float)
    for e in entries:
        if e.origin not in UNTIED:
            claimed[e.original] += max(excess.get(e.spun, 0.0), 0.0)
    out = []
    for e in entries:
        if e.origin in UNTIED and claimed[e.original] > 0:
            missing = _expected(e.original, sus, ref) - sus.count.get(e.original, 0)
            if missing <= claimed[e.original]:
                continue
        out.append(e)
    return out


def _drop_redundant(entries: list[Learned]) -> list[Learned]:
    """Keep one entry per spinner habit.

    When a shorter kept entry inside a longer one makes the same rewrite
    ("within the" -> "in the" inside "within the park" -> "in the park"),
    the longer one is redundant.  When they disagree:

    - the shorter form occurs almost only inside the longer one
      (:data:`SOLE_SHARE`): it is not a habit of its own ("complying" ->
      "along" beside "complying with" -> "following"), and is dropped;
    - the longer form accounts for most of the shorter one's occurrences and
      the shorter's original is part of the longer's: the shorter is a side
      effect of the longer ("system" -> "economy" beside "economic system"
      -> "economy"), and is dropped;
    - the longer form is a minority of the shorter one's occurrences
      (:data:`MINORITY_SHARE`): it is the shorter habit in one context,
      where the language model prefers a rewrite of a neighbour too ("he
      stated" -> "she said" beside "stated" -> "said", "a giant" -> "a
      huge" beside "giant" -> "large"), and is dropped;
    - otherwise they are two habits ("comparable" -> "similar", "comparable
      to" -> "such as") and both stay.
    """
    drop: set[str] = set()
    for long in entries:
        L = long.spun.split(" ")
        for short in entries:
            S = short.spun.split(" ")
            if short is long or len(S) >= len(L):
                continue
            for i in range(len(L) - len(S) + 1):
                if L[i : i + len(S)] != S:
                    continue
                if " ".join(L[:i] + short.original.split(" ") + L[i + len(S) :]) == long.original:
                    drop.add(long.spun)
                elif long.count >= SOLE_SHARE * short.count:
                    drop.add(short.spun)
                elif long.count < MINORITY_SHARE * short.count:
                    drop.add(long.spun)
                elif _within(short.original, long.original):
                    drop.add(short.spun)
                break
    return [e for e in entries if e.spun not in drop]


def _within(a: str, b: str) -> bool:
    """Whether the words of ``a`` occur, in order and together, in ``b``."""
    A, B = a.split(" "), b.split(" ")
    return any(B[i : i + len(A)] == A for i in range(len(B) - len(A) + 1))


# --------------------------------------------------------------------------
# Output: the project's phrase-table format


TABLE_COLUMNS = (
    "spun",
    "original",
    "pos",
    "source",
    "note",
    "count",
    "docs",
    "confidence",
    "gain",
    "win",
    "overrep",
    "origin",
    "examples",
)


def _cell(s: Any) -> str:
    return " ".join(str(s).split())


def format_table(result: LearnResult, command: str = "unspin learn") -> str:
    """The entries as a phrase table (``unspin-phrases/1``), readable by ``--table``."""
    from . import __version__

    lines = [
        "# unspin phrase table, learned",
        "# format: unspin-phrases/1",
        f"# version: learned by unspin {__version__} on {time.strftime('%Y-%m-%d')}",
        f"# source: {_cell(command)}: {result.documents:,} documents, {result.words:,} words"
        + (f", {result.reference_documents:,} reference documents" if result.reference_documents else ""),
        "# review: every row is a proposal; delete the rows you do not trust",
        "# columns: " + ", ".join(TABLE_COLUMNS),
        "\t".join(TABLE_COLUMNS),
    ]
    for e in result.entries:
        note = f"{e.count} uses in {e.docs} docs; original reads better in {e.win:.0%} of contexts"
        row = [
            e.spun,
            e.original,
            "-",
            "learned",
            note,
            e.count,
            e.docs,
            f"{e.confidence:.3f}",
            f"{e.gain:.3f}",
            f"{e.win:.3f}",
            f"{e.overrep:.3f}",
            e.origin,
            " | ".join(e.examples),
        ]
        lines.append("\t".join(_cell(x) for x in row))
    return "\n".join(lines) + "\n"
