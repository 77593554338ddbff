"""unspin.bench's short- and long-text figures."""
from unspin import bench
from unspin.config import Config
from unspin.lexicon import load_lexicon
from unspin.text import sentences


def test_short_texts_are_each_documents_first_sentences():
    docs = bench._test_docs(12)
    pairs = list(bench.short_texts(docs, load_lexicon()))
    assert pairs
    got = iter(pairs)
    for i, d in enumerate(docs):
        ends = [e for _, e in sentences(d.text)]
        k = 1 + i % 3
        if len(ends) <= k:
            continue  # a document no longer than its cut gives no short text
        clean, spun = next(got)
        assert clean == d.text[: ends[k - 1]]
        assert spun != clean
    assert next(got, None) is None


def _assert_every_text_counted_once_per_bucket(fig, buckets):
    rows = fig["buckets"]
    parts = [r for name, r in rows.items() if name != "all"]
    assert len(parts) == len(buckets)
    for key, total in rows["all"].items():
        assert sum(r[key] for r in parts) == total
    assert rows["all"]["clean"] == rows["all"]["spun"] == fig["texts"] // 2
    for r in parts:
        assert r["clean_changed"] <= r["clean"] and r["spun_called_spun"] <= r["spun"]


def test_short_figures_count_every_text_once_per_bucket():
    docs = bench._test_docs(9)
    fig = bench.short_figures(Config(fast=True), docs, load_lexicon())
    _assert_every_text_counted_once_per_bucket(fig, bench.SHORT_BUCKETS)


def test_long_texts_join_consecutive_documents():
    docs = bench._test_docs(7)
    pairs = list(bench.long_texts(docs, load_lexicon()))
    assert len(pairs) == len(docs) // bench.LONG_JOIN == 2  # the last, incomplete group is left out
    for k, (clean, spun) in enumerate(pairs):
        part = docs[k * bench.LONG_JOIN : (k + 1) * bench.LONG_JOIN]
        assert clean == "\n\n".join(d.text for d in part)
        assert spun != clean


def test_long_figures_count_every_text_once_per_bucket():
    docs = bench._test_docs(9)
    fig = bench.long_figures(Config(fast=True), docs, load_lexicon())
    _assert_every_text_counted_once_per_bucket(fig, bench.LONG_BUCKETS)
    rows = fig["buckets"]
    assert rows["all"]["clean"] == 3
    # Three joined test documents are clean, and their spun copies spun.
    assert rows["all"]["clean_called_spun"] == rows["all"]["clean_changed"] == 0
    assert rows["all"]["spun_called_spun"] == 3
