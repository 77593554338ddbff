"""Invariants of the benchmark spinner (unspin.spin), on the real lexicon."""
from __future__ import annotations

import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unspin.lexicon import Entry, Lexicon, load_lexicon
from unspin.spin import SpinResult, spin, spin_many

# A news paragraph in the style of the seed article, rich in words the
# lexicon knows (both sources) and in things the spinner must leave alone:
# names, numbers, acronyms, curly quotes, line breaks, double spaces.
ARTICLE = (
    "Russian President Vladimir Putin will visit Kazakhstan for an official visit, "
    "the Kremlin said on Tuesday. The two presidents will discuss the economy,  trade "
    "and energy, and they are expected to sign important agreements quickly.\n\n"
    "“It’s a big step,” said one official, who asked not to be named. In 2022 the "
    "economy grew by 3.2 percent, and analysts said the outlook for next year is good.\n"
    "Police arrested 12 people after the protest; the military said its forces were "
    "ready. The company’s shares soared after the announcement, and investors were happy."
)

# Everyday words, for Hypothesis to build texts from.
WORDS = (
    "the economy will be important and police said they quickly arrested people after a raid "
    "in the city while the company announced new plans to visit markets"
).split()


@pytest.fixture(scope="module")
def lex() -> Lexicon:
    return load_lexicon()


def check_edits(text: str, r: SpinResult) -> None:
    """Offsets valid on both sides; everything outside the edits is unchanged."""
    pos_in = pos_out = 0
    for e in r.edits:
        assert e["orig_start"] >= pos_in and e["spun_start"] >= pos_out  # sorted, disjoint
        assert e["orig_start"] < e["orig_end"] and e["spun_start"] < e["spun_end"]
        assert text[e["orig_start"] : e["orig_end"]] == e["original"]
        assert r.text[e["spun_start"] : e["spun_end"]] == e["spun"]
        assert e["original"] != e["spun"]
        # The stretch between edits is copied byte for byte.
        assert text[pos_in : e["orig_start"]] == r.text[pos_out : e["spun_start"]]
        pos_in, pos_out = e["orig_end"], e["spun_end"]
    assert text[pos_in:] == r.text[pos_out:]


text_st = st.lists(
    st.one_of(st.sampled_from(WORDS), st.sampled_from(["Putin", "ABC", "42", ",", ".", "\n", "  ", "’s"])),
    min_size=0,
    max_size=60,
).map(lambda ws: " ".join(ws))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(text_st, st.just(ARTICLE), st.text(max_size=80)),
    seed=st.integers(min_value=0, max_value=2**63),
    rate=st.floats(min_value=0.0, max_value=1.0),
    style=st.sampled_from(["word", "phrase"]),
)
def test_edits_are_exact_and_the_rest_untouched(lex, text, seed, rate, style):
    r = spin(text, seed=seed, rate=rate, style=style, lexicon=lex)
    check_edits(text, r)
    # Deterministic for a seed.
    assert spin(text, seed=seed, rate=rate, style=style, lexicon=lex) == r


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32), style=st.sampled_from(["word", "phrase"]))
def test_rate_zero_changes_nothing(lex, seed, style):
    r = spin(ARTICLE, seed=seed, rate=0.0, style=style, lexicon=lex)
    assert r.text == ARTICLE and r.edits == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32), lo=st.floats(0, 1), hi=st.floats(0, 1))
def test_higher_rate_replaces_a_superset(lex, seed, lo, hi):
    lo, hi = sorted((lo, hi))
    a = spin(ARTICLE, seed=seed, rate=lo, lexicon=lex)
    b = spin(ARTICLE, seed=seed, rate=hi, lexicon=lex)
    key = lambda e: (e["orig_start"], e["orig_end"], e["spun"])  # noqa: E731
    assert {key(e) for e in a.edits} <= {key(e) for e in b.edits}


def test_different_seeds_differ(lex):
    outs = {spin(ARTICLE * 3, seed=s, lexicon=lex).text for s in range(5)}
    assert len(outs) == 5


def test_rate_is_share_of_slots(lex):
    full = spin(ARTICLE, seed=0, rate=1.0, lexicon=lex)
    third = spin(ARTICLE, seed=0, rate=0.3, lexicon=lex)
    assert len(full.edits) > 10
    assert abs(len(third.edits) - 0.3 * len(full.edits)) <= 1


def test_names_numbers_and_acronyms_stay(lex):
    r = spin(ARTICLE, seed=3, rate=1.0, lexicon=lex)
    for kept in ("Vladimir Putin", "Kazakhstan", "Kremlin", "Tuesday", "2022", "3.2", "12 "):
        assert kept in r.text
    for e in r.edits:
        assert not any(c.isdigit() for c in e["original"])


def test_casing_follows_replaced_text():
    lex = Lexicon([Entry("economic system", "economy", "phrases", 0.0), Entry("shall be", "will be", "phrases", 0.0)])
    r = spin("Economy first. THE ECONOMY will be fine.", rate=1.0, lexicon=lex)
    # "ECONOMY" is all capitals mid-sentence: an acronym-like word, left alone.
    assert r.text == "Economic system first. THE ECONOMY shall be fine."


def test_curly_apostrophe_kept():
    lex = Lexicon([Entry("ain't", "isn't", "phrases", 0.0)])
    assert spin("It isn’t raining.", rate=1.0, lexicon=lex).text == "It ain’t raining."
    assert spin("It isn't raining.", rate=1.0, lexicon=lex).text == "It ain't raining."


def test_phrases_never_cross_punctuation_or_lines():
    lex = Lexicon([Entry("shall be", "will be", "phrases", 0.0)])
    text = "It will, be fine. It will\nbe fine. It will  be fine."
    r = spin(text, rate=1.0, lexicon=lex)
    assert r.text == "It will, be fine. It will\nbe fine. It shall be fine."


def test_phrase_style_prefers_phrase_table():
    lex = Lexicon(
        [
            Entry("economic system", "economy", "phrases", 0.0),
            Entry("thrift", "economy", "moby", 0.0),
            Entry("swiftly", "quickly", "moby", 0.0),
        ]
    )
    text = "The economy grew quickly. " * 10
    r = spin(text, seed=0, rate=0.5, style="phrase", lexicon=lex)
    spun = [e["spun"] for e in r.edits]
    # Ten phrase-table slots among twenty: at rate 0.5 exactly those, with
    # phrase-table alternatives only.
    assert spun == ["economic system"] * 10
    assert {e["source"] for e in r.edits} == {"phrases"}


def test_word_style_draws_from_all_alternatives():
    lex = Lexicon([Entry("economic system", "economy", "phrases", 0.0), Entry("thrift", "economy", "moby", 0.0)])
    r = spin("The economy grew. " * 40, seed=0, rate=1.0, lexicon=lex)
    assert {e["spun"] for e in r.edits} == {"economic system", "thrift"}


def test_bad_arguments(lex):
    with pytest.raises(ValueError, match="style"):
        spin("text", style="heavy", lexicon=lex)
    with pytest.raises(ValueError, match="rate"):
        spin("text", rate=1.5, lexicon=lex)


def test_spin_many_and_records(lex):
    texts = [ARTICLE, "", "Nothing here 123."]
    many = list(spin_many(texts, seed=7, lexicon=lex))
    assert many == [spin(t, seed=7, lexicon=lex) for t in texts]
    d = many[0].to_dict()
    assert set(d) == {"text", "edits"} and d["text"] == many[0].text
    assert pickle.loads(pickle.dumps(many[0])) == many[0]
