"""Invariants of detect/restore, checked with Hypothesis (fast mode) and on
real text (LM mode)."""
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unspin import Config, apply_plan, detect, restore_and_explain, restore_text

FAST = Config(fast=True)
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Words that the lexicon knows as spun forms, common words, names, numbers
# and punctuation, so that generated text has slots of every kind.
VOCAB = (
    "economic system at all times shall be go to final month stated fastidiously "
    "financial institution historical past got here 12 months within the the 2 just about "
    "the a of and in to visit economy said was is Putin Kazakhstan Astana 2023 9 "
    "large huge metropolis city carefully quickly swiftly desirous additional"
).split()
SEPS = [" ", " ", " ", ", ", ". ", "\n", "  ", "; ", " “", "” ", "\t", "-"]

text_st = st.lists(st.tuples(st.sampled_from(VOCAB), st.sampled_from(SEPS)), max_size=40).map(
    lambda xs: "".join(w + s for w, s in xs)
)
any_text = st.one_of(text_st, st.text(max_size=200))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(any_text)
def test_spans_in_bounds_and_disjoint(text):
    d = detect(text, FAST)
    prev_end = 0
    for s in sorted(d.spans, key=lambda s: s.start):
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.text
        assert s.start >= prev_end
        assert 0.0 <= s.confidence <= 1.0
        prev_end = s.end
    assert 0.0 <= d.spun_probability <= 1.0


@SETTINGS
@given(any_text)
def test_replay_reproduces_output_and_keeps_the_rest(text):
    r = restore_and_explain(text, FAST)
    assert apply_plan(text, r.edits) == r.text
    # Outside the edits, every character is the caller's.
    pos, kept = 0, []
    for e in sorted(r.edits, key=lambda e: e.start):
        assert text[e.start : e.end] == e.before
        kept.append(text[pos : e.start])
        pos = e.end
    kept.append(text[pos:])
    out_pos = 0
    for seg in kept:
        i = r.text.find(seg, out_pos)
        assert i >= 0
        out_pos = i + len(seg)


@SETTINGS
@given(text_st)
def test_restore_is_idempotent(text):
    once = restore_text(text, FAST)
    assert restore_text(once, FAST) == once


def _clean_pages():
    p = SHARED / "real-dev" / "clean_pages.jsonl"
    if not p.exists():
        pytest.skip("../shared/data not present")
    return [json.loads(line)["text"] for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.lm
def test_clean_pages_unchanged():
    """Precision first: real clean news comes back byte for byte."""
    from unspin import restore_many

    pages = _clean_pages()
    changed = []
    for text, r in zip(pages, restore_many(pages, Config())):
        subs = [e for e in r.edits if e.kind == "substitution"]
        if subs:
            changed.append([(e.before, e.after) for e in subs])
    assert not changed, changed


def test_doc_threshold_gates_restoration_not_reporting():
    """Raising doc_threshold above a document's probability leaves its
    wording alone (boilerplate still goes) but still reports its spans."""
    text = "[ad_1]\nPutin is anticipated to go to Kazakhstan for an official go to. The economic system at all times comes first, he stated.\nSource link"
    base = restore_and_explain(text, FAST)
    p = base.detection.spun_probability
    assert base.detection.is_spun and any(e.kind == "substitution" for e in base.edits) and p < 1.0
    high = restore_and_explain(text, Config(fast=True, doc_threshold=min(1.0, p + 1e-3)))
    assert not high.detection.is_spun
    assert [e.kind for e in high.edits] == [e.kind for e in base.edits if e.kind != "substitution"]
    assert [(s.start, s.suggestion) for s in high.detection.spans] == [(s.start, s.suggestion) for s in base.detection.spans]
    assert "anticipated to go to" in high.text and "[ad_1]" not in high.text
    assert apply_plan(text, high.edits) == high.text


def test_restore_threshold_gates_restoration_not_the_verdict():
    """A document called spun whose probability is under restore_threshold
    is reported as spun, with its spans, but its wording is kept."""
    text = "[ad_1]\nPutin is anticipated to go to Kazakhstan for an official go to. The economic system at all times comes first, he stated.\nSource link"
    base = restore_and_explain(text, FAST)
    p = base.detection.spun_probability
    assert FAST.restore_threshold <= p < 1.0 and any(e.kind == "substitution" for e in base.edits)
    kept = restore_and_explain(text, FAST.with_(restore_threshold=min(1.0, p + 1e-3)))
    assert kept.detection == base.detection  # same verdict, probability and spans
    assert [e.kind for e in kept.edits] == [e.kind for e in base.edits if e.kind != "substitution"]
    assert "anticipated to go to" in kept.text and "[ad_1]" not in kept.text
    # Under the document's (rounded) probability it changes nothing.
    assert restore_and_explain(text, FAST.with_(restore_threshold=p - 1e-3)).edits == base.edits


# Clean sample-corpus documents that a past version changed, with what it did.
CLEAN_REGRESSIONS = {
    # 2026-12-04: "whether or not" -> "whether" (phrase-table entry), at
    # span confidence 0.556 and document probability 0.64, in "the question
    # as to whether or not anarchism and religion are compatible".
    "wiki/Anarchism#1": "whether or not",
}


@pytest.mark.lm
@pytest.mark.parametrize("doc_id", sorted(CLEAN_REGRESSIONS))
def test_clean_corpus_documents_unchanged(doc_id):
    from unspin import corpus, restore_and_explain

    try:
        docs = {d.id: d for d in corpus.documents()}
    except corpus.CorpusUnavailable:
        pytest.skip("gensim sample corpus not installed")
    text = docs[doc_id].text
    assert CLEAN_REGRESSIONS[doc_id] in text
    r = restore_and_explain(text, Config())
    assert r.text == text, [(e.before, e.after) for e in r.edits if e.before != e.after]



@pytest.mark.lm
def test_a_long_clean_document_is_not_spun_and_a_long_spun_one_is():
    """Three clean Wikipedia sections joined (944 words): the 2026-11-28
    accurate-mode calibration called this spun (0.9998) and changed six
    words ("nineteenth" -> "19th", "realm" -> "dominion"), as it did to
    most clean texts of 900 words or more.  Its spun copy must still be
    called spun."""
    from unspin import corpus, restore_many
    from unspin.spin import spin

    try:
        docs = {d.id: d for d in corpus.documents()}
    except corpus.CorpusUnavailable:
        pytest.skip("gensim sample corpus not installed")
    text = "\n\n".join(docs[f"wiki/Anarchism#{i}"].text for i in range(3))
    spun = spin(text, seed=7, style="word", rate=0.3).text
    clean_r, spun_r = restore_many([text, spun], Config())
    assert clean_r.detection.words > 900
    assert not clean_r.detection.is_spun and clean_r.text == text, [(e.before, e.after) for e in clean_r.edits]
    assert spun_r.detection.is_spun and spun_r.detection.spun_probability > 0.99

def test_clean_pages_unchanged_fast():
    from unspin import restore_many

    pages = _clean_pages()
    changed = []
    for r in restore_many(pages, FAST):
        subs = [e for e in r.edits if e.kind == "substitution"]
        if subs:
            changed.append([(e.before, e.after) for e in subs])
    assert not changed, changed


def test_sentence_memo_skips_unchanged_sentences(monkeypatch):
    """Later restoration rounds take unchanged sentences' scores from the memo:
    the same result, and no second scoring of a sentence already scored."""
    from unspin import restore

    text = "The economic system grew. Putin is anticipated to go to Astana final month.\nIt rained."
    calls = []
    real = restore._score_fast
    monkeypatch.setattr(restore, "_score_fast", lambda s, m: (calls.append(s.text), real(s, m)))
    memo: dict = {}
    first = [restore._finish(d, FAST) for d in restore._analyse([text], FAST, memo=memo)]
    n = len(calls)
    assert n >= 2
    again = [restore._finish(d, FAST) for d in restore._analyse([text], FAST, memo=memo)]
    assert len(calls) == n  # all from the memo
    assert again == first
    # A changed sentence is scored afresh; the others still come from the memo.
    edited = text.replace("It rained.", "It rained at all times.")
    list(restore._analyse([edited], FAST, memo=memo))
    assert calls[n:] == ["It rained at all times."]
    # Another document never shares the memo's entries.
    list(restore._analyse([text], FAST, memo=memo, doc_keys=[7]))
    assert len(calls) == n + 1 + n


def test_sentence_memo_skips_tokenising_unchanged_sentences(monkeypatch):
    """A memo hit needs neither the tokeniser nor slot search; protected spans
    are part of what a sentence's slots depend on, so they key the memo."""
    from unspin import restore

    text = "The economic system grew. It rained at all times.\nShe stated it."
    seen = []
    real = restore._sentence
    monkeypatch.setattr(restore, "_sentence", lambda t, s, e, *a: (seen.append(t[s:e]), real(t, s, e, *a))[1])
    memo: dict = {}
    first = [restore._finish(d, FAST) for d in restore._analyse([text], FAST, memo=memo)]
    assert len(seen) == 3
    again = [restore._finish(d, FAST) for d in restore._analyse([text], FAST, memo=memo)]
    assert len(seen) == 3 and again == first
    # Protecting "at all times" changes that sentence's slots: looked at again.
    k = text.index("at all times")
    (doc,) = restore._analyse([text], FAST, [[(k, k + 12)]], memo=memo)
    assert seen[3:] == ["It rained at all times."]
    assert not any(p.start < k + 12 and k < p.end for p in doc.proposals)


def _reference_slots(text, toks, lex):
    """Slot search the slow, obvious way: every run of up to
    ``lex.max_tokens`` tokens that starts with a word and continues with
    words or "." is looked up whole."""
    from unspin.restore import _OPENERS

    def is_word(t):
        return t.text[0].isalnum() or t.text[0] == "_"

    out = []
    for i, t0 in enumerate(toks):
        if not is_word(t0):
            continue
        for j in range(i, min(len(toks), i + lex.max_tokens)):
            if j > i and not is_word(toks[j]) and toks[j].text != ".":
                break
            key = "".join(
                (" " if k > i and toks[k].start > toks[k - 1].end else "") + toks[k].text.replace("’", "'").lower()
                for k in range(i, j + 1)
            )
            found = lex._rev.get(key, [])
            if not found:
                continue
            upper = t0.text[:1].isupper()
            cands = [e for e in found if e.source != "moby"] if upper and i > 0 else list(found)
            if not cands:
                continue
            left = next((t.text for t in reversed(toks[:i]) if is_word(t)), None)
            right = next((t.text for t in toks[j + 1 :] if is_word(t)), None)
            midcap = upper and i > 0 and toks[i - 1].text not in _OPENERS
            out.append((t0.start, toks[j].end, text[t0.start : toks[j].end], cands, midcap, left, right))
    return out


@SETTINGS
@given(text_st)
def test_slot_search_finds_what_a_whole_key_lookup_finds(text):
    """The prefix-pruned slot search finds exactly the lexicon's forms, with
    their candidates and nearest words, that looking up every run finds."""
    from unspin import restore
    from unspin.lexicon import lexicon_for
    from unspin.text import tokenize

    lex = lexicon_for(FAST)
    toks = tokenize(text)
    props = restore._slots(text, toks, lex, [])
    got = [(p.start, p.end, p.observed, list(p.cands), p.midcap, p.left, p.right) for p in props]
    assert got == _reference_slots(text, toks, lex)


@SETTINGS
@given(st.lists(text_st, min_size=1, max_size=4))
def test_slot_memo_gives_every_slot_its_own_score(texts):
    """--fast's slot memo, shared between sentences and documents, gives
    each slot the score that scoring it afresh gives."""
    from unspin import restore
    from unspin.lexicon import lexicon_for

    lex = lexicon_for(FAST)
    memo: dict = {}
    for text in texts:
        if not text.strip():
            continue
        fresh = restore._sentence(text, 0, len(text), FAST, lex, 0, (), ())
        shared = restore._sentence(text, 0, len(text), FAST, lex, 0, (), ())
        for a, b in zip(fresh, shared):
            restore._score_fast(a)
            restore._score_fast(b, memo)
            key = lambda p: (p.start, p.end, p.suggestion, p.entry, p.score, p.lm_gain, p.prescore, p.alternatives)
            assert [key(p) for p in a.proposals] == [key(p) for p in b.proposals]


def test_slot_memo_scores_a_repeated_slot_once(monkeypatch):
    """The same form between the same neighbours is scored once per memo,
    across sentences and documents; other neighbours are scored anew."""
    from unspin import ngram, restore

    calls = []
    real = ngram.phrase_logps

    def counted(phrases, left, right):
        calls.append((tuple(phrases[0]), left, right))  # a slot's form, then its candidates
        return real(phrases, left, right)

    monkeypatch.setattr(ngram, "phrase_logps", counted)
    memo: dict = {}
    one = "It rained at all times here."
    (doc,) = restore._analyse([one], FAST, slot_memo=memo)
    n = len(calls)
    assert n > 1 and any(w == ("at", "all", "times") for w, _, _ in calls)
    again = list(restore._analyse([one + " " + one, "So. " + one], FAST, slot_memo=memo))
    assert len(calls) == n
    assert [(p.start, p.suggestion, p.score) for p in again[0].proposals[: len(doc.proposals)]] == [
        (p.start, p.suggestion, p.score) for p in doc.proposals
    ]
    list(restore._analyse(["It snowed at all times here."], FAST, slot_memo=memo))
    assert ("snowed", "at", "all", "times") not in calls and any(l == "snowed" for _, l, _ in calls[n:])


def test_slot_memo_stays_within_its_bound(monkeypatch):
    """A full slot memo starts afresh: bounded memory, the same restorations."""
    from unspin import restore

    text = (Path(__file__).resolve().parents[1] / "examples" / "seed_spun_article.txt").read_text(encoding="utf-8")
    want = restore_and_explain(text, FAST)
    monkeypatch.setattr(restore, "SLOT_MEMO_SIZE", 3)
    seen = []
    real = restore._score_fast

    def watched(sent, memo):
        n = len(sent.proposals)
        real(sent, memo)
        seen.append(len(memo) - n)  # what the memo held before this sentence, at most

    monkeypatch.setattr(restore, "_score_fast", watched)
    assert restore_and_explain(text, FAST) == want
    assert len(seen) > 5 and max(seen) <= 3 + 1


# Whitespace of several kinds, word joiners and characters whose case or
# class is unusual, so tokens meet every kind of neighbour.
TOKEN_ALPHABET = "ab9_ \t\n\u00a0\u2028\u3000’'-.,İß\u0301é"


@SETTINGS
@given(st.text(alphabet=TOKEN_ALPHABET, max_size=60) | st.text(max_size=60), st.integers(0, 50))
def test_tokenize_matches_a_scan_of_the_token_pattern(text, offset):
    """tokenize builds tokens from whitespace-led pieces: the same tokens as
    matching the token pattern one match at a time."""
    from unspin.text import _TOKEN_RE, tokenize

    want = [(m.start() + offset, m.end() + offset, m.group()) for m in _TOKEN_RE.finditer(text)]
    assert [tuple(t) for t in tokenize(text, offset)] == want


def test_regex_classes_are_the_str_methods_the_code_assumes():
    """Over all of Unicode: tokenize strips each piece's leading \\s with
    str.lstrip (str.isspace), and Token.is_word tells the tokens that the
    pattern's \\w starts by str.isalnum or "_"."""
    import re

    space, word = re.compile(r"\s"), re.compile(r"\w")
    chars = list(map(chr, range(0x110000)))
    assert [c for c in chars if bool(space.fullmatch(c)) != c.isspace()] == []
    assert [c for c in chars if bool(word.fullmatch(c)) != (c.isalnum() or c == "_")] == []


@SETTINGS
@given(st.text(max_size=30))
def test_words_of_a_form_are_its_word_tokens(s):
    from unspin.restore import _words
    from unspin.text import tokenize

    assert _words(s) == [t.text for t in tokenize(s) if t.is_word]


@SETTINGS
@given(
    st.lists(st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3), min_size=1, max_size=5),
    st.one_of(st.none(), st.sampled_from(VOCAB)),
    st.one_of(st.none(), st.sampled_from(VOCAB)),
)
def test_a_slots_phrases_score_as_each_alone(phrases, left, right):
    """Each phrase's score is its word pairs' bigram scores summed in order
    (a unigram score for a first word without a left neighbour)."""
    from unspin import ngram

    def alone(words):
        lp, prev = 0.0, left
        for w in words:
            lp += ngram.bigram_logp(prev, w) if prev else ngram.unigram_logp(w)
            prev = w
        return lp + ngram.bigram_logp(prev, right) if right is not None else lp

    assert ngram.phrase_logps(phrases, left, right) == [alone(p) for p in phrases]
    assert [ngram.phrase_logp(p, left, right) for p in phrases] == [alone(p) for p in phrases]


@SETTINGS
@given(
    st.floats(-50, 50),
    st.floats(-20, 5),
    st.sampled_from(["moby", "phrases", "table:x.tsv", "tortured"]),
    st.booleans(),
)
def test_span_confidence_is_the_logistic_model_of_span_vector(gain, channel, source, fast):
    from importlib import import_module
    from operator import mul

    detect = import_module("unspin.detect")  # the module, not unspin.detect()
    cfg = Config(fast=fast)
    w = detect.calibration()[detect._mode(cfg)]["span"]
    z = w[0] + sum(map(mul, w[1:], detect.span_vector(gain, channel, source)))
    assert detect.span_confidence(gain, channel, source, cfg) == detect._sigmoid(z)


def test_bigram_scores_are_the_counts_relative_frequencies():
    """Stupid backoff: a listed bigram's relative frequency among its left
    word's bigrams, else 0.4 times the word's unigram probability."""
    import math

    from unspin import ngram

    counts, left_tot, _ = ngram._tables()
    for a, b in [("last", "month"), ("of", "the"), ("economic", "system")]:
        assert ngram.bigram_logp(a, b) == math.log(counts[(a, b)] / left_tot[a])
        assert ngram.bigram_logp(a.title(), b.upper()) == ngram.bigram_logp(a, b)
    assert ("fastidiously", "month") not in counts
    assert ngram.bigram_logp("fastidiously", "month") == math.log(0.4) + ngram.unigram_logp("month")


def test_gc_paused_restores_the_collector_state():
    import gc

    from unspin.restore import _gc_paused

    assert gc.isenabled()
    with _gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
    try:
        with _gc_paused():
            raise KeyError("x")
    except KeyError:
        pass
    assert gc.isenabled()


def test_max_words_windows_long_sentences():
    """--max-words bounds the words one language-model sequence scores."""
    from unspin import restore
    from unspin.text import tokenize

    words = ("the economic system at all times grew " * 30).split()
    text = " ".join(words) + "."
    toks = tokenize(text)
    wins = list(restore._windows(toks, 0, len(text), 20))
    assert len(wins) == len(words) // 20 + (len(words) % 20 > 0)
    assert all(len(text[a:b].split()) <= 20 for a, b, _ in wins)
    assert all(w == tokenize(text[a:b], offset=a) for a, b, w in wins)
    assert [(a, b) for a, b, _ in restore._windows(toks, 0, len(text), 1000)] == [(0, len(text))]



def test_max_words_reaches_the_engine(monkeypatch):
    from unspin import restore

    seen = []
    real = restore._windows
    monkeypatch.setattr(restore, "_windows", lambda toks, s, e, m: (seen.append(m), real(toks, s, e, m))[1])
    restore_text("The economic system grew at all times.", FAST.with_(max_words=7))
    assert seen and set(seen) == {7}


def test_later_rounds_keep_the_documents_probability(monkeypatch):
    """A later round scales span confidences by round 1's document
    probability, not by that of the text it left (whose evidence is gone)."""
    from unspin import restore

    text = (Path(__file__).resolve().parents[1] / "examples" / "seed_spun_article.txt").read_text(encoding="utf-8")
    given = []
    real = restore._finish
    monkeypatch.setattr(restore, "_finish", lambda d, c, p=None: (given.append(p), real(d, c, p))[1])
    r = restore_and_explain(text, FAST)
    first = given[0]
    later = given[1:]
    assert first is None and later, "the seed needs a second round"
    assert all(p == r.detection.spun_probability for p in later)


def test_finish_uses_the_given_document_probability():
    """Span confidences are scaled by the document probability _finish is
    given (an earlier round's), in place of the one it would compute."""
    from unspin import restore

    # Three spun phrases: one alone in a short sentence is not enough for
    # --fast's document model to call it spun.
    text = "The economic system grew at all times, and the financial institution shall be glad, he stated."
    (doc,) = list(restore._analyse([text], FAST))
    own = restore._finish(doc, FAST)
    assert "economy" in [e.after for e in own.edits]
    assert 0.5 < own.detection.spun_probability < 1.0
    ruled_clean = restore._finish(doc, FAST, 0.0)
    assert ruled_clean.edits == [] and ruled_clean.detection.spun_probability == 0.0
    sure = restore._finish(doc, FAST, 1.0)
    conf = {e.after: e.confidence for e in sure.edits}
    assert all(conf[e.after] > e.confidence for e in own.edits)


@pytest.mark.lm
def test_pass_two_scores_serve_the_next_rounds_pass_one(monkeypatch):
    """When a round accepts all of a sentence's proposals, the next round's
    sentence is the variant pass 2 scored: its pass 1 reuses those scores
    (no language-model call) and decides exactly as a fresh scoring would."""
    from unspin import restore
    from unspin.lexicon import lexicon_for
    from unspin.lm import get_scorer

    cfg = Config()
    lex = lexicon_for(cfg)
    scorer = get_scorer()
    text = "The massive crowd watched the big battle for the economic system fastidiously."
    scores: dict = {}
    batch = restore._sentence(text, 0, len(text), cfg, lex, 0, (), ())
    restore._score_lm(batch, scorer, 32, lex, scores)
    (sent,) = batch
    variant, written = restore._apply_local(sent)
    assert variant in scores and variant != text

    def slots_of(t):
        return restore._sentence(t, 0, len(t), cfg, lex, 0, (), tuple(written))

    scored = []
    real = scorer.score
    monkeypatch.setattr(scorer, "score", lambda seqs, *a, **k: (scored.append(len(seqs)), real(seqs, *a, **k))[1])
    again = slots_of(variant)
    assert again and again[0].proposals  # slots outside the written spans
    restore._score_lm(again, scorer, 32, lex, scores)
    assert scored[0] == 0  # pass 1: every sentence came from the scores
    fresh = slots_of(variant)
    restore._score_lm(fresh, scorer, 32)

    def decided(batch):
        return [(p.start, p.suggestion, round(p.prescore, 2), round(p.lm_gain, 2)) for s in batch for p in s.proposals]

    assert decided(again) == decided(fresh)


def test_passes_score_through_right_tokens_past_the_last_slot(monkeypatch):
    """Each pass scores a sentence only as far as some gain reads it:
    RIGHT tokens past its last slot; without RIGHT (or slots), all of it."""
    from unspin import restore

    monkeypatch.setattr(restore, "RIGHT", 4)
    assert restore._needed([2, 7], 30) == 12
    assert restore._needed([2, 7], 10) == 10
    assert restore._needed([], 30) == 30
    monkeypatch.setattr(restore, "RIGHT", None)
    assert restore._needed([2, 7], 30) == 30


def _proposal(start, observed, suggestion, runner=None):
    from unspin import restore
    from unspin.lexicon import Entry

    ent = Entry(observed.lower(), suggestion.lower(), "moby", -1.0)
    p = restore._Proposal(start, start + len(observed), observed, suggestion, ent, 1.0, [])
    if runner is not None:
        p.runner = (0.8, runner, Entry(observed.lower(), runner.lower(), "moby", -1.0))
    return p


def test_runner_variant_swaps_only_the_slots_with_a_runner_up():
    """Pass 3's variant applies each runner-up where a slot has one and the
    slot's own suggestion elsewhere; the spans point at what was written."""
    from unspin import restore

    text = "The man perished in the clinic."
    sent = restore._Sentence(
        0, 0, len(text), text, [_proposal(8, "perished", "fled", runner="died"), _proposal(24, "clinic", "hospital")]
    )
    assert restore._apply_local(sent) == ("The man fled in the hospital.", [(8, 12), (20, 28)])
    variant, spans = restore._apply_local(sent, runners=True)
    assert variant == "The man died in the hospital."
    assert [variant[a:b] for a, b in spans] == ["died", "hospital"]


def test_gains_read_each_proposal_up_to_the_next_or_right_tokens(monkeypatch):
    """A proposal's gain sums the variant's token log-probabilities from its
    first token up to the next proposal (at most RIGHT tokens past its own),
    minus the observed sentence's over the same stretch; an unaligned
    proposal has none."""
    from types import SimpleNamespace

    import numpy as np

    from unspin import restore

    monkeypatch.setattr(restore, "RIGHT", 2)
    r1 = SimpleNamespace(token_lp=np.array([-1.0, -5.0, -1.0, -1.0, -1.0, -6.0, -1.0, -1.0, -1.0, -1.0]))
    rv = SimpleNamespace(token_lp=np.array([-1.0, -2.0, -1.0, -0.5, -1.0, -3.0, -1.0, -0.5, -0.5, -1.0]))
    v = restore._Variant("", [], [], [], rng_o=[(1, 1), (5, 5), None], rng_v=[(1, 1), (5, 5), (8, 8)])
    first, second, unaligned = restore._gains(r1, rv, v)
    assert first == (-2.0 - 1.0 - 0.5) - (-5.0 - 1.0 - 1.0)  # tokens 1..3: RIGHT stops it before 5
    assert second == (-3.0 - 1.0 - 0.5) - (-6.0 - 1.0 - 1.0)  # tokens 5..7
    assert unaligned is None


def test_document_evidence_is_the_pass_two_score():
    """The document model reads each slot's pass-2 score and suggestion: a
    runner-up that pass 3 preferred changes the suggestion shown, not the
    document's evidence (the model was calibrated on one hypothesis per
    slot), so pass 3 cannot move a document's probability.  Slots without a
    pass-2 score (--fast) count their own score; the memo keeps both."""
    from types import SimpleNamespace

    from unspin import restore
    from unspin.detect import evidence, features

    def slot(score, doc_score, sug, doc_sug, obs="perished"):
        return SimpleNamespace(score=score, doc_score=doc_score, observed=obs, suggestion=sug, doc_suggestion=doc_sug)

    switched = slot(4.0, -1.0, "died", "passed away")
    fast = slot(2.0, None, "said", None, obs="stated")
    f = features([switched, fast], 100)
    assert f["n_pos"] == 1.0 and f["pos_mass"] == 2.0
    # Two slots that pass 3 brought to one suggestion stay two pairs, as pass 2 saw them.
    assert sorted(evidence([slot(4.0, 3.0, "died", "died"), switched])) == [-1.0, 3.0]
    p = _proposal(8, "perished", "died")
    p.score, p.doc_score, p.doc_suggestion = 4.0, -1.0, "passed away"
    (back,) = restore._recall(tuple(restore._remember([p], 0)), 0)
    assert (back.score, back.doc_score, back.doc_suggestion) == (4.0, -1.0, "passed away")


def test_a_repeated_pair_is_one_piece_of_document_evidence():
    """The same (form, suggestion) pair seven times in a document counts
    once, at its best score; other pairs, and the same form with another
    suggestion, count apart.  Case and spacing do not make a pair new."""
    from types import SimpleNamespace

    from unspin.detect import evidence, features

    def slot(obs, sug, score):
        return SimpleNamespace(score=score, doc_score=None, observed=obs, suggestion=sug, doc_suggestion=None)

    tune = [slot("tune" if k else "Tune", "song" if k else "Song", 1.0 + k) for k in range(7)]
    others = [slot("stated", "said", 3.0), slot("tune", "melody", 0.5), slot("go  to", "visit", -2.0)]
    assert sorted(evidence(tune + others)) == [-2.0, 0.5, 3.0, 7.0]
    f = features(tune + others, 200)
    assert f["n_pos"] == 3.0 and f["capped_mass"] == 10.5 and f["slots"] == 10.0


def _pairs(scores):
    from types import SimpleNamespace

    return [
        SimpleNamespace(score=x, doc_score=None, observed=f"form{i}", suggestion=f"original{i}", doc_suggestion=None)
        for i, x in enumerate(scores)
    ]


_SCORES = st.lists(st.floats(-30, 60, allow_nan=False), max_size=12)


@settings(max_examples=300, deadline=None)
@given(scores=_SCORES, words=st.integers(1, 5000), more=st.integers(1, 100_000), fast=st.booleans())
def test_more_words_for_the_same_evidence_never_raise_the_probability(scores, words, more, fast):
    """The document model is a rate test in both modes: the same slots in a
    longer text are weaker evidence.  (The 2026-11-28 accurate-mode fit,
    fitted on documents of one length, weighed length the other way and
    called clean documents of 900 words or more spun.)"""
    from unspin.detect import document_probability

    cfg = Config(fast=fast)
    p_short, _ = document_probability(_pairs(scores), words, cfg)
    p_long, _ = document_probability(_pairs(scores), words + more, cfg)
    assert p_long <= p_short


@settings(max_examples=300, deadline=None)
@given(score=st.floats(-30, 1e6, allow_nan=False), words=st.integers(1, 100_000), weak=st.lists(st.floats(-30, 0), max_size=8))
def test_one_pair_of_evidence_never_makes_a_text_spun(score, words, weak):
    """Accurate mode: a single (form, suggestion) pair with a positive
    score, however strong and however short the text, with any number of
    pairs that read no better restored, never makes a text spun.  One odd
    phrase is what clean text also produces now and then."""
    from unspin.detect import document_probability

    p, f = document_probability(_pairs([score] + weak), words, Config())
    assert f["n_pos"] <= 1 and p < Config().doc_threshold


def test_the_document_vector_beyond_the_strongest_pair():
    from unspin.detect import doc_vector, features

    f = features(_pairs([30.0, 4.0, -1.0, 2.5]), 50)
    assert (f["n_pos"], f["capped_mass"], f["top_capped"]) == (3.0, 26.5, 20.0)
    assert doc_vector(f) == [3.0, 2.65, 0.5]
    assert doc_vector(f, "beyond_strongest") == [2.0, 0.65, 0.5]
    assert doc_vector(features([], 50), "beyond_strongest") == [0.0, 0.0, 0.5]
    with pytest.raises(ValueError, match="unknown document vector"):
        doc_vector(f, "strongest")


@pytest.mark.parametrize("value, expected", [("float32", "float32"), ("bfloat16", "bfloat16"), ("", None), ("fp16", ValueError)])
def test_model_dtype_choice(monkeypatch, value, expected):
    """UNSPIN_LM_DTYPE names the dtype outright; unset, the CPU's flags pick
    one of the two; anything else is a clear error, not a silent fallback."""
    pytest.importorskip("torch")
    from unspin import lm

    monkeypatch.setenv("UNSPIN_LM_DTYPE", value)
    lm.best_dtype.cache_clear()
    try:
        if expected is ValueError:
            with pytest.raises(ValueError, match="UNSPIN_LM_DTYPE"):
                lm.best_dtype()
        elif expected is None:
            assert lm.best_dtype() in lm.DTYPES
        else:
            assert lm.best_dtype() == expected
    finally:
        lm.best_dtype.cache_clear()


@pytest.mark.parametrize(
    "flags, expected",
    [({"avx2", "avx512f", "avx512_bf16"}, "bfloat16"), ({"avx2", "amx_bf16"}, "bfloat16"), ({"avx2"}, "float32"), (set(), "float32")],
)
def test_model_dtype_follows_the_cpu_flags_not_a_timing(monkeypatch, flags, expected):
    """Every process on a machine must choose the same dtype (they round
    differently), so the choice is the CPU's flags, repeatable under load."""
    from unspin import lm

    monkeypatch.delenv("UNSPIN_LM_DTYPE", raising=False)
    monkeypatch.setattr(lm, "cpu_flags", lambda: frozenset(flags))
    lm.best_dtype.cache_clear()
    try:
        assert [lm.best_dtype() for _ in range(3)] == [expected] * 3
    finally:
        lm.best_dtype.cache_clear()


@pytest.mark.parametrize("given_env, expected", [(None, "16"), ("1024", "1024")])
def test_kernel_cache_is_bounded_unless_the_user_says(given_env, expected):
    """Importing the model module bounds oneDNN's kernel cache (it only grew
    with every batch shape), and leaves a capacity the user set alone."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    if given_env is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = given_env
    code = "import os, unspin.lm; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert p.stdout.strip() == expected


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(1, 120), st.integers(0, 80)), max_size=300),
    st.integers(1, 64),
)
def test_batches_cover_every_sequence_once_within_limits_padding_less(items, max_rows):
    """The scorer's batches: every sequence once, in the sorted order, none
    over the row or token limit, and costing no more than cutting every
    ``max_rows`` sequences (where that respects the token limit too)."""
    from unspin import lm

    items.sort()
    lens, skips = [a for a, _ in items], [b for _, b in items]
    cuts = lm._batches(lens, skips, max_rows)
    assert [k for a, b in cuts for k in range(a, b)] == list(range(len(lens)))

    def cost(cs):
        return sum((b - a) * lens[b - 1] + lm.BATCH_COST_TOKENS for a, b in cs)

    for a, b in cuts:
        assert 0 < b - a <= max_rows
        assert b - a == 1 or (b - a) * (lens[b - 1] + max(skips[a:b])) <= lm.MAX_BATCH_TOKENS
    fixed = [(a, min(a + max_rows, len(lens))) for a in range(0, len(lens), max_rows)]
    if all((b - a) * (lens[b - 1] + max(skips[a:b])) <= lm.MAX_BATCH_TOKENS for a, b in fixed):
        assert cost(cuts) <= cost(fixed)


def test_shared_prefix_leaves_the_last_shared_token_to_run():
    """A variant reuses the cache of every token it shares with the scored
    sequence but the last one, whose output predicts the first difference."""
    from unspin import restore

    assert restore._shared([0, 5, 6, 7, 8], [0, 5, 6, 9]) == 2
    assert restore._shared([0, 5, 6], [0, 5, 6, 7]) == 2
    assert restore._shared([0, 5], [1, 5]) == 0
    assert restore._shared([], [0]) == 0


SHARED_PREFIX_CASES = [
    ("The talks in Astana shall be watched fastidiously.", "The talks in Astana will be watched carefully."),
    ("Putin is anticipated to go to Kazakhstan for an official go to.", "Putin is expected to visit Kazakhstan."),
    ("Short one here.", "Short two here."),
    ("Identical text.", "Identical text."),
]


@pytest.mark.lm
def test_scoring_from_a_kept_prefix_equals_scoring_in_full():
    """Scorer.score with ``prefixes`` runs the model only past the shared
    tokens, and gives what scoring the whole sequence gives: the same
    log-probabilities and wanted alternatives, including one before the
    shared prefix ends that the base did not gather.  (In float32: bfloat16
    rounding differs with the shape of a batch.  The kept cache is stored
    in float16, which moves log-probabilities by up to about 0.01 nats.)"""
    import numpy as np

    from unspin.lm import Scorer
    from unspin.restore import _shared

    sc = Scorer("float32")
    base = [[sc.bos_id] + sc.encode(a)[0] for a, _ in SHARED_PREFIX_CASES]
    var = [[sc.bos_id] + sc.encode(b)[0] for _, b in SHARED_PREFIX_CASES]
    n = [min(_shared(a, b), len(b) - 1) for a, b in zip(base, var)]
    assert n[0] >= 3 and n[1] >= 2 and n[2] == 1 and n[3] == len(var[3]) - 1
    r1 = sc.score(base, [{1: {5, 6}} for _ in base], keep=lambda k, r: n[k])
    assert [r.kv.shape[3] for r in r1] == n
    # Position 1 was gathered by the base; position 2 was not.
    want = [{1: {5}, len(v) - 2: {7}} for v in var]
    want[0][2] = {9}
    full = sc.score(var, want)
    pre = sc.score(var, want, prefixes=[(r, k) if k else None for r, k in zip(r1, n)])
    for a, b in zip(full, pre):
        assert len(a.token_lp) == len(b.token_lp)
        assert np.abs(a.token_lp - b.token_lp).max() < 0.03
        assert all(abs(a.gathered[k] - b.gathered[k]) < 0.03 for k in a.gathered)
    with pytest.raises(ValueError):
        sc.score(var[:1], prefixes=[(r1[0], len(var[0]))])
    # A cache kept while scoring from a prefix is the prefix's plus the
    # sequence's own, as scoring in full would keep it.
    m = [len(var[0]) - 1, n[1] + 1, 1, len(var[3])]
    whole = sc.score(var, keep=lambda k, r: m[k])
    joined = sc.score(var, keep=lambda k, r: m[k], prefixes=[(r, k) if k else None for r, k in zip(r1, n)])
    for a, b in zip(whole, joined):
        assert a.kv.shape == b.kv.shape and a.kv.dtype == b.kv.dtype == sc.kv_dtype
        err = (a.kv.float() - b.kv.float()).abs().max()
        print("largest cache difference", float(err), "of", float(a.kv.float().abs().max()))
        assert float(err) <= 1e-3 * float(a.kv.float().abs().max())


@pytest.mark.lm
def test_passes_two_and_three_from_pass_ones_cache_decide_as_in_full(monkeypatch):
    """Passes 2 and 3 run the model only from each variant's first change,
    on pass 1's kept cache, and decide what scoring in full decides."""
    from unspin import restore
    from unspin.lexicon import lexicon_for
    from unspin.lm import get_scorer

    cfg = Config()
    lex = lexicon_for(cfg)
    scorer = get_scorer()
    text = (
        "Putin is anticipated to go to Kazakhstan for an official go to, the Kremlin stated. "
        "The economic system at all times comes first and the talks shall be watched fastidiously."
    )

    def decided():
        batch = [p for s, e in restore.sentences(text) for p in restore._sentence(text, s, e, cfg, lex, 0, (), ())]
        restore._score_lm(batch, scorer, 32, lex, {})
        return [(p.start, p.suggestion, p.lm_gain) for s in batch for p in s.proposals]

    ran = []
    body = scorer.body.forward
    monkeypatch.setattr(scorer.body, "forward", lambda *a, **k: (ran.append(k["input_ids"].numel()), body(*a, **k))[1])
    shared = decided()
    tokens_shared = sum(ran)
    ran.clear()
    monkeypatch.setattr(restore, "_prefix", lambda *a: None)
    full = decided()
    assert sum(ran) > tokens_shared
    assert [x[:2] for x in shared] == [x[:2] for x in full] and shared
    # Same decisions; gains agree to rounding.  In bfloat16 (chosen on CPUs
    # that multiply it natively) a sum of a dozen token log-probabilities
    # moves by a few tenths with the batch and cache layout.
    tol = 0.1 if scorer.dtype_name == "float32" else 0.5
    assert all(abs(a[2] - b[2]) < tol for a, b in zip(shared, full))


def test_kept_caches_serve_only_their_own_document():
    """A later round's sentence reuses the kept cache of its own document
    that shares the most tokens with it, never another document's; without
    a store, a cache is freed."""
    from types import SimpleNamespace

    from unspin import restore

    def scored(n):
        return SimpleNamespace(kv=SimpleNamespace(shape=(30, 2, 3, n, 64)), token_lp=[0.0] * 20)

    kept: dict = {}
    a, b, c = scored(3), scored(6), scored(9)
    restore._stash(kept, "doc1", [0, 5, 6, 7, 8], a)
    restore._stash(kept, "doc1", [0, 5, 6, 7, 8, 9, 10], b)
    restore._stash(kept, "doc2", [0, 5, 6, 7, 8, 9, 10, 11, 12, 13], c)
    assert restore._find(kept, "doc1", [0, 5, 6, 7, 8, 9, 4, 4]) == (b, 5)
    assert restore._find(kept, "doc1", [0, 5, 6, 1]) in ((a, 2), (b, 2))
    assert restore._find(kept, "doc3", [0, 5, 6, 7, 8, 9, 10, 11, 12]) is None
    assert restore._find(kept, "doc1", [0, 4, 6]) is None
    d = scored(4)
    restore._stash(None, "doc1", [0, 5], d)
    assert d.kv is None


@pytest.mark.lm
def test_later_rounds_from_kept_caches_restore_as_in_full(monkeypatch):
    """Round 2 runs the model only past what a sentence shares with round
    1's kept caches, and restores what scoring in full restores."""
    from unspin import restore
    from unspin.lm import get_scorer

    # A sentence of the seed article in which round 2 retakes decisions (a
    # text whose every slot round 1 settles runs no round 2 at all).
    text = (
        "Kazakh Deputy Prime Minister Serik Zhumangarin in feedback on November 7 tried to maneuver away "
        "from the clouds that comply with Putin, however any point out of Russia and commerce in the "
        "identical sentence will invariably summon questions on sanctions evasion."
    )
    scorer = get_scorer()
    ran = []
    body = scorer.body.forward
    monkeypatch.setattr(scorer.body, "forward", lambda *a, **k: (ran.append(k["input_ids"].numel()), body(*a, **k))[1])
    shared = restore.restore_and_explain(text)
    tokens_shared = sum(ran)
    ran.clear()
    monkeypatch.setattr(restore, "_find", lambda *a: None)
    full = restore.restore_and_explain(text)
    assert sum(ran) > tokens_shared
    assert shared.text == full.text and shared.text != text
    assert [(e.start, e.after) for e in shared.edits] == [(e.start, e.after) for e in full.edits]


@pytest.mark.lm
def test_pass_three_skips_documents_pass_two_settles(monkeypatch):
    """Pass 3 does not score the runners-up of a document that pass 2
    already leaves clean: its result is the same without them, and a spun
    document beside it still has its runners-up scored."""
    from unspin import restore
    from unspin.lm import get_scorer

    clean = (
        "The old mill by the river was turned into a small museum last year. "
        "Visitors can see the great wheel and the stones that ground the grain."
    )
    spun = (
        "Scientists stated the brand new vaccine trial confirmed sturdy outcomes. "
        "The corporate expects to hunt approval early subsequent yr after additional checks."
    )
    scorer = get_scorer()
    real = scorer.score
    third: list[int] = []

    def score(seqs, *a, **k):
        if a and a[0] is None and "keep" not in k:  # pass 3: no wants, no caches kept
            third.append(len(seqs))
        return real(seqs, *a, **k)

    monkeypatch.setattr(scorer, "score", score)
    settled = list(restore.restore_many([clean, spun]))
    n_settled = sum(third)
    third.clear()
    monkeypatch.setattr(restore, "_settled", lambda *a: (lambda sent: False))
    full = list(restore.restore_many([clean, spun]))
    assert 0 < n_settled < sum(third), "the clean text needs a runner-up, the spun one too"
    for a, b in zip(settled, full):
        assert a.text == b.text and a.edits == b.edits and a.detection == b.detection
    assert settled[0].detection.spun_probability < 0.5 and settled[0].text == clean
    assert settled[1].text != spun


@pytest.mark.lm
def test_kept_caches_belong_to_the_sequences_they_are_kept_with(monkeypatch):
    """Every cache a batch leaves for later rounds is pass 2's, stored with
    the very sequence it was scored from, in a batch where only some of the
    sentences with proposals have a runner-up for pass 3 (there: the first
    has none, the next two have), and where one ("mild" -> "light") fails
    the span threshold before another: the cache stops there.  Pass 1's
    caches are freed (pass 2's cover them), pass 3's are never kept."""
    from unspin import restore
    from unspin.lexicon import lexicon_for
    from unspin.lm import get_scorer

    cfg = Config()
    lex = lexicon_for(cfg)
    scorer = get_scorer()
    text = (
        "The massive crowd watched the big battle for the economic system. "
        "He stated the financial institution had a troublesome historical past. "
        "Shares rose in early trading in New York. "
        "Researchers discovered that the signs were typically mild in youngsters."
    )
    batch = [p for s, e in restore.sentences(text) for p in restore._sentence(text, s, e, cfg, lex, 0, (), ())]
    for sent in batch:
        sent.owner = 0
    scored_from = {}
    results: list[list] = []
    real = scorer.score

    def score(seqs, *a, **k):
        res = real(seqs, *a, **k)
        scored_from.update({id(r): seq for seq, r in zip(seqs, res)})
        results.append(res)
        return res

    monkeypatch.setattr(scorer, "score", score)
    kept: dict = {}
    restore._score_lm(batch, scorer, 32, lex, {}, kept, cfg)
    assert len(results) == 3  # pass 1, pass 2, pass 3
    entries = [(seq, r) for bucket in kept.values() for seq, r in bucket]
    pass2 = {id(r) for r in results[1] if r.kv is not None}
    assert entries and {id(r) for _, r in entries} == pass2
    for seq, r in entries:
        assert scored_from[id(r)] == seq
        assert 1 < r.kv.shape[3] < len(seq)  # never the last token (see restore._shared)
    # The next round's sentence (in a surely spun document: the proposals
    # that pass the span threshold applied) shares what each cache holds.
    for sent in batch:
        if not sent.proposals:
            continue
        sure = [p for p in sent.proposals if p.score > float("-inf") and restore._confidence(p, cfg) >= cfg.span_threshold]
        sent2 = restore._Sentence(0, sent.start, sent.end, sent.text, sure)
        nxt = [scorer.bos_id] + scorer.encode(restore._apply_local(sent2)[0])[0]
        caches = [r for seq, r in entries if seq[:2] == nxt[:2] and restore._shared(seq, nxt) > 0]
        assert caches and max(restore._shared(scored_from[id(r)], nxt) + 1 - r.kv.shape[3] for r in caches) >= 0
    assert all(r.kv is None for r in results[0] + results[2])
