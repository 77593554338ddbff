"""Source tracing: fingerprints, alignment, the SQLite index, trace(), the band join, the CLI.

Nothing here is timed; the figures live in benchmarks/bench_trace.py.
"""
from __future__ import annotations

import json
import os
import pickle
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unspin.fingerprint import (
    DEFAULT_PARAMS,
    FingerprintParams,
    MinHasher,
    band_keys,
    classify,
    fingerprint,
    hash32,
    is_empty,
    shingles,
)
from unspin.index import Index, IndexFormatError, Source
from unspin.join import JoinStats, join
from unspin.lexicon import CLOSED_CLASS
from unspin.spin import spin
from unspin.text import tokenize
from unspin.trace import AlignedSpan, Match, TraceConfig, TraceResult, align, trace

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------
# Data


@pytest.fixture(scope="module")
def news():
    """(id, text) of 60 clean news articles (gensim's Lee corpus, via unspin.corpus)."""
    from unspin.corpus import documents

    docs = documents("news")[:60]
    return [(d.id, d.text) for d in docs]


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def foreign_spin(text: str, seed: int, rate: float) -> str:
    """A spinner with a thesaurus we do not have: lower-case content words -> unknown strings."""
    rng = random.Random(seed)
    out, pos = [], 0
    for t in tokenize(text):
        w = t.text
        if t.is_word and w.isalpha() and w.islower() and w not in CLOSED_CLASS and rng.random() < rate:
            out += [text[pos : t.start], "zz" + w[::-1]]
            pos = t.end
    out.append(text[pos:])
    return "".join(out)


@pytest.fixture(scope="module")
def index_path(tmp_path_factory, news):
    """An index of the first 40 articles; the other 20 stay out (absent sources)."""
    path = tmp_path_factory.mktemp("trace") / "sources.db"
    with Index.open(path, create=True) as ix:
        ix.add(Source(i, t, f"https://example.org/{k}") for k, (i, t) in enumerate(news[:40]))
    return path


# --------------------------------------------------------------------------
# Fingerprints


def test_word_classes():
    got = [(c.token.text, c.cls) for c in classify("Yesterday the PM met 500 farmers in Goulburn.\nHuge fires burn.")]
    assert got == [
        ("Yesterday", "F"),
        ("the", "S"),  # the phrase table swaps it ("your entire" <- "the entire")
        ("PM", "N"),
        ("met", "M"),
        ("500", "N"),  # (but "12" is S: the phrase table writes "twelfth" for "12th")
        ("farmers", "M"),
        ("in", "S"),  # "within the" <- "in the"
        ("Goulburn", "N"),
        ("Huge", "M"),  # a capital after a line break opens a sentence
        ("fires", "M"),
        ("burn", "M"),
    ]


@pytest.mark.parametrize("style,rate", [("word", 0.2), ("word", 0.5), ("word", 1.0), ("phrase", 0.5)])
def test_shingles_survive_the_spinner(news, style, rate):
    texts = [t for _, t in news[:30]]
    sims = [jaccard(shingles(t), shingles(spin(t, seed=k, style=style, rate=rate).text)) for k, t in enumerate(texts)]
    # At similarity 0.5 a document still shares a band with the query with
    # probability 1 - (1 - 0.5**4)**32 = 0.87; the mean is far above.
    assert min(sims) > 0.5 and np.mean(sims) > 0.8


def test_shingles_survive_a_foreign_thesaurus(news):
    # Replacement words we have never seen do not touch the fingerprint.
    sims = [jaccard(shingles(t), shingles(foreign_spin(t, k, 0.5))) for k, (_, t) in enumerate(news[:30])]
    assert min(sims) > 0.9


def test_unrelated_articles_share_little(news):
    sets = [shingles(t) for _, t in news[:30]]
    sims = [jaccard(a, b) for i, a in enumerate(sets) for b in sets[i + 1 :]]
    assert max(sims) < 0.3 and np.mean(sims) < 0.05


def test_every_text_with_words_has_a_fingerprint():
    # Abstract prose with no names, numbers or stable function words still
    # gets shingles (the w: family), so it can be found.
    text = "In mathematics, the mean is the sum of a collection of numbers divided by the number of numbers."
    assert shingles(text) and fingerprint(text).keys


_MUTABLE = ["huge", "massive", "said", "stated", "fire", "blaze", "home", "house", "quickly", "rapidly"]
_SWAPPED = ["in", "within", "during", "the", "a", "an"]
_FIXED = ["she", "they", "Sydney", "Goulburn", "500", "2001", "Monday", "NSW"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_MUTABLE + _SWAPPED + _FIXED), min_size=1, max_size=40), st.randoms())
def test_rewriting_mutable_words_leaves_the_fingerprint(words, rnd):
    # Any content word for any other, any swappable function word for any other.
    def rewrite(w: str) -> str:
        return rnd.choice(_MUTABLE) if w in _MUTABLE else rnd.choice(_SWAPPED) if w in _SWAPPED else w

    # Five acronyms: enough immutables that the w: family (which keeps the
    # swappable words) stays out.
    text = "Officials of NSW, ACT, WA, SA and NT said " + " ".join(words) + "."
    spun = "Officials of NSW, ACT, WA, SA and NT said " + " ".join(map(rewrite, words)) + "."
    assert shingles(text) == shingles(spun)
    assert fingerprint(text).keys == fingerprint(spun).keys


def test_minhasher_is_datasketch_affine32():
    datasketch = pytest.importorskip("datasketch")
    items = [f"s:shingle {i}" for i in range(300)]
    ours = MinHasher(128, seed=7).signature(items)
    m = datasketch.MinHash(num_perm=128, seed=7, hashfunc=hash32, scheme="affine32")
    m.update_batch(items)
    assert ours.tolist() == m.hashvalues.tolist()


def test_fingerprint_is_the_same_in_another_process(news):
    text = news[0][1]
    code = (
        "import sys, json; from unspin.fingerprint import fingerprint; "
        "print(json.dumps(fingerprint(sys.stdin.read()).keys))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    p = subprocess.run([sys.executable, "-c", code], input=text, capture_output=True, text=True, env=env, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == fingerprint(text).keys


def test_band_keys_and_empty_documents():
    sig = MinHasher(128, seed=1).signature(["a", "b", "c"])
    keys = band_keys(sig, 32)
    assert len(keys) == 32 and len(set(keys)) == 32 and all(-(2**63) <= k < 2**63 for k in keys)
    empty = fingerprint("")
    assert is_empty(empty.signature) and empty.keys == []


def test_params_validate_and_round_trip():
    p = FingerprintParams(num_perm=64, bands=16, seed=3)
    assert FingerprintParams.from_json(p.to_json()) == p
    with pytest.raises(ValueError):
        FingerprintParams(num_perm=100, bands=32)
    with pytest.raises(ValueError):
        FingerprintParams.from_json(json.dumps({"version": "0", "num_perm": 128}))


def test_what_crosses_a_process_boundary_pickles(news):
    mh = MinHasher(32, seed=5)
    mh2 = pickle.loads(pickle.dumps(mh))
    assert (mh2.signature(["x", "y"]) == mh.signature(["x", "y"])).all()
    for obj in (DEFAULT_PARAMS, TraceConfig(min_coverage=0.3), JoinStats(1, 2, 3, 4, 5)):
        assert pickle.loads(pickle.dumps(obj)) == obj
    r = TraceResult([Match("a", None, 1.0, 1.0, [AlignedSpan(0, 1, 0, 1, [])], 1.0)], 1, 1.0)
    assert pickle.loads(pickle.dumps(r)) == r


# --------------------------------------------------------------------------
# Alignment

_VOCAB = ["the", "fire", "blaze", "Sydney", "of", "500", "homes", "houses", "near", "said", "police", "town", "a"]
_SEP = [" ", " ", " ", ", ", ". ", "\n", "  "]


@st.composite
def _texts(draw, min_size=0):
    words = draw(st.lists(st.sampled_from(_VOCAB), min_size=min_size, max_size=60))
    seps = draw(st.lists(st.sampled_from(_SEP), min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, seps))


def _check_alignment(q: str, s: str, a) -> None:
    assert 0.0 <= a.coverage <= 1.0 and 0.0 <= a.source_coverage <= 1.0
    last_q = last_s = 0
    for sp in a.spans:
        assert last_q <= sp.query_start < sp.query_end <= len(q)
        assert last_s <= sp.source_start < sp.source_end <= len(s)
        last_q, last_s = sp.query_end, sp.source_end
        prev_q = sp.query_start
        for sub in sp.substitutions:
            assert sp.query_start <= sub["query_start"] <= sub["query_end"] <= sp.query_end
            assert sp.source_start <= sub["source_start"] <= sub["source_end"] <= sp.source_end
            assert q[sub["query_start"] : sub["query_end"]] == sub["query"]
            assert s[sub["source_start"] : sub["source_end"]] == sub["source"]
            assert sub["query_start"] >= prev_q
            prev_q = sub["query_end"]
            assert sub["query"] or sub["source"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts(), _texts())
def test_alignment_offsets_are_valid_on_both_sides(q, s):
    _check_alignment(q, s, align(q, s, TraceConfig(min_span_words=2, min_span_density=0.2)))
    _check_alignment(q, s, align(q, s))


@settings(max_examples=60, deadline=None)
@given(_texts(min_size=6))
def test_a_text_aligns_fully_with_itself(t):
    a = align(t, t)
    assert a.coverage == 1.0 and a.source_coverage == 1.0
    assert all(not sp.substitutions for sp in a.spans)


def test_substitutions_are_the_spinners_edits(news):
    text = news[3][1]
    r = spin(text, seed=11, rate=0.5)
    a = align(r.text, text)
    assert a.coverage > 0.95
    _check_alignment(r.text, text, a)
    subs = [s for sp in a.spans for s in sp.substitutions]
    covered = sum(
        any(s["query_start"] <= e["spun_start"] and e["spun_end"] <= s["query_end"] for s in subs) for e in r.edits
    )
    assert covered >= 0.9 * len(r.edits)
    # ... and the source side of each substitution is the original wording there.
    originals = {(e["orig_start"], e["orig_end"]) for e in r.edits}
    assert sum((s["source_start"], s["source_end"]) in originals for s in subs) >= 0.8 * len(subs)


def test_unrelated_articles_do_not_align(news):
    covs = [align(news[i][1], news[j][1]).coverage for i in range(10) for j in range(10, 20)]
    assert max(covs) < 0.2


# --------------------------------------------------------------------------
# The index


def test_index_add_update_and_reread(tmp_path, news):
    path = tmp_path / "ix.db"
    with Index.open(path, create=True) as ix:
        st1 = ix.add([("a", news[0][1]), {"id": "b", "text": news[1][1], "url": "https://b"}])
        assert (st1.added, st1.updated, st1.unchanged) == (2, 0, 0)
        st2 = ix.add([("a", news[0][1]), ("b", news[2][1], "https://b2")])
        assert (st2.added, st2.updated, st2.unchanged) == (0, 1, 1)
        assert len(ix) == 2 and "b" in ix and ix.get("b").url == "https://b2"
    with Index.open(path) as ix:  # reopened: same content, same parameters
        assert ix.get("b").text == news[2][1]
        assert ix.params == DEFAULT_PARAMS
        # b's old text no longer leads to b; its new text does.
        old = trace(spin(news[1][1], seed=1, rate=0.3).text, ix, normalize=None)
        new = trace(spin(news[2][1], seed=1, rate=0.3).text, ix, normalize=None)
        assert [m.source_id for m in old.matches] == []
        assert [m.source_id for m in new.matches][:1] == ["b"]
        n_bands = ix._conn.execute("SELECT COUNT(*) FROM bands").fetchone()[0]
        assert n_bands == 2 * DEFAULT_PARAMS.bands
        assert ix.remove(["a", "zzz"]) == 1 and len(ix) == 1
        assert ix._conn.execute("SELECT COUNT(*) FROM bands").fetchone()[0] == DEFAULT_PARAMS.bands


def _bands_per_doc(ix) -> set[int]:
    rows = ix._conn.execute(
        "SELECT d.rowid, COUNT(b.key) FROM documents d LEFT JOIN bands b ON b.doc = d.rowid GROUP BY d.rowid"
    )
    return {n for _, n in rows}


def test_interrupted_build_leaves_a_usable_index(tmp_path, news):
    path = tmp_path / "ix.db"

    def records():
        for k, (i, t) in enumerate(news[:23]):
            if k == 17:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the third batch
            yield i, t

    with Index.open(path, create=True) as ix:
        with pytest.raises(KeyboardInterrupt):
            ix.add(records(), batch_size=8)
    with Index.open(path) as ix:
        assert len(ix) == 16  # two whole batches, nothing of the third
        assert _bands_per_doc(ix) == {DEFAULT_PARAMS.bands}
        r = trace(spin(news[5][1], seed=2, rate=0.5).text, ix, normalize=None)
        assert r.matches[0].source_id == news[5][0]
        ix.add(news[16:20])  # and the build can go on
        assert len(ix) == 20


class _FailingConnection:
    """Delegates to a real connection but fails when the band rows are written."""

    def __init__(self, conn):
        self._c = conn

    def executemany(self, sql, rows):
        if "INTO bands" in sql:
            raise sqlite3.OperationalError("disk I/O error (simulated)")
        return self._c.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self._c, name)


def test_failure_inside_a_transaction_rolls_the_batch_back(tmp_path, news):
    path = tmp_path / "ix.db"
    with Index.open(path, create=True) as ix:
        ix.add(news[:5])
        real = ix._conn
        ix._conn = _FailingConnection(real)
        with pytest.raises(sqlite3.OperationalError):
            ix.add(news[5:10])  # documents rows were inserted, then the band rows failed
        ix._conn = real
        assert len(ix) == 5 and not real.in_transaction
        assert _bands_per_doc(ix) == {DEFAULT_PARAMS.bands}


def test_concurrent_reader_during_a_write(tmp_path, news):
    path = tmp_path / "ix.db"
    with Index.open(path, create=True) as ix:
        ix.add(news[:5])
        assert ix._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM documents")  # uncommitted
    try:
        with Index.open(path, readonly=True) as reader:
            assert len(reader) == 5
            assert trace(news[2][1], reader, normalize=None).matches[0].source_id == news[2][0]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_missing_corrupt_and_foreign_files(tmp_path, index_path):
    with pytest.raises(FileNotFoundError):
        Index.open(tmp_path / "nope.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    with pytest.raises(IndexFormatError, match="not a usable index"):
        Index.open(junk)
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(IndexFormatError, match="not an unspin trace index"):
        Index.open(foreign, create=True)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(IndexFormatError, match="empty"):
        Index.open(empty)
    # A damaged index: the first pages kept, the rest overwritten.
    damaged = tmp_path / "damaged.db"
    data = bytearray(index_path.read_bytes())
    assert len(data) > 16384
    data[8192:] = os.urandom(len(data) - 8192)
    damaged.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError):
        with Index.open(damaged) as ix:
            for _, t in [("x", "The fire near Goulburn burned 500 homes, police said on Monday.")] * 3:
                trace(t, ix, normalize=None)
            ix._conn.execute("PRAGMA integrity_check").fetchall()
            list(ix.ids())
            [ix.get(i) for i in ix.ids()]


def test_index_from_another_recipe_or_schema(tmp_path, news):
    for key, value, msg in (("schema", "99", "schema"), ("fingerprint", '{"version": "0"}', "recipe")):
        path = tmp_path / f"{key}.db"
        with Index.open(path, create=True) as ix:
            ix.add(news[:1])
        con = sqlite3.connect(path)
        con.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
        con.commit()
        con.close()
        with pytest.raises(IndexFormatError, match=msg):
            Index.open(path)


def test_an_index_notices_a_changed_lexicon(tmp_path, news):
    path = tmp_path / "ix.db"
    with Index.open(path, create=True) as ix:
        ix.add(news[:3])
        assert not ix.vocabulary_changed
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = 'older' WHERE key = 'vocabulary'")
    con.commit()
    con.close()
    with Index.open(path) as ix:
        assert ix.vocabulary_changed
        with pytest.warns(UserWarning, match="rebuild"):
            r = trace(news[1][1], ix, normalize=None)
        assert r.matches[0].source_id == news[1][0]  # still answers


def test_an_index_does_not_pickle(index_path):
    with Index.open(index_path) as ix, pytest.raises(TypeError, match="path"):
        pickle.dumps(ix)


# --------------------------------------------------------------------------
# trace()


@pytest.mark.parametrize("rate", [0.2, 0.35, 0.5, 1.0])
def test_trace_finds_the_source(index_path, news, rate):
    with Index.open(index_path) as ix:
        for k, (sid, text) in enumerate(news[:40:4]):
            r = trace(spin(text, seed=k, rate=rate).text, ix, normalize=None)
            assert r.matches and r.matches[0].source_id == sid
            assert r.matches[0].coverage > 0.8 and r.matches[0].url.startswith("https://example.org/")


def test_trace_with_the_default_restoring_normaliser(index_path, news):
    sid, text = news[7]
    r = trace(spin(text, seed=3, rate=0.5).text, str(index_path))  # a path works too
    assert r.matches[0].source_id == sid


def test_trace_survives_a_foreign_thesaurus(index_path, news):
    with Index.open(index_path) as ix:
        for k, (sid, text) in enumerate(news[:40:5]):
            r = trace(foreign_spin(text, k, 0.5), ix, normalize=None)
            assert r.matches and r.matches[0].source_id == sid


def test_absent_sources_get_no_match(index_path, news):
    with Index.open(index_path) as ix:
        for k, (_, text) in enumerate(news[40:]):
            r = trace(spin(text, seed=k, rate=0.35).text, ix, normalize=None)
            assert r.matches == [], (k, r.matches[0].source_id, r.matches[0].coverage)
            assert r.best_coverage < TraceConfig().min_coverage


def test_trace_result_is_json_ready(index_path, news):
    with Index.open(index_path) as ix:
        r = trace(spin(news[0][1], seed=0, rate=0.5).text, ix, normalize=None, top_k=2)
    d = json.loads(json.dumps(r.to_dict()))
    m = d["matches"][0]
    assert set(m) >= {"source_id", "url", "score", "coverage", "alignment"}
    assert set(m["alignment"][0]) == {"query_start", "query_end", "source_start", "source_end", "substitutions"}


# --------------------------------------------------------------------------
# The band join


def _join_input(news):
    sources = [{"id": i, "text": t, "url": f"https://s/{k}" if k % 2 else None} for k, (i, t) in enumerate(news[:25])]
    suspects = [{"id": f"q{k}", "text": spin(news[k][1], seed=k, rate=0.5).text} for k in range(0, 25, 3)]
    suspects += [{"id": "absent", "text": spin(news[50][1], seed=1, rate=0.5).text}]
    return suspects, sources


def test_local_join(news):
    suspects, sources = _join_input(news)
    stats = JoinStats()
    out = join(suspects, sources, stats=stats)
    assert [r["id"] for r in out] == [s["id"] for s in suspects]
    got = {r["id"]: [m["source_id"] for m in r["matches"]] for r in out}
    for k in range(0, 25, 3):
        assert got[f"q{k}"] == [news[k][0]]
    assert got["absent"] == []
    assert stats.suspects == len(suspects) and stats.sources == 25 and stats.matched == len(suspects) - 1


def test_join_stages_are_plain_functions():
    from unspin.join import bucket_pairs, explode, signatures, top_candidates

    recs = [{"id": "s", "text": "The fire near Goulburn burned 500 homes, police said on Monday."}]
    rows = list(explode(signatures(recs, "source")))
    assert len(rows) == DEFAULT_PARAMS.bands and {r["source"] for r in rows} == {"s"}
    bucket = [dict(rows[0]), dict(rows[0], kind="suspect", suspect="q", source="")]
    assert [(p["suspect"], p["source"]) for p in bucket_pairs(bucket)] == [("q", "s")]
    assert [p["kind"] for p in bucket_pairs(bucket, max_bucket=1)] == ["skipped"]  # boilerplate-sized bucket
    pairs = [dict(p, source=src) for p in bucket_pairs(bucket) for src in ("b", "a", "b")]
    assert [(c["source"], c["shared"]) for c in top_candidates(pairs, limit=5)] == [("b", 2), ("a", 1)]
    assert pickle.loads(pickle.dumps(rows)) == rows


@pytest.mark.ray
def test_ray_join_equals_local_join(news):
    pytest.importorskip("ray")
    suspects, sources = _join_input(news)
    local_stats, ray_stats = JoinStats(), JoinStats()
    local = join(suspects, sources, stats=local_stats, top_k=2)
    on_ray = join(suspects, sources, engine="ray", num_cpus=2, stats=ray_stats, top_k=2)
    assert on_ray == local
    assert ray_stats == local_stats


# --------------------------------------------------------------------------
# The command line


def _run(*args: str, input: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C.UTF-8")
    return subprocess.run(
        [sys.executable, "-m", "unspin.trace_cli", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=300,
    )


def test_cli_index_query_report_and_join(tmp_path, news):
    src = tmp_path / "sources.jsonl"
    with open(src, "w") as f:
        for k, (i, t) in enumerate(news[:20]):
            f.write(json.dumps({"id": i, "text": t, "url": f"https://example.org/{k}"}) + "\n")
        f.write("{broken\n")
    article = tmp_path / "article.txt"
    article.write_text(news[20][1])
    db = tmp_path / "ix.db"

    p = _run("index", str(db), str(src), str(article))
    assert p.returncode == 0, p.stderr
    assert "sources.jsonl:21: record skipped" in p.stderr and "21 new" in p.stderr

    queries = tmp_path / "q.jsonl"
    with open(queries, "w") as f:
        f.write(json.dumps({"id": 1, "text": spin(news[4][1], seed=4, rate=0.5).text}) + "\n")
        f.write(json.dumps({"id": "txt", "text": spin(news[20][1], seed=5, rate=0.35).text}) + "\n")
        f.write(json.dumps({"id": "absent", "text": spin(news[45][1], seed=6, rate=0.35).text}) + "\n")
        f.write(json.dumps({"id": "no-text"}) + "\n")
    out = tmp_path / "out.jsonl"
    p = _run("query", str(db), str(queries), "-o", str(out))
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, "txt", "absent", "no-text"]
    assert rows[0]["matches"][0]["source_id"] == news[4][0]
    assert rows[0]["matches"][0]["url"] == "https://example.org/4"
    assert rows[1]["matches"][0]["source_id"] == str(article)
    assert rows[2]["matches"] == []
    assert "error" in rows[3] and rows[3]["line"] == 4

    spun = spin(news[9][1], seed=9, rate=0.5)
    p = _run("query", str(db), "-", input=spun.text)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"1. {news[9][0]}  https://example.org/9\n")
    assert "substitution" in p.stdout and "<-" in p.stdout
    p = _run("query", str(db), "-", input=spin(news[50][1], seed=1).text)
    assert p.returncode == 0 and p.stdout.startswith("no match")

    suspects = tmp_path / "suspects.jsonl"
    lines = [json.dumps({"id": f"s{k}", "text": spin(news[k][1], seed=k).text}) + "\n" for k in (2, 7)]
    suspects.write_text("".join(lines))
    p = _run("join", "--engine", "local", str(suspects), str(src), "-o", str(tmp_path / "j.jsonl"))
    assert p.returncode == 0, p.stderr
    joined = [json.loads(x) for x in (tmp_path / "j.jsonl").read_text().splitlines()]
    assert [(r["id"], r["matches"][0]["source_id"]) for r in joined] == [("s2", news[2][0]), ("s7", news[7][0])]


def test_cli_errors_are_one_line(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database, just some bytes " * 200)
    q = tmp_path / "q.jsonl"
    q.write_text('{"id": 1, "text": "x"}\n')
    for args in (("query", str(junk), str(q)), ("query", str(tmp_path / "missing.db"), str(q))):
        p = _run(*args)
        assert p.returncode == 1
        assert p.stderr.count("\n") == 1 and p.stderr.startswith("unspin: error: ")
        assert "Traceback" not in p.stderr


def test_main_cli_runs_the_trace_commands(tmp_path, news):
    from unspin import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    if "trace" not in sub.choices:
        pytest.skip("unspin.cli does not register the trace command yet")
    src = tmp_path / "s.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in news[:5]))
    db = tmp_path / "ix.db"
    env = dict(os.environ, LC_ALL="C.UTF-8")

    def unspin(*args, input=""):
        return subprocess.run([sys.executable, "-m", "unspin", "trace", *args], input=input, text=True,
                              capture_output=True, cwd=ROOT, env=env, timeout=300)

    p = unspin("index", str(db), str(src))
    assert p.returncode == 0, p.stderr
    p = unspin("query", str(db), "-", input=spin(news[3][1], seed=3, rate=0.5).text)
    assert p.returncode == 0 and p.stdout.startswith(f"1. {news[3][0]}\n"), p.stdout + p.stderr
    (tmp_path / "junk.db").write_bytes(b"not a database " * 500)
    p = unspin("query", str(tmp_path / "junk.db"), "-", input="x")
    assert p.returncode == 1 and p.stderr.startswith("unspin: error: ") and p.stderr.count("\n") == 1
