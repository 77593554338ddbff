"""Source tracing: which indexed article was this spun text made from?

Two steps, cheap then exact:

1. **Candidates.**  The query's spin-robust fingerprint
   (:mod:`unspin.fingerprint`) is looked up band by band in the index
   (:mod:`unspin.index`); documents sharing bands are ranked by the Jaccard
   similarity their stored signatures estimate, and the best few go on.
2. **Verification by alignment** (:func:`align`).  Query and candidate are
   aligned word by word (``difflib.SequenceMatcher`` on lower-cased word
   tokens).  Runs of identical words are *anchors* when they are two words
   or longer, or one word that is not a function word; consecutive anchors
   at most ``max_gap`` words apart on both sides make an *aligned span*, and
   the differing words between them are its *substitutions* (what the
   spinner wrote, what the source says).  A span counts only if it holds at
   least ``min_span_words`` identical words making up at least
   ``min_span_density`` of it: unrelated articles on the same story share
   names and scattered words, never a dense run of them.

   ``coverage`` is the share of the query's words inside aligned spans,
   substitutions included, ``source_coverage`` the same share of the
   source's words, and ``identical`` the share of the query's words that
   are identical to the source's in those spans.  ``score`` (:func:`score`)
   ranks the article itself above a longer page quoting it (source
   coverage), and above a near copy of it that differs in a sentence or two
   (identical words: the spans bridge a short differing sentence, so
   coverage alone cannot tell the two apart).

A query whose best candidate covers less than ``min_coverage`` of it gets no
match: a wrong source is worse than none.  Offsets in the result are
character offsets into the caller's query string and into the stored source
text, ``end`` exclusive.
"""
from __future__ import annotations

import difflib
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, NamedTuple

from .text import Token, tokenize

# --------------------------------------------------------------------------
# Configuration and results


@dataclass(frozen=True)
class TraceConfig:
    #: A query whose best source covers less of it than this gets no match.
    #: Calibrated on the benchmark corpus (benchmarks/bench_trace.py, 5k
    #: sources): 300 documents spun at the heaviest settings (every
    #: replaceable place, 38% of the words; phrase style at 0.5) cover their
    #: source at least 0.54 (1st percentile 0.66); 6,000 pairs of an
    #: unindexed spun article and an indexed one of the same kind (news or
    #: Wikipedia) at most 0.22.  0.4 lies between.
    min_coverage: float = 0.4
    #: Documents fetched from the band lookup (most shared bands first).
    candidates: int = 50
    #: Of those, the ones aligned (best estimated Jaccard first).
    verify: int = 8
    #: Most words between two anchors of one span, on either side: a
    #: spinner's run of replaced words ("strong winds today pushed" ->
    #: "powerful gusts currently propelled") rarely exceeds it.  (On the same
    #: data: 8 left 0.3% of the heavily spun documents under 0.5 coverage;
    #: 16 let an unrelated pair reach 0.49.)
    max_gap: int = 12
    #: A span needs this many identical words ...
    min_span_words: int = 6
    #: ... making up at least this share of its query words.
    min_span_density: float = 0.35

    def with_(self, **changes) -> "TraceConfig":
        from dataclasses import replace

        return replace(self, **changes)


DEFAULT_TRACE = TraceConfig()


@dataclass(frozen=True)
class AlignedSpan:
    """``query[query_start:query_end]`` corresponds to ``source[source_start:source_end]``.

    ``substitutions`` are the differing stretches inside the span, each
    ``{"query", "source", "query_start", "query_end", "source_start",
    "source_end"}``; one side is empty for an insertion or deletion.
    """

    query_start: int
    query_end: int
    source_start: int
    source_end: int
    substitutions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    source_id: str
    url: str | None
    score: float
    coverage: float
    alignment: list[AlignedSpan]
    source_coverage: float = 0.0
    identical: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TraceResult:
    """Ranked matches (best first; empty: no match).

    ``candidates`` is how many documents shared a band with the query and
    ``best_coverage`` the highest coverage among those aligned, matched or
    not (how close the best rejected candidate came).
    """

    matches: list[Match]
    candidates: int = 0
    best_coverage: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------
# Alignment


class Alignment(NamedTuple):
    spans: list[AlignedSpan]
    coverage: float
    source_coverage: float
    identical: float = 0.0


def _words(text: str) -> tuple[list[Token], list[str]]:
    toks = [t for t in tokenize(text) if t.is_word]
    return toks, [t.text.replace("’", "'").lower() for t in toks]


def _function_words() -> frozenset[str]:
    from .lexicon import CLOSED_CLASS

    return CLOSED_CLASS


def align(query: str, source: str, config: TraceConfig = DEFAULT_TRACE) -> Alignment:
    """Aligned spans of ``query`` in ``source``, with the substitutions inside them.

    >>> a = align("The massive blaze near Goulburn forced the closure of the Hume Highway on Monday.",
    ...           "The huge fire near Goulburn forced the closure of the Hume Highway on Monday.",
    ...           TraceConfig(min_span_words=4))
    >>> round(a.coverage, 2), [(s["query"], s["source"]) for s in a.spans[0].substitutions]
    (1.0, [('massive blaze', 'huge fire')])
    """
    qt, qk = _words(query)
    st, sk = _words(source)
    if not qt or not st:
        return Alignment([], 0.0, 0.0, 0.0)
    fw = _function_words()
    blocks = [b for b in difflib.SequenceMatcher(None, qk, sk).get_matching_blocks() if b.size]

    def near(x, y) -> bool:  # block y follows block x closely enough on both sides
        return y.a - (x.a + x.size) <= config.max_gap and y.b - (x.b + x.size) <= config.max_gap

    # Chain anchors (blocks by position) into groups of consecutive near ones.
    groups: list[list[int]] = []
    for i, b in enumerate(blocks):
        if b.size < 2 and qk[b.a] in fw:
            continue
        if groups and near(blocks[groups[-1][-1]], b):
            groups[-1].append(i)
        else:
            groups.append([i])

    spans: list[AlignedSpan] = []
    q_cov = s_cov = q_same = 0
    taken = -1  # blocks up to this index belong to an earlier span
    for n, g in enumerate(groups):
        # A span runs from its first anchor to its last, widened to the
        # function-word matches just outside ("The" before "massive blaze
        # near Goulburn") that no neighbouring span holds.
        lo, hi = g[0], g[-1]
        stop = groups[n + 1][0] if n + 1 < len(groups) else len(blocks)
        while lo - 1 > taken and near(blocks[lo - 1], blocks[lo]):
            lo -= 1
        while hi + 1 < stop and near(blocks[hi], blocks[hi + 1]):
            hi += 1
        taken = hi
        inside = blocks[lo : hi + 1]
        qa, qb = inside[0].a, inside[-1].a + inside[-1].size
        sa, sb = inside[0].b, inside[-1].b + inside[-1].size
        same = sum(b.size for b in inside)
        if same < config.min_span_words or same < config.min_span_density * (qb - qa):
            continue
        subs = []
        for prev, nxt in zip(inside, inside[1:]):
            i1, i2 = prev.a + prev.size, nxt.a
            j1, j2 = prev.b + prev.size, nxt.b
            if i1 == i2 and j1 == j2:
                continue
            q0, q1 = (qt[i1].start, qt[i2 - 1].end) if i2 > i1 else (qt[i1].start,) * 2
            s0, s1 = (st[j1].start, st[j2 - 1].end) if j2 > j1 else (st[j1].start,) * 2
            subs.append(
                {
                    "query": query[q0:q1],
                    "source": source[s0:s1],
                    "query_start": q0,
                    "query_end": q1,
                    "source_start": s0,
                    "source_end": s1,
                }
            )
        spans.append(AlignedSpan(qt[qa].start, qt[qb - 1].end, st[sa].start, st[sb - 1].end, subs))
        q_cov += qb - qa
        s_cov += sb - sa
        q_same += same
    return Alignment(spans, q_cov / len(qt), s_cov / len(st), q_same / len(qt))


def score(coverage: float, source_coverage: float, identical: float) -> float:
    """Rank key of a match: the harmonic mean of the two coverages, times ``(1 + identical) / 2``.

    On the 100k-source benchmark (6,000 queries of indexed sources) the
    true source came second 9 times under ``coverage * (3 +
    source_coverage) / 4``, each time behind a near copy differing in one
    sentence; 2 times under this key.

    >>> score(1.0, 1.0, 1.0), score(1.0, 1.0, 0.8), score(1.0, 0.5, 0.8), score(0.5, 1.0, 0.8)
    (1.0, 0.9, 0.6, 0.6)
    """
    if coverage <= 0.0 or source_coverage <= 0.0:
        return 0.0
    hm = 2.0 * coverage * source_coverage / (coverage + source_coverage)
    return round(hm * (1.0 + identical) / 2.0, 6)


class Candidate(NamedTuple):
    source_id: str
    url: str | None
    text: str


def verify(
    query: str, candidates: Iterable[Candidate | tuple], config: TraceConfig = DEFAULT_TRACE, top_k: int = 5
) -> tuple[list[Match], float]:
    """Align ``query`` with each candidate; the ``top_k`` matches that pass, and the best coverage seen.

    Shared by :func:`trace` and the band join (:mod:`unspin.join`), so both
    decide alike.  Ties are broken by source id, so the order is stable.
    """
    found: list[Match] = []
    best = 0.0
    for c in candidates:
        sid, url, text = c
        a = align(query, text, config)
        best = max(best, a.coverage)
        if a.coverage >= config.min_coverage and a.spans:
            found.append(
                Match(
                    str(sid),
                    url,
                    score(a.coverage, a.source_coverage, a.identical),
                    round(a.coverage, 6),
                    a.spans,
                    round(a.source_coverage, 6),
                    round(a.identical, 6),
                )
            )
    found.sort(key=lambda m: (-m.score, -m.coverage, m.source_id))
    return found[:top_k], round(best, 6)


# --------------------------------------------------------------------------
# Query side normalisation


def fast_restore(text: str) -> str:
    """The default ``normalize``: the lexicon-only restorer (``Config(fast=True)``).

    Used for the query's fingerprint only; alignment runs on the query as
    given, so offsets point into it.  Identity if the restorer is missing.
    """
    try:
        from .config import Config
        from .restore import restore_text
    except ImportError:
        return text
    return restore_text(text, Config(fast=True))


def identity(text: str) -> str:
    return text


# --------------------------------------------------------------------------
# The verb


def trace(
    text: str,
    index,
    *,
    config: TraceConfig | None = None,
    top_k: int = 5,
    normalize: Callable[[str], str] | None = fast_restore,
) -> TraceResult:
    """Find the indexed source(s) ``text`` was spun from.

    ``index`` is an :class:`unspin.index.Index` or the path of one.
    ``normalize`` rewrites the query before it is fingerprinted (default:
    :func:`fast_restore`; ``None`` for none).  Returns at most ``top_k``
    matches, best first; none when no source covers ``config.min_coverage``
    of the query.
    """
    cfg = config or DEFAULT_TRACE
    if isinstance(index, (str, bytes)) or hasattr(index, "__fspath__"):
        from .index import Index

        with Index.open(index) as ix:
            return trace(text, ix, config=cfg, top_k=top_k, normalize=normalize)
    from .fingerprint import fingerprint  # numpy loads on first use, not with ``import unspin``

    if index.vocabulary_changed and not index.vocabulary_warned:
        index.vocabulary_warned = True
        warnings.warn(
            f"{index.path}: built with another lexicon than this unspin's; rebuild it for full recall",
            stacklevel=2,
        )
    probe = normalize(text) if normalize is not None else text
    fp = fingerprint(probe, index.params)
    hits = index.candidates(fp.keys, cfg.candidates)
    if not hits:
        return TraceResult([], 0, 0.0)
    rowids = [r for r, _ in hits]
    sims = (index.signatures(rowids) == fp.signature).mean(axis=1)
    order = sorted(range(len(hits)), key=lambda i: (-sims[i], -hits[i][1], rowids[i]))
    chosen = index.documents([rowids[i] for i in order[: max(cfg.verify, top_k)]])
    matches, best = verify(text, [Candidate(d.id, d.url, d.text) for d in chosen], cfg, top_k)
    return TraceResult(matches, len(hits), best)


def trace_many(
    texts: Iterable[str],
    index,
    *,
    config: TraceConfig | None = None,
    top_k: int = 5,
    normalize: Callable[[str], str] | None = fast_restore,
):
    """:func:`trace` for each text, in order (the index opens once)."""
    if isinstance(index, (str, bytes)) or hasattr(index, "__fspath__"):
        from .index import Index

        with Index.open(index) as ix:
            yield from trace_many(texts, ix, config=config, top_k=top_k, normalize=normalize)
        return
    for t in texts:
        yield trace(t, index, config=config, top_k=top_k, normalize=normalize)


__all__ = [
    "AlignedSpan",
    "Alignment",
    "Candidate",
    "DEFAULT_TRACE",
    "Match",
    "TraceConfig",
    "TraceResult",
    "align",
    "fast_restore",
    "identity",
    "score",
    "trace",
    "trace_many",
    "verify",
]
