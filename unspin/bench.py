"""The benchmark behind ``unspin bench``: the figures the README reports.

Four parts, each a section of the returned dict (and of the JSON file):

``synthetic``
    The held-out *test* split of the sample corpus (:mod:`unspin.corpus`,
    news and Wikipedia; never used for tuning).  Each document is scored
    clean and spun twice with :func:`unspin.spin.spin` (styles ``word`` and
    ``phrase``, rate 0.3, fixed seeds), which gives:

    * document detection: ROC-AUC, best F1 (and its threshold) and F1 at the
      configured ``doc_threshold``, spun copies against clean documents;
    * spans: precision / recall / F1 of the detector's spans against the
      spinner's edits in the spun text, by overlap, micro-averaged;
    * restoration: recovery, micro-averaged over documents
      (``1 - sum errors(restored) / sum errors(spun)``, word errors against
      the original, see :func:`unspin.metrics.recovery`);
    * false edits: word errors of ``restore(clean)`` against ``clean`` per
      clean word, and how many clean documents came back changed.

    Figures are given for all documents and broken down by style and source.

``short``
    The same documents' first one to three sentences, clean and spun
    (styles by turns): per length bucket, clean texts called spun and
    changed, spun texts called spun (:func:`short_figures`).  A document
    model needs evidence to accumulate; this is where it runs short.

``long``
    The same documents joined :data:`LONG_JOIN` at a time, clean and spun:
    the same counts (:func:`long_figures`).  A document model must not take
    length itself for evidence (the 2026-11-28 calibration did, and called
    most clean texts of 900 words or more spun).

``throughput``
    Words per second of restoration over all the texts above (clean and
    spun), model load excluded, and peak resident memory of the process.  In
    accurate mode the same texts are restored again in fast mode, and
    ``lm_floor`` gives the words per second of a bare language-model forward
    pass over the same sentences (:func:`unspin.lm.forward_floor`), measured
    before and after the accurate run (``runs``) and averaged, with the
    accurate mode's speed as a share of it.

``real``
    The real pages in ``real-dev/`` (``spun_pages.jsonl``,
    ``clean_pages.jsonl``): every page's spun probability; whether the least
    suspicious spun page still scores above the most suspicious clean one;
    recovery on the spun pages that have their original, scored on paired
    paragraphs (paired by word similarity >= :data:`PARAGRAPH_MIN_SIMILARITY`,
    unpaired paragraphs skipped and counted).

Documents stream through :func:`unspin.restore.restore_many`; only per-document
numbers are kept, never the texts.
"""
from __future__ import annotations

import difflib
import json
import math
import os
import platform
import re
import resource
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .config import Config
from .text import word_count

#: The spinner settings of the synthetic benchmark (the seed is mixed with a
#: hash of each text, so one seed per style gives every document its own spin).
STYLES = ("word", "phrase")
SEEDS = {"word": 1, "phrase": 2}
RATE = 0.3

#: Spun and original paragraphs of a real page are paired when the
#: difflib ratio of their lower-cased word lists reaches this.  Spun pages
#: keep 50-85% of their words in place (data/README.md), so true pairs score
#: well above it and unrelated paragraphs well below.
PARAGRAPH_MIN_SIMILARITY = 0.3

DEFAULT_REAL_DEV = Path("..") / "shared" / "data" / "real-dev"


# --------------------------------------------------------------------------
# Accumulating the synthetic figures


@dataclass
class _Tally:
    scores: list[float] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    span: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # see metrics.span_counts
    err_spun: int = 0
    err_restored: int = 0
    orig_words_spun: int = 0  # words of the originals of spun texts
    n_spun: int = 0
    n_clean: int = 0
    clean_words: int = 0
    clean_errors: int = 0
    clean_changed: int = 0

    def summary(self, threshold: float) -> dict[str, Any]:
        from . import metrics

        out: dict[str, Any] = {"spun_docs": self.n_spun, "clean_docs": self.n_clean}
        if self.n_spun and self.n_clean:
            f1, t = metrics.best_f1(self.scores, self.labels)
            out.update(
                roc_auc=metrics.roc_auc(self.scores, self.labels),
                best_f1=f1,
                best_f1_threshold=t,
                f1_at_threshold=metrics.f1_at(self.scores, self.labels, threshold),
                threshold=threshold,
            )
        if self.n_spun:
            p, r, f = metrics.prf(*self.span)
            out.update(
                span_precision=p,
                span_recall=r,
                span_f1=f,
                spans_predicted=self.span[1],
                spans_true=self.span[3],
                wer_spun=self.err_spun / max(self.orig_words_spun, 1),
                wer_restored=self.err_restored / max(self.orig_words_spun, 1),
                recovery=1.0 - self.err_restored / max(self.err_spun, 1),
            )
        if self.n_clean:
            out.update(
                false_edit_rate=self.clean_errors / max(self.clean_words, 1),
                clean_docs_changed=self.clean_changed,
            )
        return out


@dataclass
class _Item:
    source: str
    style: str | None  # None: the clean document itself
    original: str
    truth: list[tuple[int, int]]  # the spinner's edits, offsets into the spun text
    spun_errors: int  # word errors of the spun text against the original


def _test_docs(limit_docs: int | None, split: str = "test"):
    """Test-split documents (or ``split``'s), news and wiki interleaved so
    any prefix mixes both."""
    from . import corpus

    by_source = [corpus.split(corpus.documents(s), split) for s in corpus.SOURCES]
    out = []
    for k in range(max(len(x) for x in by_source)):
        for docs in by_source:
            if k < len(docs):
                out.append(docs[k])
    return out[:limit_docs] if limit_docs is not None else out


class _Texts:
    """The texts to restore (each document clean, then spun in each style),
    made lazily and re-iterable with the same result.

    With ``keep_meta``, what each text is goes into :attr:`meta` as it is
    made, for the consumer to pop in order.  :attr:`seconds` is the time
    spent making texts, which the consumer subtracts from the time spent
    pulling results through the restorer.
    """

    def __init__(self, docs, lexicon, keep_meta: bool = False):
        self.docs = docs
        self.lexicon = lexicon
        self.keep_meta = keep_meta
        self.meta: deque[_Item] = deque()
        self.seconds = 0.0
        self.words = 0

    def __iter__(self) -> Iterator[str]:
        from . import metrics
        from .spin import spin

        for d in self.docs:
            t0 = time.perf_counter()
            orig_words = metrics.words(d.text) if self.keep_meta else []
            variants = [(None, d.text, [], 0)]
            for style in STYLES:
                r = spin(d.text, seed=SEEDS[style], style=style, rate=RATE, lexicon=self.lexicon)
                truth = [(e["spun_start"], e["spun_end"]) for e in r.edits]
                errs = metrics.levenshtein(metrics.words(r.text), orig_words) if self.keep_meta else 0
                variants.append((style, r.text, truth, errs))
            self.seconds += time.perf_counter() - t0
            for style, text, truth, errs in variants:
                t0 = time.perf_counter()
                self.words += word_count(text)
                if self.keep_meta:
                    self.meta.append(_Item(d.source, style, d.text, truth, errs))
                self.seconds += time.perf_counter() - t0
                yield text


def _timed(texts: _Texts, config: Config) -> Iterator[tuple[Any, float]]:
    """(restoration, seconds spent in the restorer for it), in input order."""
    from .restore import restore_many

    it = restore_many(iter(texts), config)
    while True:
        made = texts.seconds
        t0 = time.perf_counter()
        try:
            r = next(it)
        except StopIteration:
            return
        yield r, (time.perf_counter() - t0) - (texts.seconds - made)


def _throughput(texts: _Texts, config: Config) -> dict[str, Any]:
    seconds = 0.0
    n = 0
    for _, s in _timed(texts, config):
        seconds += s
        n += 1
    return _speed(n, texts.words, seconds)


def _cold() -> None:
    """Empty the per-word memo caches --fast mode fills (n-gram scores,
    casing, channel scores), so that each --fast timing starts alike and
    none profits from one before it on the same texts."""
    from . import ngram, restore, text

    for f in (ngram.bigram_logp, ngram.unigram_logp, text.match_case, text._is_english_word):
        f.cache_clear()
    for f in (restore.channel_score, restore._split_words):
        f.cache_clear()


def _best_of(measure, runs: int = 3) -> dict[str, Any]:
    """The median of ``runs`` cold-cache --fast timings (each well under a
    second on the benchmark, so one alone is noisy), with every run's speed."""
    got = []
    for _ in range(runs):
        _cold()
        got.append(measure())
    got.sort(key=lambda r: r["words_per_second"] or 0.0)
    return {**got[len(got) // 2], "runs": [r["words_per_second"] for r in got]}


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _throughput_jobs(texts: _Texts, config: Config, jobs: int) -> dict[str, Any]:
    """Like :func:`_throughput`, on ``jobs`` worker processes as ``scan
    --jobs`` runs them; the workers' start is timed too."""
    from .cli import docs_per_batch
    from .parallel import restore_batches

    items = list(texts)  # spun before timing
    per = docs_per_batch(jobs)
    batches = [items[i : i + per] for i in range(0, len(items), per)]
    t0 = time.perf_counter()
    n = sum(len(outs) for _, outs in restore_batches(batches, list, config, jobs))
    return {**_speed(n, texts.words, time.perf_counter() - t0), "jobs": jobs}


def _speed(n: int, words: int, seconds: float) -> dict[str, Any]:
    return {
        "texts": n,
        "words": words,
        "seconds": round(seconds, 3),
        "words_per_second": words / seconds if seconds > 0 else None,
    }


def _warm_model(config: Config) -> float | None:
    """Load the language model before any timing; its load time in seconds."""
    if config.fast:
        return None
    from . import lm

    t0 = time.perf_counter()
    lm.get_scorer()
    return time.perf_counter() - t0


def _floor(docs, lexicon, config: Config, log) -> float:
    """Words per second of a bare LM pass over the benchmark's sentences."""
    from . import lm

    log("lm_floor: bare forward pass over the same sentences")
    return lm.forward_floor(iter(_Texts(docs, lexicon)), config)


def _warm_ngrams() -> float:
    """Load --fast mode's bigram tables and word frequencies before timing
    it (like the model for accurate mode); their load time in seconds."""
    from . import ngram
    from .text import english_share

    t0 = time.perf_counter()
    ngram.load()
    english_share("the word frequencies for the language check")
    return time.perf_counter() - t0


def _synthetic(config: Config, docs, lexicon, log) -> tuple[dict[str, Any], dict[str, Any]]:
    from . import metrics

    tallies = {k: _Tally() for k in ("all", *STYLES, "news", "wiki")}
    texts = _Texts(docs, lexicon, keep_meta=True)
    seconds = 0.0
    n_texts = done = 0
    for rest, secs in _timed(texts, config):
        seconds += secs
        n_texts += 1
        item = texts.meta.popleft()
        prob = rest.detection.spun_probability
        if item.style is None:
            errs, n = metrics.word_edits(rest.text, item.original)
            # A clean document is a negative for every style's figures.
            for k in ("all", *STYLES, item.source):
                t = tallies[k]
                t.scores.append(prob)
                t.labels.append(0)
                t.n_clean += 1
                t.clean_words += n
                t.clean_errors += errs
                t.clean_changed += rest.text != item.original
            continue
        counts = metrics.span_counts([(s.start, s.end) for s in rest.detection.spans], item.truth)
        e_rest, n_orig = metrics.word_edits(rest.text, item.original)
        for k in ("all", item.style, item.source):
            t = tallies[k]
            t.scores.append(prob)
            t.labels.append(1)
            t.n_spun += 1
            t.span = [a + b for a, b in zip(t.span, counts)]
            t.err_spun += item.spun_errors
            t.err_restored += e_rest
            t.orig_words_spun += n_orig
        if item.style == STYLES[-1]:
            done += 1
            if done % 10 == 0 or done == len(docs):
                log(f"synthetic: {done}/{len(docs)} documents, {texts.words:,} words")
    summary = {k: t.summary(config.doc_threshold) for k, t in tallies.items()}
    return summary, _speed(n_texts, texts.words, seconds)


# --------------------------------------------------------------------------
# Short texts

#: Word-count buckets of the short-text figures: [low, high) words.
SHORT_BUCKETS = ((0, 30), (30, 60), (60, None))


def leading_sentences(text: str, i: int) -> str | None:
    """The ``i``-th document's short text: its first ``1 + i % 3``
    sentences, or None where it has no more than that (the cut would be the
    whole document).  Calibration (benchmarks/calibrate.py) fits on the same
    cut of the train split."""
    from .text import sentences

    ends = [e for _, e in sentences(text)]
    k = 1 + i % 3
    return text[: ends[k - 1]] if len(ends) > k else None


def short_texts(docs, lexicon) -> Iterator[tuple[str, str]]:
    """(clean, spun) short texts: each document's :func:`leading_sentences`,
    spun in the two styles by turns at :data:`RATE`."""
    from .spin import spin

    for i, d in enumerate(docs):
        text = leading_sentences(d.text, i)
        if text is None:
            continue
        style = STYLES[i % 2]
        yield text, spin(text, seed=SEEDS[style], style=style, rate=RATE, lexicon=lexicon).text


def _bucket_name(low: int, high: int | None) -> str:
    return f"under {high}" if low == 0 else f"{low}-{high - 1}" if high else f"{low}+"


def short_figures(config: Config, docs, lexicon) -> dict[str, Any]:
    """How short texts fare: per length bucket (the clean text's words), how
    many clean texts are called spun and how many have words changed, and
    how many spun ones are called spun.  A document model needs evidence to
    accumulate, so these show where it stops being able to tell."""
    return _length_figures(config, list(short_texts(docs, lexicon)), SHORT_BUCKETS, len(docs))


#: Long texts: this many consecutive documents joined (see long_texts).
LONG_JOIN = 3
LONG_BUCKETS = ((0, 1000), (1000, None))


def long_texts(docs, lexicon) -> Iterator[tuple[str, str]]:
    """(clean, spun) long texts: :data:`LONG_JOIN` consecutive documents
    joined as paragraphs (a last, incomplete group is left out), spun in the
    two styles by turns at :data:`RATE`."""
    from .spin import spin

    for i in range(0, len(docs) - LONG_JOIN + 1, LONG_JOIN):
        text = "\n\n".join(d.text for d in docs[i : i + LONG_JOIN])
        style = STYLES[(i // LONG_JOIN) % 2]
        yield text, spin(text, seed=SEEDS[style], style=style, rate=RATE, lexicon=lexicon).text


def long_figures(config: Config, docs, lexicon) -> dict[str, Any]:
    """The counts of :func:`short_figures` for :func:`long_texts`."""
    return _length_figures(config, list(long_texts(docs, lexicon)), LONG_BUCKETS, len(docs))


def _length_figures(config: Config, pairs: list[tuple[str, str]], buckets, n_docs: int) -> dict[str, Any]:
    from .restore import restore_many

    texts = [t for pair in pairs for t in pair]
    counts = ("clean", "clean_called_spun", "clean_changed", "spun", "spun_called_spun")
    rows = {name: dict.fromkeys(counts, 0) for name in [_bucket_name(*b) for b in buckets] + ["all"]}
    results = restore_many(texts, config)  # clean, spun, clean, spun, ...
    for clean, _ in pairs:
        rc, rs = next(results), next(results)
        n = word_count(clean)
        name = next(_bucket_name(lo, hi) for lo, hi in buckets if n >= lo and (hi is None or n < hi))
        for row in (rows[name], rows["all"]):
            row["clean"] += 1
            row["clean_called_spun"] += rc.detection.is_spun
            row["clean_changed"] += rc.text != clean
            row["spun"] += 1
            row["spun_called_spun"] += rs.detection.is_spun
    return {"documents": n_docs, "texts": len(texts), "rate": RATE, "buckets": rows}


# --------------------------------------------------------------------------
# Real pages


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line, stripped: a page's paragraphs."""
    out = []
    for m in re.finditer(r"[^\n]+", text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            out.append((s, e))
    return out


def _apply_within(text: str, edits, start: int, end: int) -> str:
    """``text[start:end]`` with the edits that lie wholly inside it applied."""
    parts, pos = [], start
    for e in sorted(edits, key=lambda e: e.start):
        if e.start >= start and e.end <= end and e.start >= pos:
            parts.append(text[pos : e.start])
            parts.append(e.after)
            pos = e.end
    parts.append(text[pos:end])
    return "".join(parts)


def pair_paragraphs(a: list[str], b: list[str], min_similarity: float = PARAGRAPH_MIN_SIMILARITY):
    """One-to-one pairs (i, j) of paragraphs ``a[i]``, ``b[j]``, most similar first.

    >>> pair_paragraphs(["The cat sat on the mat.", "Ads here"], ["Stocks fell.", "The cat sat on a mat."])
    [(0, 1)]
    """
    wa = [[w.lower() for w in _words(p)] for p in a]
    wb = [[w.lower() for w in _words(p)] for p in b]
    cand = []
    for i, x in enumerate(wa):
        for j, y in enumerate(wb):
            if x and y:
                r = difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()
                if r >= min_similarity:
                    cand.append((-r, i, j))
    used_a, used_b, pairs = set(), set(), []
    for _, i, j in sorted(cand):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def _words(text: str) -> list[str]:
    from .metrics import words

    return words(text)


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(ln) for ln in fh if ln.strip()]


def _real(config: Config, real_dir: Path, log) -> dict[str, Any]:
    from . import metrics
    from .restore import restore_many

    spun_pages = _read_jsonl(real_dir / "spun_pages.jsonl")
    clean_pages = _read_jsonl(real_dir / "clean_pages.jsonl")
    texts = [p["spun"] for p in spun_pages] + [p["text"] for p in clean_pages]
    spun_probs, clean_probs, pages = {}, {}, []
    err_spun = err_rest = paired_total = unpaired_total = 0
    clean_errors = clean_words = 0
    for k, rest in enumerate(restore_many(texts, config)):
        prob = rest.detection.spun_probability
        if k >= len(spun_pages):
            page = clean_pages[k - len(spun_pages)]
            clean_probs[page["id"]] = prob
            e, n = metrics.word_edits(rest.text, page["text"])
            clean_errors += e
            clean_words += n
            continue
        page = spun_pages[k]
        spun_probs[page["id"]] = prob
        row: dict[str, Any] = {"id": page["id"], "spun_probability": prob, "edits": len(rest.edits)}
        if page.get("original"):
            spun, orig = page["spun"], page["original"]
            sp, op = _paragraphs(spun), _paragraphs(orig)
            pairs = pair_paragraphs([spun[s:e] for s, e in sp], [orig[s:e] for s, e in op])
            es = er = 0
            for i, j in pairs:
                o = orig[op[j][0] : op[j][1]]
                es += metrics.word_edits(spun[sp[i][0] : sp[i][1]], o)[0]
                er += metrics.word_edits(_apply_within(spun, rest.edits, *sp[i]), o)[0]
            row.update(
                paragraphs_paired=len(pairs),
                paragraphs_unpaired=len(sp) - len(pairs),
                errors_spun=es,
                errors_restored=er,
                recovery=1.0 - er / max(es, 1),
            )
            err_spun += es
            err_rest += er
            paired_total += len(pairs)
            unpaired_total += len(sp) - len(pairs)
        pages.append(row)
    log(f"real pages: {len(spun_pages)} spun, {len(clean_pages)} clean")
    out: dict[str, Any] = {
        "dir": str(real_dir),
        "spun_pages": len(spun_pages),
        "clean_pages": len(clean_pages),
        "spun_probability": spun_probs,
        "clean_probability": clean_probs,
    }
    if spun_probs and clean_probs:
        lo, hi = min(spun_probs.values()), max(clean_probs.values())
        out.update(
            min_spun_probability=lo,
            max_clean_probability=hi,
            separated=lo > hi,
            roc_auc=metrics.roc_auc(
                list(spun_probs.values()) + list(clean_probs.values()),
                [1] * len(spun_probs) + [0] * len(clean_probs),
            ),
        )
    out.update(
        recovery=1.0 - err_rest / max(err_spun, 1) if paired_total else None,
        recovery_pages=sum(1 for p in pages if "recovery" in p),
        paragraphs_paired=paired_total,
        paragraphs_unpaired=unpaired_total,
        clean_false_edit_rate=clean_errors / max(clean_words, 1),
        pages=pages,
    )
    return out


# --------------------------------------------------------------------------
# The run


def _phrase_table_version() -> str | None:
    from .lexicon import PHRASES_PATH

    try:
        with open(PHRASES_PATH, encoding="utf-8") as fh:
            for ln in fh:
                if not ln.startswith("#"):
                    break
                if ln.lower().startswith("# version:"):
                    return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _machine() -> dict[str, Any]:
    """What the figures were measured on: CPU model, cores, vector extensions."""
    from .lm import BF16_FLAGS, cpu_flags, cpu_info

    model = cpu_info().get("model name") or platform.processor() or platform.machine()
    simd = sorted(f for f in cpu_flags() if f in {"avx2", "avx512f"} | BF16_FLAGS)
    return {"cpu": model, "cores": os.cpu_count(), "simd": simd}


def _finite(x: Any) -> Any:
    """JSON has no inf or NaN: such values become null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


def run_bench(
    config: Config,
    out_path: str | Path | None = None,
    limit_docs: int | None = None,
    real_dev_dir: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the benchmark, print its table to stdout, return (and write) the figures.

    ``limit_docs`` keeps the first that many test documents (news and wiki
    alternate); ``real_dev_dir`` defaults to ``../shared/data/real-dev`` from
    the current directory and the real-page part is skipped, with a note,
    where it is absent.  Progress lines go to stderr when ``progress``.
    """
    from . import __version__, corpus
    from .lexicon import load_lexicon

    def log(msg: str) -> None:
        if progress:
            print(f"bench: {msg}", file=sys.stderr, flush=True)

    notes: list[str] = []
    docs = _test_docs(limit_docs)
    used = corpus.stats(docs)
    lexicon = load_lexicon()  # the spinner's lexicon: always the full default one
    result: dict[str, Any] = {
        "unspin_version": __version__,
        "phrase_table_version": _phrase_table_version(),
        "config": asdict(config),
        "mode": "fast" if config.fast else "accurate",
        "spinner": {"styles": list(STYLES), "seeds": SEEDS, "rate": RATE},
        "corpus": {
            src: {"docs": v.get("test", {}).get("docs", 0), "words": v.get("test", {}).get("words", 0)}
            for src, v in used.items()
        },
    }
    log(f"{len(docs)} test documents; {'fast' if config.fast else 'accurate'} mode")

    load = _warm_model(config)
    ngram_load = _warm_ngrams()  # --fast scores with them; accurate mode times --fast too
    floors: list[float] = []
    if not config.fast:
        floors.append(_floor(docs, lexicon, config, log))
    _cold()
    synthetic, speed = _synthetic(config, docs, lexicon, log)
    result["synthetic"] = synthetic
    log("short texts: each document's first one to three sentences, clean and spun")
    result["short"] = short_figures(config, docs, lexicon)
    log(f"long texts: the documents joined {LONG_JOIN} at a time, clean and spun")
    result["long"] = long_figures(config, docs, lexicon)
    if config.fast:
        # A --fast pass over the benchmark takes about a second, and one such
        # timing swings by a third on a shared machine: the figure is the
        # median of three cold-cache passes, as for the worker processes.
        log("fast-mode throughput: three timed passes")
        speed = _best_of(lambda: _throughput(_Texts(docs, lexicon), config))
    throughput: dict[str, Any] = {"mode": result["mode"], **speed}
    if load is not None:
        throughput["model_load_seconds"] = round(load, 3)
        from . import lm

        throughput["lm_dtype"] = lm.get_scorer().dtype_name

    if not config.fast:
        log("fast-mode throughput on the same texts")
        throughput["fast"] = _best_of(lambda: _throughput(_Texts(docs, lexicon), config.with_(fast=True)))
        floors.append(_floor(docs, lexicon, config, log))
        # Before and after the accurate run: the machine's speed drifts by
        # several per cent over minutes, and the ratio compares the two.
        # Their mean in time per word, as the accurate figure is.
        floor = len(floors) / sum(1 / f for f in floors)
        wps = throughput.get("words_per_second")
        result["lm_floor"] = {
            "words_per_second": floor,
            "runs": floors,
            "accurate_share_of_floor": wps / floor if wps and floor else None,
        }
    else:
        notes.append("fast mode: lm_floor (a language-model pass) skipped")
    if _cores() > 1:
        jobs = _cores()
        log(f"fast-mode throughput on {jobs} worker processes (scan --jobs {jobs})")
        fast_jobs = _best_of(lambda: _throughput_jobs(_Texts(docs, lexicon), config.with_(fast=True), jobs))
        if config.fast:
            throughput["jobs"] = fast_jobs
        else:
            throughput["fast"]["jobs"] = fast_jobs

    real_dir = Path(real_dev_dir) if real_dev_dir is not None else Path.cwd() / DEFAULT_REAL_DEV
    if (real_dir / "spun_pages.jsonl").exists() and (real_dir / "clean_pages.jsonl").exists():
        result["real"] = _real(config, real_dir, log)
    else:
        notes.append(f"real pages skipped: no spun_pages.jsonl / clean_pages.jsonl in {real_dir}")

    throughput["ngram_load_seconds"] = round(ngram_load, 3)
    throughput["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    throughput["machine"] = _machine()
    result["throughput"] = throughput
    result["notes"] = notes
    result = _finite(result)
    if out_path is not None:
        p = Path(out_path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        log(f"wrote {p}")
    print(format_table(result))
    return result


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _runs(xs: list) -> str:
    return ", ".join(_fmt(x, 0) for x in xs)


def format_table(result: dict[str, Any]) -> str:
    """The benchmark's figures as a plain-text table (what ``unspin bench`` prints)."""
    lines = [f"unspin {result.get('unspin_version')} benchmark, {result.get('mode')} mode"]
    corp = result.get("corpus", {})
    lines.append(
        "test split: "
        + ", ".join(f"{s} {_fmt(v['docs'])} docs / {_fmt(v['words'])} words" for s, v in sorted(corp.items()))
    )
    cols = [
        ("roc_auc", "AUC"),
        ("best_f1", "bestF1"),
        ("f1_at_threshold", "F1@thr"),
        ("span_precision", "spanP"),
        ("span_recall", "spanR"),
        ("span_f1", "spanF1"),
        ("recovery", "recov"),
        ("false_edit_rate", "falseEd"),
    ]
    syn = result.get("synthetic", {})
    if syn:
        lines.append("")
        lines.append(f"{'synthetic':<10}" + "".join(f"{h:>9}" for _, h in cols))
        for group, s in syn.items():
            lines.append(f"{group:<10}" + "".join(f"{_fmt(s.get(k)):>9}" for k, _ in cols))
    for key, title in (("short", "short texts (first 1-3 sentences)"), ("long", f"long texts ({LONG_JOIN} joined)")):
        fig = result.get(key)
        if not fig:
            continue
        lines.append("")
        lines.append(f"{title:<36}clean: called spun, changed   spun: called spun")
        for name, row in fig["buckets"].items():
            lines.append(
                f"  {name + ' words' if name != 'all' else 'all':<16}"
                f"{row['clean_called_spun']:>8} / {row['clean']:<5}{row['clean_changed']:>4} / {row['clean']:<8}"
                f"{row['spun_called_spun']:>8} / {row['spun']}"
            )
    tp = result.get("throughput", {})
    if tp:
        lines.append("")
        lines.append(
            f"throughput ({tp.get('mode')}): {_fmt(tp.get('words_per_second'), 0)} words/s over "
            f"{_fmt(tp.get('words'))} words; peak memory {_fmt(tp.get('peak_rss_mb'), 0)} MB"
        )
        if tp.get("runs"):
            lines.append(f"  median of {len(tp['runs'])} timed passes: {_runs(tp['runs'])} words/s")
        if "fast" in tp:
            lines.append(
                f"throughput (fast): {_fmt(tp['fast'].get('words_per_second'), 0)} words/s"
                + (f" (runs: {_runs(tp['fast']['runs'])})" if tp["fast"].get("runs") else "")
            )
        jobs = tp.get("jobs") or tp.get("fast", {}).get("jobs")
        if jobs:
            lines.append(
                f"throughput (fast, {jobs['jobs']} worker processes): "
                f"{_fmt(jobs.get('words_per_second'), 0)} words/s, their start included"
                + (f" (runs: {_runs(jobs['runs'])})" if jobs.get("runs") else "")
            )
    fl = result.get("lm_floor")
    if fl:
        lines.append(
            f"lm_floor: {_fmt(fl.get('words_per_second'), 0)} words/s"
            + (f" (runs: {_runs(fl['runs'])})" if fl.get("runs") else "")
            + "; accurate mode runs at "
            f"{_fmt(fl.get('accurate_share_of_floor'), 2)} of it"
        )
    real = result.get("real")
    if real:
        lines.append("")
        lines.append(
            f"real pages: min spun prob {_fmt(real.get('min_spun_probability'))} > max clean prob "
            f"{_fmt(real.get('max_clean_probability'))}: {_fmt(real.get('separated'))}; "
            f"AUC {_fmt(real.get('roc_auc'))}"
        )
        lines.append(
            f"real recovery {_fmt(real.get('recovery'))} on {real.get('recovery_pages')} pages "
            f"({real.get('paragraphs_paired')} paragraphs paired, {real.get('paragraphs_unpaired')} skipped); "
            f"clean false-edit rate {_fmt(real.get('clean_false_edit_rate'), 4)}"
        )
    for n in result.get("notes", []):
        lines.append(f"note: {n}")
    return "\n".join(lines)
