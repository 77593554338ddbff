"""unspin learn: candidate and scoring stages, the table it writes, the CLI
end to end on a corpus with a planted substitution, and clean input."""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from unspin.learn import (
    MIN_GAIN_RELATED,
    MIN_GAIN_UNRELATED,
    Learned,
    LearnOptions,
    _balance,
    _channel,
    _Context,
    _Counts,
    _deficits,
    _drop_claimed,
    _drop_redundant,
    _lm_gains,
    _min_gain,
    _own_count,
    _plausible,
    _Reference,
    _runs,
    _window,
    format_table,
    learn,
)
from unspin.learn_bench import _reproduces, format_learn_table, hidden_split, score_entries
from unspin.lexicon import load_lexicon, read_table

corpus = pytest.importorskip("unspin.corpus")


def _docs(part: str, n: int) -> list[str]:
    try:
        docs = corpus.split(corpus.documents(), part)
    except corpus.CorpusUnavailable:
        pytest.skip("gensim sample corpus not installed")
    return [d.text for d in docs[:n]]


def _plant(text: str, original: str, spun: str, keep_every: int = 3) -> str:
    """Replace ``original`` (a whole lower-case word) by ``spun`` except at
    every ``keep_every``-th occurrence: a spinner rewrites most, not all."""
    k = -1

    def sub(m: re.Match) -> str:
        nonlocal k
        k += 1
        return m.group(0) if k % keep_every == keep_every - 1 else spun

    return re.sub(rf"\b{re.escape(original)}\b", sub, text)


# --------------------------------------------------------------------------
# Stages


def test_runs_stop_at_punctuation_and_line_breaks():
    runs = [w for w, _, _, _, _ in _runs("In the city, within the park.\nNew line here")]
    assert runs == [["in", "the", "city"], ["within", "the", "park"], ["new", "line", "here"]]


def test_runs_mark_names_but_not_sentence_starts():
    (words, caps, spans, s, e), *_ = _runs("The talks in Astana went well.")
    assert words[0] == "the" and caps[0] is False
    assert caps[words.index("astana")] is True


def test_counts_documents_and_ngrams():
    c = _Counts(2)
    c.add("within the city. within the park.")
    c.add("within reach")
    assert c.count["within the"] == 2 and c.df["within the"] == 1
    assert c.count["within"] == 3 and c.df["within"] == 2
    assert c.docs == 2 and c.tokens == 8


def _half_missing(word: str) -> tuple[_Counts, _Reference, float, float]:
    """Suspect counts of 100,000 words where half the expected uses of
    ``word`` went missing: (counts, reference, expected, missing)."""
    c = _Counts(1)
    c.tokens = 100_000
    ref = _Reference(None)
    expected = 100_000 * math.exp(ref.logp(word))
    c.count[word] = int(expected * 0.5)
    return c, ref, expected, expected - c.count[word]


def _entry(spun: str, original: str, count: int, origin: str = "lexicon") -> Learned:
    return Learned(spun, original, count, count, 0.9, 1.0, 1.0, 3.0, -1.0, origin, "lm")


def test_balance_wants_a_deficit_that_matches_the_excess():
    # Required with --fast; with the language model it lowers the gain an
    # entry needs (see _min_gain).
    c, ref, expected, missing = _half_missing("also")
    assert _balance("also", "additionally", missing, c, ref) == pytest.approx(1.0, rel=0.01)
    assert _balance("also", "additionally", missing * 100, c, ref) is None  # deficit explains too little
    c.count["also"] = int(expected * 1.2)  # over-represented: no deficit
    assert _balance("also", "additionally", missing, c, ref) is None
    assert _balance("also", "additionally", -5, c, ref) is None


def test_an_original_inside_its_form_is_counted_outside_it():
    # "court" -> "court docket": the spun form's "court" is no use of the
    # original, so the half of "court" the spinner took is missing.
    c, ref = _Counts(2), _Reference(None)
    c.tokens = 2_000_000
    expected = c.tokens * math.exp(ref.logp("court"))
    missing = int(expected * 0.5)
    c.count["court docket"] = missing
    c.count["court"] = int(expected)  # half outside the form, half inside
    assert _own_count("court", "court docket", c) == int(expected) - missing
    assert _own_count("court", "courtroom", c) == c.count["court"]
    assert _balance("court", "court docket", missing, c, ref) == pytest.approx(1.0, rel=0.01)
    assert _balance("court", "tribunal", missing, c, ref) is None


@pytest.mark.parametrize(
    "source, balanced, need",
    [
        ("lexicon", True, 0.0),
        ("thesaurus", True, 0.0),
        ("lexicon", False, MIN_GAIN_RELATED),
        ("thesaurus", False, MIN_GAIN_RELATED),
        # No lexical tie: the balance does not lower the bar, because an
        # under-represented n-gram balances some excess almost by construction.
        ("deficit", True, MIN_GAIN_UNRELATED),
        ("deficit", False, MIN_GAIN_UNRELATED),
        ("context", True, MIN_GAIN_UNRELATED),
        # A shorter run of the form's words reads better for fewer tokens alone.
        ("part", True, MIN_GAIN_UNRELATED),
    ],
)
def test_min_gain_by_source_and_balance(source, balanced, need):
    assert _min_gain(source, balanced) == need


def test_plausible_wants_a_fair_share_of_the_original_and_no_excess_of_it():
    c, ref, expected, missing = _half_missing("also")
    c.count["additionally"] = int(missing)  # ... to "additionally"
    assert _plausible("also", "additionally", missing, c, ref)
    # 1 % of the original's uses cannot be the whole source of a form.
    assert not _plausible("also", "additionally", c.count["also"] / 100, c, ref)
    c.count["also"] = int(expected * 3)  # clearly over-represented
    assert not _plausible("also", "additionally", missing, c, ref)
    assert not _plausible("also", "additionally", -5, c, ref)


def test_channel_prior_favours_the_original_that_lost_most():
    c = _Counts(1)
    c.count.update({"among": 100, "in": 8000})
    assert _channel("among", "amongst", 100, c) == pytest.approx(math.log(0.5))
    assert _channel("in", "amongst", 100, c) < _channel("among", "amongst", 100, c) - 3
    assert _channel("unseen", "amongst", 100, c) == 0.0


def test_deficits_are_the_missing_ngrams():
    ref_c, sus = _Counts(3), _Counts(3)
    for _ in range(300):
        ref_c.add("one more thing and another thing came before noon")
        sus.add("one more thing and one other thing came earlier than noon")
    d = _deficits(sus, _Reference(ref_c), 20)
    assert "another" in d and "before" in d
    assert "thing" not in d and "one other" not in d


def test_drop_redundant_keeps_one_entry_per_habit():
    # The longer entry only repeats the shorter one's rewrite.
    kept = _drop_redundant([_entry("within", "in", 100), _entry("within the", "in the", 80)])
    assert [x.spun for x in kept] == ["within"]
    # The shorter is a side effect of the longer: its original is in it.
    kept = _drop_redundant([_entry("system", "economy", 60), _entry("economic system", "economy", 50)])
    assert [x.spun for x in kept] == ["economic system"]
    # Two habits that share a word: both stay.
    kept = _drop_redundant([_entry("comparable", "similar", 140), _entry("comparable to", "such as", 90)])
    assert len(kept) == 2


@pytest.mark.parametrize(
    "short, long, kept",
    [
        # The longer form is a minority of the shorter's occurrences and
        # rewrites a neighbour too: the shorter habit seen in one context.
        (("stated", "said", 126), ("he stated", "she said", 27), ["stated"]),
        (("giant", "large", 108), ("a giant", "a huge", 33), ["giant"]),
        (("made use of", "used", 120), ("made use of for", "used in", 15), ["made use of"]),
        # The shorter form occurs almost only inside the longer one.
        (("complying", "along", 49), ("complying with", "following", 49), ["complying with"]),
        (("which might", "that can", 18), ("which might be", "that are", 17), ["which might be"]),
    ],
)
def test_drop_redundant_settles_disagreeing_entries(short, long, kept):
    for entries in ([_entry(*short), _entry(*long)], [_entry(*long), _entry(*short)]):
        assert [x.spun for x in _drop_redundant(entries)] == kept


class _FakeScorer:
    """A deterministic stand-in for the language model: each sequence's
    log-probability is a hash of its tokens; counts what it scores."""

    bos_id = 0

    def __init__(self):
        self.scored = 0

    def encode(self, text):
        return [ord(ch) for ch in text], [(i, i + 1) for i in range(len(text))]

    def score(self, seqs, want=None, batch_size=None, keep=None, prefixes=None):
        # Whole sequences whatever the prefixes: what the real scorer's
        # results are, to rounding.
        import zlib

        import numpy as np

        self.scored += len(seqs)
        out = []
        for seq in seqs:
            v = zlib.crc32(bytes(str(seq), "ascii")) % 1000 / 100.0 - 5.0
            out.append(type("R", (), {"token_lp": np.array([v])})())
        return out


def test_staged_verification_stops_early_without_changing_the_outcome(monkeypatch):
    import unspin.learn as L
    import unspin.lm as lm

    sentences = [f"Document {i} says the results were stated plainly in report {i}." for i in range(8)]
    ctxs = [_Context(i, s, s.index("stated"), s.index("stated") + 6, "were", "plainly") for i, s in enumerate(sentences)]
    pairs = [("stated", o, ctxs) for o in ("said", "told", "noted", "put", "given", "made", "shown", "read")]
    pairs.append(("stated", "said", ctxs[:5]))  # fewer contexts than the others
    fake = _FakeScorer()
    monkeypatch.setattr(lm, "get_scorer", lambda: fake)
    staged = _lm_gains(pairs, 8, min_win=0.75)
    staged_cost = fake.scored
    monkeypatch.setattr(L, "VERIFY_STAGES", ())
    fake.scored = 0
    full = _lm_gains(pairs, 8, min_win=0.75)
    assert fake.scored == 8 + sum(len(c) for _, _, c in pairs)  # observed windows once each
    for (_, _, c), g, f in zip(pairs, staged, full):
        assert len(f) == len(c) and g == f[: len(g)]
        if len(g) < len(f):  # stopped early: it could not have won enough
            assert sum(x > 0 for x in g) / len(g) < 0.75 and sum(x > 0 for x in f) / len(f) < 0.75
    assert any(len(g) < len(f) for g, f in zip(staged, full)) and staged_cost < fake.scored


@pytest.mark.lm
def test_verification_on_the_observed_windows_cache_equals_scoring_in_full():
    # An original's window runs the model only from the form on; its gain
    # must be what scoring both windows in full gives.  Forms mid-sentence,
    # first in it, and an original that tokenises like the form's start.
    from unspin.lm import get_scorer
    from unspin.text import match_case

    sc = get_scorer()
    texts = [
        ("Officials stated that the bridge would reopen within the week.", "stated", ("said", "noted")),
        ("Additionally the council voted to close two schools.", "Additionally", ("also", "in addition")),
        ("She was the primary witness in the case against him.", "primary", ("prime", "first")),
    ]
    pairs = []
    for i, (s, form, originals) in enumerate(texts):
        a = s.index(form)
        ctx = _Context(i, s, a, a + len(form), None, None)
        pairs.extend((form.lower(), o, [ctx]) for o in originals)
    got = _lm_gains(pairs, 8)
    for (form, o, [c]), [g] in zip(pairs, got):
        rep = match_case(o, c.observed)
        obs, var = sc.score(
            [
                [sc.bos_id] + sc.encode(_window(c.sentence, c.a, c.b)[0])[0],
                [sc.bos_id] + sc.encode(_window(c.with_(rep), c.a, c.a + len(rep))[0])[0],
            ]
        )
        # The cache is kept in 16 bits in float32: a few hundredths at most.
        assert g == pytest.approx(float(var.token_lp.sum() - obs.token_lp.sum()), abs=0.1), (form, o)


@pytest.mark.lm
def test_prescores_read_only_the_left_context_and_the_next_word():
    # Pre-scoring runs each window only up to the form: words past the
    # form's right neighbour must not change a candidate's pre-score.
    from unspin.learn import _lm_prescores

    a = "The minister stated on Monday that the talks had failed completely."
    b = "The minister stated on Monday that nobody expected a deal this year."
    ctxs = [_Context(i, s, s.index("stated"), s.index("stated") + 6, "minister", "on") for i, s in enumerate((a, b))]
    pa, pb = _lm_prescores([("stated", [ctxs[0]], ["said", "told"]), ("stated", [ctxs[1]], ["said", "told"])], 8)
    assert pa.keys() == pb.keys() == {"said", "told"}
    assert pa == pytest.approx(pb, abs=1e-4)


def test_drop_claimed_leaves_no_deficit_for_an_unrelated_entry():
    c, ref, expected, missing = _half_missing("during")
    related = _entry("throughout", "during", 100, "thesaurus")
    unrelated = _entry("adopting", "during", 40, "deficit")
    # The related form's excess explains every missing "during": the
    # unrelated entry goes, the related one stays.
    kept = _drop_claimed([related, unrelated], {"throughout": missing * 1.1, "adopting": 40}, c, ref)
    assert kept == [related]
    # Part of the deficit is left over: both stay.
    kept = _drop_claimed([related, unrelated], {"throughout": missing * 0.5, "adopting": 40}, c, ref)
    assert kept == [related, unrelated]
    # No related entry claims the original: the counts alone do not drop it.
    c.count["during"] = int(expected * 2)
    assert _drop_claimed([unrelated], {"adopting": 40}, c, ref) == [unrelated]


def test_window_keeps_offsets():
    w, a = _window("one two three four five six", 8, 13, words=1)
    assert w[a : a + 5] == "three" and w == "two three four"


def test_reproduces_inside_and_around():
    assert _reproduces("stated", "said", "he stated", "he said")
    assert _reproduces("the predominant", "the main", "predominant", "main")
    assert not _reproduces("stated", "told", "he stated", "he said")
    assert not _reproduces("the stated", "the said", "he stated", "he said")


def test_score_entries_weights_by_use():
    class E:
        def __init__(self, spun, original, count):
            self.spun, self.original, self.count = spun, original, count

    edits = {("upon", "on"): 90, ("earlier than", "before"): 10}
    r = score_entries([E("upon", "on", 100), E("giant", "great", 300)], edits)
    assert r["coverage"] == pytest.approx(0.9)
    assert r["precision_weighted"] == pytest.approx(0.25)
    assert r["precision_entries"] == pytest.approx(0.5)
    assert r["learned"] == [["giant", "great", 300, False], ["upon", "on", 100, True]]


def test_hidden_split_is_a_partition():
    hidden, visible = hidden_split("test")
    allrows = read_table(Path(__file__).parents[1] / "unspin" / "data" / "phrases.tsv")
    assert len(hidden) + len(visible) == len(allrows)
    assert hidden and visible
    assert {r.original for r in hidden}.isdisjoint({r.original for r in visible})


def test_withhold_removes_pairs_from_builtin_sources(tmp_path):
    t = tmp_path / "hide.tsv"
    t.write_text("# format: unspin-phrases/1\nspun\toriginal\tpos\neconomic system\teconomy\tN\n", encoding="utf-8")
    full = load_lexicon()
    held = load_lexicon(withhold=(str(t),))
    assert any(e.original == "economy" for e in full.reverse("economic system"))
    assert not any(e.original == "economy" for e in held.reverse("economic system"))
    assert not any(e.original == "economies" for e in held.reverse("economic systems"))
    # A user table is never withheld.
    both = load_lexicon((str(t),), True, (str(t),))
    assert any(e.original == "economy" for e in both.reverse("economic system"))


# --------------------------------------------------------------------------
# Learning


@pytest.fixture(scope="module")
def planted():
    """Clean news/wiki documents with "also" spun to "additionally" in two of
    every three places, and clean reference documents from another split."""
    suspects = [_plant(t, "also", "additionally") for t in _docs("train", 300)]
    reference = _docs("dev", 150)
    return suspects, reference


def test_candidate_stages_on_a_planted_substitution(planted):
    """Counting, over-representation, candidates and mass balance each let
    the planted pair through; the choice among candidates needs the language
    model and is tested end to end through the CLI below."""
    from unspin.learn import _candidates, _collect_contexts, _moby_related, _overrep

    suspects, reference = planted
    sus, ref_counts = _Counts(4), _Counts(4)
    for t in suspects:
        sus.add(t)
    for t in reference:
        ref_counts.add(t)
    ref = _Reference(ref_counts)
    assert _overrep("additionally", sus, ref) > math.log(LearnOptions.min_overrep)
    assert _overrep("the", sus, ref) < math.log(LearnOptions.min_overrep)
    ctxs = _collect_contexts(suspects, {"additionally"}, 4, 8, 0)["additionally"]
    assert len(ctxs) == 8 and len({c.doc for c in ctxs}) == 8
    assert all(c.observed.lower() == "additionally" for c in ctxs)
    cands = _candidates("additionally", ctxs, load_lexicon(), _moby_related({"additionally"}), lm=True)
    assert "also" in cands
    excess = sus.count["additionally"] - sus.tokens * math.exp(ref.logp("additionally"))
    assert _plausible("also", "additionally", excess, sus, ref)
    assert not _plausible("the", "additionally", excess, sus, ref)
    assert "also" in _deficits(sus, ref, 300)


@pytest.mark.parametrize(
    "form, original",
    [("the 2", "the two"), ("4 years", "four years"), ("the 3rd day", "the third day"), ("twelve", "12"), ("the 11th", "the eleventh")],
)
def test_a_number_spelled_the_other_way_is_a_candidate_original(form, original):
    from unspin.learn import _candidates, _min_gain

    cands = _candidates(form, [], load_lexicon(), {}, lm=False)
    assert cands.get(original) in ("number", "lexicon")
    # A tied candidate: no 5-nat margin when the counts balance.
    assert _min_gain("number", True) == 0.0


def test_a_plurals_thesaurus_relative_may_be_singular():
    from unspin.learn import _moby_related

    rel = _moby_related({"authorities"})["authorities"]
    assert {"government", "governments"} <= rel


@pytest.mark.parametrize("phrase, lone", [("l", True), ("plan b", True), ("a", False), ("i said", False), ("4", False)])
def test_an_initial_is_never_a_candidate_original(phrase, lone):
    from unspin.learn import _lone_letter, _ordinary

    assert _lone_letter(phrase) is lone
    if lone:
        assert phrase not in _ordinary({phrase: "deficit"}, "form")


def test_a_forms_context_sample_does_not_depend_on_the_other_forms():
    from unspin.learn import _collect_contexts

    texts = [f"Doc {i} says the alpha case and the beta case here." for i in range(40)]
    alone = _collect_contexts(texts, {"alpha"}, 4, 8, 0)["alpha"]
    both = _collect_contexts(texts, {"alpha", "beta case"}, 4, 8, 0)
    assert [c.doc for c in alone] == [c.doc for c in both["alpha"]]
    assert len(alone) == 8 and len({c.doc for c in alone}) == 8
    assert len(both["beta case"]) == 8
    # The seed picks the sample; the same seed, the same sample.
    assert [c.doc for c in _collect_contexts(texts, {"alpha"}, 4, 8, 1)["alpha"]] != [c.doc for c in alone]
    assert [c.doc for c in _collect_contexts(texts, {"alpha"}, 4, 8, 0)["alpha"]] == [c.doc for c in alone]
    # Fewer documents than k: every one, each once.
    few = _collect_contexts(texts[:5], {"alpha"}, 4, 8, 0)["alpha"]
    assert sorted(c.doc for c in few) == [0, 1, 2, 3, 4]


def test_a_lengthened_word_is_a_candidate_original():
    # A spinner that writes "bright kitchen" for "kitchen" lengthens the
    # word: no thesaurus lists the pair, but the form holds its original.
    from unspin.learn import _candidates

    cands = _candidates("bright kitchen", [], load_lexicon(), {}, lm=True)
    assert cands["kitchen"] == "part" and cands["bright"] == "part"
    assert "bright kitchen" not in cands
    parts = _candidates("the big old kitchen", [], load_lexicon(), {}, lm=True)
    assert {"big old kitchen", "old kitchen", "kitchen", "the big"} <= set(parts)
    # The bigram scorer (--fast) would prefer any shorter run for its fewer
    # tokens: it gets no part candidates.
    assert "part" not in _candidates("bright kitchen", [], load_lexicon(), {}, lm=False).values()


def test_fast_learning_proposes_entries_with_evidence(planted):
    suspects, reference = planted
    r = learn(suspects, reference, LearnOptions(fast=True))
    assert r.documents == len(suspects) and r.entries
    for e in r.entries:
        assert e.scorer == "ngram" and e.docs >= 5 and 0.5 <= e.confidence <= 1 and e.win >= LearnOptions().min_win
        assert e.overrep > e.overrep_original and e.examples and "[" in e.examples[0]


@pytest.mark.lm
def test_learn_on_clean_text_proposes_nearly_nothing():
    # The bound is 5 entries per 1,000 documents; `unspin bench learn`
    # measures it on 3,000 documents.  Here, a regression guard on a sample
    # small enough for the suite: the 100 forms with most excess (about three
    # minutes on a 2-core machine without AVX-512, where the model runs in
    # float32).
    r = learn(_docs("train", 300), _docs("dev", 300), LearnOptions(max_forms=100))
    assert len(r.entries) <= 2, [(e.spun, e.original) for e in r.entries]


def test_learn_handles_empty_and_odd_input():
    r = learn([], options=LearnOptions(fast=True))
    assert r.entries == [] and r.documents == 0
    r = learn(["", "   ", "1234 5678", "Здравствуй мир"], options=LearnOptions(fast=True))
    assert r.entries == [] and r.documents == 4
    with pytest.raises(TypeError):
        learn([b"bytes"], options=LearnOptions(fast=True))  # type: ignore[list-item]


def test_learned_table_reads_back_and_drives_restoration(tmp_path, planted):
    suspects, reference = planted
    r = learn(suspects, reference, LearnOptions(fast=True))
    path = tmp_path / "learned.tsv"
    path.write_text(format_table(r), encoding="utf-8")
    rows = read_table(path)
    assert [(x.spun, x.original) for x in rows] == [(e.spun, e.original) for e in r.entries]
    e = r.entries[0]
    lex = load_lexicon((str(path),))
    assert any(x.original == e.original and x.source == "table:learned.tsv" for x in lex.reverse(e.spun))


# --------------------------------------------------------------------------
# The CLI


def _unspin(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unspin", *args], input=input, capture_output=True, text=True, timeout=600
    )


@pytest.mark.lm
def test_cli_learn_end_to_end(tmp_path, planted):
    suspects, reference = planted
    sus = tmp_path / "suspects.jsonl"
    sus.write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(suspects)) + "not json\n",
        encoding="utf-8",
    )
    ref = tmp_path / "clean.jsonl"
    ref.write_text("".join(json.dumps({"text": t}) + "\n" for t in reference), encoding="utf-8")
    out = tmp_path / "learned.tsv"
    # The planted form has the most excess of all (tests: rank 0 of 521), so
    # 8 forms are plenty; each one costs the model's time.
    p = _unspin("learn", str(sus), "--reference", str(ref), "-o", str(out), "--max-forms", "8")
    assert p.returncode == 0, p.stderr
    assert "skipped" in p.stderr and "line 301" in p.stderr  # the bad line is reported, not fatal
    rows = read_table(out)
    assert ("additionally", "also") in {(r.spun, r.original) for r in rows}
    # The table goes straight back into the engine.
    p = _unspin("restore", "--fast", "--table", str(out), "-", input=suspects[0])
    assert p.returncode == 0, p.stderr


def test_cli_learn_errors_are_clear(tmp_path):
    p = _unspin("learn", str(tmp_path / "missing.jsonl"))
    assert p.returncode == 1 and "missing.jsonl" in p.stderr and "Traceback" not in p.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    p = _unspin("learn", str(empty))
    assert p.returncode == 1 and "no documents" in p.stderr
    p = _unspin("learn", str(empty), "--fast")
    assert p.returncode == 2
    p = _unspin("learn", str(empty), "--min-overrep", "0.5")
    assert p.returncode == 2 and "min-overrep" in p.stderr
    p = _unspin("learn", str(empty), "-o", str(empty))
    assert p.returncode == 2 and "input file" in p.stderr


def test_learn_bench_table_reports_time_and_memory():
    r = {
        "mode": "accurate",
        "salt": "test",
        "spinner": {"rows": 470, "rate": 0.5},
        "hidden": {
            "documents": 3043, "words": 373257, "spinner_edits": 12866, "entries": 80, "correct_entries": 67,
            "coverage": 0.43, "precision_weighted": 0.9, "precision_entries": 0.84,
            "learn_seconds": 698.7, "words_per_second": 534, "peak_rss_mb": 2101.5,
        },
        "recovery": {"docs": 100, "before": 0.0, "after": 0.2, "lift": 0.2},
        "clean": {"entries": 2, "documents": 3043, "entries_per_1000_docs": 0.66},
        "seconds": 1880.5,
        "peak_rss_mb": 2410.0,
    }
    text = format_learn_table(r)
    assert "learning time: 698.7 s (534 words/s), peak memory 2102 MB" in text
    assert "whole run: 1880.5 s, peak memory 2410 MB" in text
    # Results written before the memory figures existed still print.
    del r["hidden"]["peak_rss_mb"], r["peak_rss_mb"], r["seconds"]
    assert "peak memory - MB" in format_learn_table(r)


def test_candidates_do_not_depend_on_the_hash_seed():
    # Context candidates tie often: here every context ends at the form, so
    # all 40 words the bigram counts expect after "the" tie for 12 places.
    # Ties must not be broken by set order, which changes with PYTHONHASHSEED.
    code = (
        "import json\n"
        "from unspin.learn import _candidates, _collect_contexts\n"
        "from unspin.lexicon import load_lexicon\n"
        "texts = [f'In {1990 + i} it was the additionally.' for i in range(10)]\n"
        "ctxs = _collect_contexts(texts, {'additionally'}, 4, 8, 0)['additionally']\n"
        "print(json.dumps(sorted(_candidates('additionally', ctxs, load_lexicon(), {}, lm=True).items())))\n"
    )
    runs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
    assert any(src == "context" for _, src in runs[0])
    assert runs[0] == runs[1] == runs[2]
