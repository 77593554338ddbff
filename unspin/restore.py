"""Restoring spun text: a noisy-channel decoder.

For every place where the reverse lexicon knows the observed word or phrase as
a spinner's output (a *slot*), the candidates are the originals it may have
replaced.  A candidate ``c`` for observed form ``o`` wins when

    log P_LM(sentence with c) - log P_LM(sentence with o)      (the LM gain)
  + log P(o | c) + log rate(source) - log(1 - rate(source))   (the channel)

is large, i.e. the sentence reads much better with ``c`` and a spinner would
plausibly have written ``o`` for ``c``.  The language model is used at most three
times per sentence, never once per candidate:

1. one scoring pass over the observed sentence gives every token's surprisal
   and, from the same logits, the probability of each candidate's first token
   at its slot (a cheap left-context pre-score that prunes all but the best
   candidate per slot and its runner-up);
2. one pass over the sentence with all surviving proposals applied; each
   proposal's gain is the log-probability of the tokens from its slot up to
   the next proposal or :data:`RIGHT` tokens past it, with and without it,
   so right context counts too;
3. one pass over the sentence with every slot's *runner-up* applied instead
   (the best candidate with another wording, where its pre-score also
   passes): the pre-score reads only the left context and a candidate's
   first token, and the whole candidate with its right context often ranks
   the two the other way.  A slot keeps whichever reads better in full.
   Only sentences with a runner-up are scored again, and in a first round
   not those of a document that pass 2 already leaves below the span
   threshold (it shows no span and takes no edit whatever pass 3 finds;
   see :func:`_settled`): 0.8 % of the model's tokens on dev-split bench
   texts, 5 % of the time, and more on a corpus that is mostly clean.

A variant reads like its sentence up to its first change, so passes 2 and 3
run the model only from there: pass 1 keeps the attention cache of those
shared tokens (``Scorer.score``'s ``keep`` and ``prefixes``), pass 2 keeps
its own up to the first proposal the next round will undo, and later rounds'
pass 1 reuses those caches of the same document.  On the test split (bench's
120 texts) the model runs 30 % fewer of pass 2's tokens, 41 % fewer of pass
3's and 46 % fewer of round 2's pass 1: 74.0k tokens in all, against 97.7k
scored.

``--fast`` mode replaces the LM by bigram counts (``unspin.ngram``).

The score becomes a span confidence through a logistic map fitted on the
training split (see ``benchmarks/calibrate.py``), and is multiplied by the
document's spun probability (``unspin.detect``): a span is spun only if its
document is.  That product is what keeps clean text unchanged: a clean
document with a few words an LM would phrase differently gets a low document
probability and so no edits at all.
"""
from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from operator import attrgetter, itemgetter
from typing import Callable, Iterable, Iterator, Sequence

from .config import DEFAULT, Config
from .detect import document_probability, span_confidence
from .lexicon import Entry, Lexicon, lexicon_for
from .records import Detection, Edit, Restoration, Span
from .text import _TOKEN_RE, Token, english_share, match_case, norm, sentences, tokenize, word_count

# P(a spinner rewrites an original that it has an alternative for), per
# lexicon source.  Phrase-table rows are the spinner's habits; the thesaurus
# lists many legitimate synonyms a spinner rarely picks.  Fitted on the train
# split of the synthetic benchmark, rounded (benchmarks/calibrate.py).
RATES = {"phrases": 0.5, "moby": 0.15, "table": 0.5, "tortured": 0.9}

# Candidates whose left-context pre-score is below this are not tried in
# pass 2.  Pass 2 scores all of a sentence's kept candidates applied at once,
# so a loose bound (it was -3) filled that variant with unlikely rewrites
# that spoiled their neighbours' context.  Chosen on the dev split (40 docs):
# recovery .767 / .779 / .779 / .775 and span precision .90 / .93 / .94 / .96
# at -3 / 0 / 0.5 / 1.
PRE_MIN = 0.5

# Sentences scored per LM call across documents.  The model scores them in
# batches of at most Config.batch_size sorted by length, so a wide pool means
# little padding (2048 vs 128: 191 -> 222 words/s, bench --limit 40).
SENTENCES_PER_BATCH = 2048

# Tokens of right context a proposal's LM gain counts past its own tokens
# (up to the next proposal).  Pass 1 and pass 2 score each sentence only
# through this many tokens past its last slot.  Dev split, 40 docs, recovery
# / LM tokens scored: all .779 / 80.2k; 0 .758 / 70.8k; 1 .782 / 74.2k;
# 2 .785 / 75.4k; 4 .782 / 76.8k; 6 .785 / 78.1k.  Distant words add noise,
# not evidence; 4 keeps a few words of margin.
RIGHT: int | None = 4

# Restoration rounds until a fixed point (see restore_many).
MAX_ROUNDS = 3

# Documents restored together (each round batches their sentences).
DOCS_PER_CHUNK = 128

# Non-English threshold on unspin.text.english_share.
MIN_ENGLISH = 0.6


def _rate(source: str) -> float:
    return RATES.get(source.split(":", 1)[0], 0.5)


@lru_cache(maxsize=500_000)
def channel_score(e: Entry) -> float:
    """log P(o|c) + log rate - log(1 - rate): how much the channel favours ``c``."""
    r = _rate(e.source)
    return e.logp + math.log(r) - math.log1p(-r)


def _confidence(p: "_Proposal", config: Config) -> float:
    """P(proposal ``p`` was spun from its suggestion | its document is spun)."""
    return span_confidence(p.lm_gain, channel_score(p.entry), p.entry.source, config)


@dataclass(slots=True)
class _Proposal:
    start: int  # absolute char offsets of the observed form
    end: int
    observed: str
    suggestion: str
    entry: Entry
    prescore: float
    alternatives: list[str]
    lm_gain: float = 0.0
    score: float = float("-inf")
    # What slot search found, for the scorers (not kept in the memo):
    cands: list[Entry] = field(default_factory=list)  # lexicon entries, best channel first
    midcap: bool = False  # capitalised but not sentence-initial: probably part of a name
    left: str | None = None  # the nearest word on each side (n-gram context)
    right: str | None = None
    # The best candidate with another wording (pre-score, surface, entry),
    # verified in pass 3; cleared once scored.
    runner: tuple | None = None
    # The score the document model reads: pass 2's, before pass 3 may take a
    # runner-up.  That model was calibrated on one hypothesis per slot; the
    # better of two reads better on clean text too.
    doc_score: float | None = None
    doc_suggestion: str | None = None  # the suggestion doc_score belongs to


@dataclass
class _Sentence:
    doc: int
    start: int
    end: int
    text: str
    proposals: list[_Proposal] = field(default_factory=list)
    owner: object = None  # the document's key across restoration rounds


@dataclass
class _Doc:
    text: str
    boilerplate: list[Edit]
    english: bool
    words: int
    pending: int = 0
    proposals: list[_Proposal] = field(default_factory=list)


# --------------------------------------------------------------------------
# Slots


def _slots(text: str, toks: list[Token], lex: Lexicon, skip: list[tuple[int, int]]) -> list[_Proposal]:
    """All lexicon matches among a sentence's tokens ``toks`` of ``text``
    (possibly overlapping).

    Keys grow token by token (a space where the text has whitespace, nothing
    where tokens touch, as in "sq."), and stop as soon as no lexicon key
    starts that way, so most positions cost one dict lookup.
    """
    if skip:
        toks = [t for t in toks if not _inside(t, skip)]
    n = len(toks)
    if not n:
        return []
    words = [t.text for t in toks]
    base, stop = toks[0].start, toks[-1].end
    low_all = text[base:stop].lower()
    if len(low_all) == stop - base:
        # Lower-casing kept every character's place: slice the tokens'
        # keys out of it (cheaper than lower-casing token by token).
        low_all = low_all.replace("’", "'")
        low = [low_all[t.start - base : t.end - base] for t in toks]
    else:
        low = [w.replace("’", "'").lower() for w in words]
    isw = [w[0].isalnum() or w[0] == "_" for w in words]
    out = []
    index, width = lex.prefix_index, lex.max_tokens
    get = index.get
    for i in range(n):
        if not isw[i]:
            continue
        key = low[i]
        found = get(key)
        if found is None:
            continue  # no spun form starts with this word: most words
        upper = words[i][:1].isupper()
        left = None  # the nearest word on each side (n-gram context)
        for k in range(i - 1, -1, -1):
            if isw[k]:
                left = words[k]
                break
        j = i
        while True:
            if found:
                if upper and i > 0:
                    # A capitalised word inside a sentence is usually a name:
                    # only the phrase tables (which list such cases) may touch it.
                    cands = [ent for ent in found if ent.source != "moby"]
                else:
                    cands = found  # the lexicon's own list: never changed
                if cands:
                    right = None
                    for k in range(j + 1, n):
                        if isw[k]:
                            right = words[k]
                            break
                    start, end = toks[i].start, toks[j].end
                    out.append(
                        _Proposal(
                            start,
                            end,
                            text[start:end],
                            "",
                            cands[0],
                            0.0,
                            [],
                            cands=cands,
                            midcap=upper and i > 0 and words[i - 1] not in _OPENERS,
                            left=left,
                            right=right,
                        )
                    )
            j += 1
            if j >= n or j - i >= width or (not isw[j] and words[j] != "."):
                break
            key = key + (" " if toks[j].start > toks[j - 1].end else "") + low[j]
            found = get(key)
            if found is None:
                break
    return out


_OPENERS = {'"', "“", "‘", "'", "(", "[", "—", "-", ":"}


def _inside(t: Token | _Proposal, spans: list[tuple[int, int]]) -> bool:
    """Whether ``t`` (a token or a proposal) overlaps any of ``spans``."""
    return any(a < t.end and t.start < b for a, b in spans)


def _windows(toks: list[Token], s: int, e: int, max_words: int) -> Iterator[tuple[int, int, list[Token]]]:
    """Split sentence ``[s, e)``, tokenised as ``toks``, into windows of at
    most ``max_words`` words: (start, end, the window's tokens)."""
    if len(toks) <= max_words:  # so are its words: the common case
        yield (s, e, toks)
        return
    words = [k for k, t in enumerate(toks) if t.is_word]
    if len(words) <= max_words:
        yield (s, e, toks)
        return
    start, first = s, 0
    for i in range(max_words, len(words), max_words):
        last = words[i - 1]
        yield (start, toks[last].end, toks[first : last + 1])
        first = words[i]
        start = toks[first].start
    yield (start, e, toks[first:])


# --------------------------------------------------------------------------
# Scoring with the language model


def _tok_range(offs: list[tuple[int, int]], a: int, b: int) -> tuple[int, int] | None:
    """LM tokens covering chars [a, b) of the sentence; None unless aligned.

    Byte-level BPE tokens carry their leading space, so a word at ``a`` starts
    a token at ``a - 1`` (after a space) or ``a`` (after anything else).
    """
    first = last = None
    for k, (ts, te) in enumerate(offs):
        if te > a and ts < b:
            if first is None:
                first = k
            last = k
    if first is None or last is None:
        return None
    if offs[first][0] < a - 1 or offs[last][1] != b:
        return None
    if offs[first][0] == a - 1 and a - 1 >= 0:
        return (first, last)
    if offs[first][0] == a:
        return (first, last)
    return None


def _wants(
    props: list[_Proposal], offs: list[tuple[int, int]], base: int, scorer
) -> tuple[dict[int, set[int]], list]:
    """For pass 1: at each proposal's first LM token, the first token of
    every candidate (``want``), and per proposal (first token, last token,
    [(surface, entry, token id)]) or None when its span does not align with
    the LM's tokens.  ``base`` is where the scored text starts."""
    want: dict[int, set[int]] = {}
    meta = []
    for p in props:
        rng = _tok_range(offs, p.start - base, p.end - base)
        if rng is None:
            meta.append(None)
            continue
        fk, lk = rng
        space = offs[fk][0] == p.start - base - 1
        firsts = []
        for ent in p.cands:
            surf = match_case(ent.original, p.observed)
            tid = scorer.first_token((" " if space else "") + surf)
            firsts.append((surf, ent, tid))
            want.setdefault(fk, set()).add(tid)
        meta.append((fk, lk, firsts))
    return want, meta


def _covers(r, want: dict[int, set[int]]) -> bool:
    """Whether scores ``r`` already hold every wanted alternative."""
    g = r.gathered
    return all((pos, t) in g for pos, tids in want.items() for t in tids)


def _score_lm(
    batch: list[_Sentence],
    scorer,
    batch_size: int = 32,
    lex: Lexicon | None = None,
    scores: dict | None = None,
    kept: dict | None = None,
    config: Config = DEFAULT,
    settled: Callable[[_Sentence], bool] | None = None,
) -> None:
    """Pass 1 (pre-score), pass 2 (joint verification) and pass 3 (the
    runners-up) for a batch.

    ``settled(sentence)``, asked once pass 2 has scored the whole batch,
    says that the sentence's document can show no span and take no edit
    whatever pass 3 finds: its runners-up are not scored.

    With ``scores`` (a dict the caller keeps between restoration rounds),
    pass 2 also gathers, for each variant it scores, the alternatives a
    later round's pass 1 will want there, and keeps the result by text: when
    a round accepts all of a sentence's proposals, the next round's sentence
    *is* that variant, and its pass 1 costs nothing.

    With ``kept`` (another dict the caller keeps between rounds), pass 2's
    attention caches stay there, by document, and a later round's pass 1
    runs the model only past what its sentence shares with one of them: the
    next round's sentence is pass 2's variant with the proposals that
    ``config``'s thresholds reject undone, so a cache is kept up to the first
    proposal that cannot pass them (or that took its runner-up).
    """
    seqs, wants, metas, offsets, needs = [], [], [], [], []
    for sent in batch:
        ids, offs = scorer.encode(sent.text)
        offsets.append(offs)
        want, meta = _wants(sent.proposals, offs, sent.start, scorer)
        need = _needed([m[1] for m in meta if m is not None], len(ids))
        seqs.append([scorer.bos_id] + ids[:need])
        needs.append(need)
        wants.append(want)
        metas.append(meta)
    # Each sentence is pre-scored as soon as pass 1 has read it, and its
    # pass-2 and pass-3 variants built, so that pass 1 keeps only the
    # attention cache pass 2's variant shares with it (up to the first
    # proposal), and pass 2 only what pass 3's shares with that (up to the
    # first runner-up); each pass runs the model from there.
    res1: list = [None] * len(batch)
    v2: list[_Variant | None] = [None] * len(batch)
    v3: list[_Variant | None] = [None] * len(batch)

    def prepare(i: int, r) -> int:
        sent = batch[i]
        _prescore(sent, r, metas[i])
        if not sent.proposals:
            return 0
        v2[i] = _variant(sent, offsets[i], scorer)
        if any(p.runner is not None for p in sent.proposals):
            v3[i] = _variant(sent, offsets[i], scorer, runners=True)
        return _shared(seqs[i], v2[i].seq)

    todo = []
    for i, sent in enumerate(batch):
        hit = scores.get(sent.text) if scores is not None else None
        if hit is not None and len(hit.token_lp) >= needs[i] and _covers(hit, wants[i]):
            res1[i] = hit
            prepare(i, hit)
        else:
            todo.append(i)

    def keep(j: int, r) -> int:
        return prepare(todo[j], r)

    pre1 = [_find(kept, batch[i].owner, seqs[i]) for i in todo] if kept is not None else None
    for i, r in zip(
        todo, scorer.score([seqs[i] for i in todo], [wants[i] for i in todo], batch_size, keep, pre1)
    ):
        res1[i] = r

    # Pass 2: all proposals applied at once; per-proposal local gains.
    built2 = [(si, v) for si, v in enumerate(v2) if v is not None]
    if not built2:
        return
    wants2 = [{} for _ in built2]
    if scores is not None and lex is not None:
        wants2 = [_anticipate(v.text, v.spans, v.offs, lex, scorer) for _, v in built2]

    def keep2(j: int, r) -> int:
        # Each proposal's gain, as soon as its variant is scored; then the
        # attention cache pass 3's variant shares, and with ``kept`` what
        # the next round's sentence may share (see _kept_length).
        si, v = built2[j]
        for p, gain in zip(batch[si].proposals, _gains(res1[si], r, v)):
            if gain is not None:
                p.lm_gain = gain
                p.score = p.doc_score = gain + channel_score(p.entry)
                p.doc_suggestion = p.suggestion
        share3 = _shared(v.seq, v3[si].seq) if v3[si] is not None else 0  # type: ignore[union-attr]
        return max(share3, _kept_length(batch[si], v, config)) if kept is not None else share3

    res2 = scorer.score(
        [v.seq for _, v in built2],
        wants2,
        batch_size,
        keep=keep2,
        prefixes=[_prefix(res1[si], seqs[si], v.seq) for si, v in built2],
    )
    for i in todo:  # pass 2's caches hold at least as much (a hit's is kept already)
        res1[i].kv = None
    res2_of = {si: r2 for (si, _), r2 in zip(built2, res2)}
    if scores is not None:
        for (_, v), r2 in zip(built2, res2):
            scores[v.text] = r2

    # Pass 3: the runners-up, all applied at once, in the sentences that have
    # any; a slot takes its runner-up when that reads better in full.
    built3 = [(si, v) for si, v in enumerate(v3) if v is not None and not (settled and settled(batch[si]))]
    res3 = []
    if built3:
        pre3 = [_prefix(res2_of[si], v2[si].seq, v.seq) for si, v in built3]  # type: ignore[union-attr]
        res3 = scorer.score([v.seq for _, v in built3], None, batch_size, prefixes=pre3)
    for (si, v), r3 in zip(built3, res3):
        for p, gain in zip(batch[si].proposals, _gains(res1[si], r3, v)):
            if p.runner is None or gain is None:
                continue
            _, surf, ent = p.runner
            if gain + channel_score(ent) > p.score:
                p.alternatives = list(dict.fromkeys([p.suggestion] + [a for a in p.alternatives if a != surf]))
                p.suggestion, p.entry = surf, ent
                p.lm_gain, p.score = gain, gain + channel_score(ent)
    for sent in batch:
        for p in sent.proposals:
            p.runner = None
    for (si, v), r2 in zip(built2, res2):
        if kept is not None and r2.kv is not None:
            m = _kept_length(batch[si], v, config)
            if m < r2.kv.shape[3]:
                r2.kv = r2.kv[:, :, :, :m].clone() if m > 1 else None
        _stash(kept, batch[si].owner, v.seq, r2)


def _prescore(sent: _Sentence, r, meta: list) -> None:
    """Pass 1's pre-score: each slot's candidates by their first token
    against the observed tokens, on the same prefix (``r``: the sentence's
    pass-1 scores; ``meta``: from :func:`_wants`).  Keeps the slots whose
    best candidate passes :data:`PRE_MIN`, without overlaps, and notes each
    one's runner-up."""
    kept = []
    for p, m in zip(sent.proposals, meta):
        if m is None:
            continue
        fk, lk, firsts = m
        obs = float(r.token_lp[fk : lk + 1].sum())
        scored = []
        for surf, ent, tid in firsts:
            first = r.gathered.get((fk, tid))
            if first is None:
                continue
            scored.append((first - obs + channel_score(ent), surf, ent))
        if not scored:
            continue
        scored.sort(key=lambda x: -x[0])
        best = scored[0]
        if best[0] < PRE_MIN:
            continue
        p.prescore, p.suggestion, p.entry = best
        p.alternatives = list(dict.fromkeys(s for _, s, _ in scored[1:4] if s != best[1]))
        p.runner = next((x for x in scored[1:] if x[1] != best[1] and x[0] >= PRE_MIN), None)
        kept.append(p)
    sent.proposals = _non_overlapping(kept, key=lambda p: p.prescore)


def _shared(seq: list[int], other: list[int]) -> int:
    """How many of ``seq``'s first tokens' attention cache ``other`` can
    reuse: all the tokens they share but the last, whose output predicts
    the first token in which they differ."""
    n = 0
    for a, b in zip(seq, other):
        if a != b:
            break
        n += 1
    return max(0, n - 1)


def _kept_length(sent: _Sentence, v: _Variant, config: Config) -> int:
    """How many of variant ``v``'s first tokens the next round's sentence
    can share: those before the first proposal that ``config``'s span
    threshold rejects even in a surely spun document, or whose suggestion
    pass 3 changed (the variant no longer shows it)."""
    for p, (a, b) in zip(sent.proposals, v.spans):
        if (
            p.score == float("-inf")
            or v.text[a:b] != p.suggestion
            or _confidence(p, config) < config.span_threshold
        ):
            # Tokens that end before the character ahead of the proposal
            # (a token carries its leading space), and the BOS.
            return 1 + sum(1 for _, te in v.offs if te <= a - 1)
    return len(v.seq) - 1  # the last token runs again anyway (see _shared)


def _stash(kept: dict | None, owner, seq: list[int], r) -> None:
    """Keep ``r``'s attention cache (``r``: the scores of ``seq``) in
    ``kept`` for a later round's sentences of document ``owner``; without
    ``kept``, free it."""
    if r.kv is None:
        return
    if kept is None or owner is None:
        r.kv = None
        return
    kept.setdefault((owner, tuple(seq[:2])), []).append((seq, r))


def _find(kept: dict, owner, seq: list[int]):
    """The kept cache of document ``owner`` that ``seq`` shares the most
    tokens with, as ``(scores, n)`` for :meth:`Scorer.score`'s ``prefixes``;
    None if none shares any."""
    best = None
    for other, r in kept.get((owner, tuple(seq[:2])), ()):
        p = _prefix(r, other, seq)
        if p is not None and (best is None or p[1] > best[1]):
            best = p
    return best


def _prefix(r, seq: list[int], other: list[int]):
    """``(r, n)`` for :meth:`Scorer.score`'s ``prefixes``: ``other`` reuses
    ``n`` tokens of the cache ``r`` (the scores of ``seq``) kept; None if none."""
    if r.kv is None:
        return None
    n = min(_shared(seq, other), r.kv.shape[3])
    return (r, n) if n > 0 else None


@dataclass
class _Variant:
    """A sentence with proposals applied, ready for the LM: its text, the
    proposals' spans in it, its token offsets, the sequence to score, and
    each proposal's LM tokens in the observed sentence and in the variant
    (None where a span does not align with the tokens)."""

    text: str
    spans: list[tuple[int, int]]
    offs: list[tuple[int, int]]
    seq: list[int]
    rng_o: list[tuple[int, int] | None]
    rng_v: list[tuple[int, int] | None]


def _variant(sent: _Sentence, offs_o: list[tuple[int, int]], scorer, runners: bool = False) -> _Variant:
    """``sent`` with every proposal's suggestion applied (with ``runners``,
    its runner-up where it has one)."""
    text, spans = _apply_local(sent, runners)
    ids, offs = scorer.encode(text)
    rng_o = [_tok_range(offs_o, p.start - sent.start, p.end - sent.start) for p in sent.proposals]
    rng_v = [_tok_range(offs, a, b) for a, b in spans]
    ends = [rv[1] for ro, rv in zip(rng_o, rng_v) if ro and rv]
    return _Variant(text, spans, offs, [scorer.bos_id] + ids[: _needed(ends, len(ids))], rng_o, rng_v)


def _gains(r1, rv, v: _Variant) -> list[float | None]:
    """Each proposal's LM gain: the log-probability of the variant's tokens
    from the proposal up to the next one (or :data:`RIGHT` tokens past it)
    minus that of the observed tokens over the same stretch."""
    starts_o = [r[0] if r else None for r in v.rng_o]
    starts_v = [r[0] if r else None for r in v.rng_v]
    out: list[float | None] = []
    for i in range(len(v.rng_o)):
        if starts_o[i] is None or starts_v[i] is None:
            out.append(None)
            continue
        nxt_o = next((x for x in starts_o[i + 1 :] if x is not None), len(r1.token_lp))
        nxt_v = next((x for x in starts_v[i + 1 :] if x is not None), len(rv.token_lp))
        if RIGHT is not None:
            nxt_o = min(nxt_o, v.rng_o[i][1] + 1 + RIGHT)
            nxt_v = min(nxt_v, v.rng_v[i][1] + 1 + RIGHT)
        out.append(float(rv.token_lp[starts_v[i] : nxt_v].sum() - r1.token_lp[starts_o[i] : nxt_o].sum()))
    return out


def _needed(last_tokens: list[int], n: int) -> int:
    """How many of a sequence's ``n`` tokens a pass must score: through
    :data:`RIGHT` tokens past the last slot (``last_tokens``: each slot's
    last token)."""
    if RIGHT is None or not last_tokens:
        return n
    return min(n, max(last_tokens) + 1 + RIGHT)


def _anticipate(variant: str, written: list[tuple[int, int]], offs, lex: Lexicon, scorer) -> dict[int, set[int]]:
    """What the next round's pass 1 will want in ``variant`` if every
    proposal in it is accepted: the slots outside the ``written`` spans.
    (Pass 2 scores a variant only through :data:`RIGHT` tokens past its last
    proposal, so the next round reuses it only if that covers its slots.)"""
    props = [p for p in _slots(variant, tokenize(variant), lex, []) if not _inside(p, written)]
    return _wants(props, offs, 0, scorer)[0]


def _apply_local(sent: _Sentence, runners: bool = False) -> tuple[str, list[tuple[int, int]]]:
    """The sentence with its proposals applied, and their spans in it
    (with ``runners``, a proposal's runner-up replaces its suggestion)."""
    out, spans, pos = [], [], 0
    shift = 0
    for p in sent.proposals:
        a, b = p.start - sent.start, p.end - sent.start
        out.append(sent.text[pos:a])
        na = a + shift
        sug = p.runner[1] if runners and p.runner is not None else p.suggestion
        out.append(sug)
        spans.append((na, na + len(sug)))
        shift += len(sug) - (b - a)
        pos = b
    out.append(sent.text[pos:])
    return "".join(out), spans


def _non_overlapping(props: list[_Proposal], key) -> list[_Proposal]:
    """The best of ``props`` by ``key`` that no better one overlaps, in
    text order."""
    chosen: list[_Proposal] = []
    for p in sorted(props, key=lambda p: -key(p)):
        for q in chosen:
            if p.start < q.end and q.start < p.end:
                break
        else:
            chosen.append(p)
    return sorted(chosen, key=attrgetter("start"))


# --------------------------------------------------------------------------
# Scoring without the language model (--fast)


# Bound on a --fast slot memo's entries (about half a kilobyte each); it
# starts afresh when full.  The benchmark's 120 texts (40 documents, each
# clean and spun two ways; all rounds) fill about 5,000.
SLOT_MEMO_SIZE = 50_000


def _score_fast(sent: _Sentence, memo: dict | None = None) -> None:
    """Score a sentence's slots with word and bigram frequencies and keep
    the best non-overlapping ones.

    A slot's --fast score reads nothing but its observed form, its nearest
    word on each side and its candidates, so ``memo`` (a dict the caller
    keeps, e.g. across a chunk's restoration rounds) holds each such slot's
    result once: later rounds re-read a changed sentence whole, yet only the
    slots next to an edit see new neighbours.  The candidates are those the
    lexicon lists for the observed form, or a subset of them (a capitalised
    form after an opening quote keeps the phrase tables' only), so their
    number tells which list a slot has.
    """
    from .ngram import phrase_logps

    if memo is None:
        memo = {}
    elif len(memo) > SLOT_MEMO_SIZE:
        memo.clear()
    kept = []
    for p in sent.proposals:
        if p.midcap:
            # Bigram counts know little about names ("Prime Minister" vs
            # "Top Minister"); only the LM may touch capitalised words.
            continue
        left, right = p.left, p.right
        observed = p.observed
        key = (observed, left, right, len(p.cands))
        got = memo.get(key)
        if got is None:
            # Lower-case observed text gives every candidate its own casing
            # (match_case would return it unchanged): the common case, skipped.
            plain = observed.islower() and "’" not in observed
            cands = p.cands
            surfs = [ent.original for ent in cands] if plain else [match_case(e.original, observed) for e in cands]
            obs, *lps = phrase_logps([_words(observed)] + [_words(s) for s in surfs], left, right)
            scored = []
            for lp, surf, ent in zip(lps, surfs, cands):
                gain = lp - obs
                scored.append((gain + channel_score(ent), gain, surf, ent))
            scored.sort(key=itemgetter(0), reverse=True)  # stable: ties keep lexicon order
            best = scored[0]
            alternatives = tuple(dict.fromkeys(s for _, _, s, _ in scored[1:4] if s != best[2]))
            got = memo[key] = (*best, alternatives)
        p.score, p.lm_gain, p.suggestion, p.entry, alternatives = got
        p.prescore = p.score
        p.alternatives = list(alternatives)
        kept.append(p)
    sent.proposals = _non_overlapping(kept, key=attrgetter("score"))


def _words(s: str) -> list[str]:
    """The words of ``s`` (a slot's form or a candidate), for n-gram scoring."""
    if s.isalnum():
        return [s]  # one word: most forms and candidates
    return _split_words(s)


@lru_cache(maxsize=100_000)
def _split_words(s: str) -> list[str]:
    return [w for w in _TOKEN_RE.findall(s) if w[0].isalnum() or w[0] == "_"]


# --------------------------------------------------------------------------
# Documents


def _open(text: str, config: Config, english: bool | None = None) -> _Doc:
    """A document before its sentences: boilerplate, language (unless the
    caller knows it), word count."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    bp = []
    if config.clean_boilerplate:
        from .clean import boilerplate_edits

        bp = boilerplate_edits(text)
    if english is None:
        english = english_share(text) >= MIN_ENGLISH if text.strip() else True
    return _Doc(text, bp, english, word_count(text))


def _local(spans: Sequence[tuple[int, int]], s: int, e: int) -> tuple[tuple[int, int], ...]:
    """The spans that overlap ``[s, e)``, relative to ``s``."""
    return tuple((a - s, b - s) for a, b in spans if a < e and s < b)


def _sentence(
    text: str, s: int, e: int, config: Config, lex: Lexicon, di: int, skip: list, protected: tuple
) -> list[_Sentence]:
    """Sentence ``[s, e)`` as windows with their slots; windows without a
    slot are left out.  ``skip`` (boilerplate) and ``protected`` are spans
    relative to ``s`` that no slot may touch."""
    out = []
    skip_abs = [(a + s, b + s) for a, b in skip]
    for ws, we, toks in _windows(tokenize(text[s:e], offset=s), s, e, config.max_words):
        props = _slots(text, toks, lex, skip_abs)
        if protected:
            props = [p for p in props if not any(a + s < p.end and p.start < b + s for a, b in protected)]
        if props:
            out.append(_Sentence(di, ws, we, text[ws:we], props))
    return out


def _scored(props: Iterable[_Proposal]) -> list[_Proposal]:
    """The proposals the language model (or --fast's n-grams) could score:
    what the document model and the decisions read."""
    return [p for p in props if p.score > float("-inf")]


def _finish(doc: _Doc, config: Config, p_doc: float | None = None) -> Restoration:
    """Decide a document's edits.  ``p_doc``, when given, is its spun
    probability from an earlier round, used instead of this round's."""
    props = sorted(_scored(doc.proposals), key=lambda p: p.start)
    if not doc.english:
        det = Detection(0.0, False, [], doc.words, "non-en", {})
        return Restoration(doc.text, [], det)
    p_new, feats = document_probability(props, doc.words, config)
    if p_doc is None:
        p_doc = p_new
    spans, edits = [], list(doc.boilerplate)
    # Only a document called spun, and with restore_threshold's certainty,
    # is restored: a span's confidence never exceeds its document's
    # probability, so a clean document that reads a little spun (0.5-0.7)
    # keeps its wording; its spans are still reported.
    restoring = p_doc >= max(config.doc_threshold, config.restore_threshold)
    # Below span_threshold no span can pass either (most clean documents):
    # their slots need no confidence.
    for p in props if p_doc >= config.span_threshold else ():
        conf = _confidence(p, config) * p_doc
        if conf < config.span_threshold or p.suggestion == p.observed:
            continue
        spans.append(
            Span(p.start, p.end, p.observed, p.suggestion, round(conf, 4), p.alternatives, p.entry.source)
        )
        if not restoring:
            continue
        edits.append(
            Edit(
                p.start,
                p.end,
                p.observed,
                p.suggestion,
                "substitution",
                round(conf, 4),
                {
                    "source": p.entry.source,
                    "lexicon": f"{p.entry.spun} -> {p.entry.original}",
                    "lm_gain" if not config.fast else "ngram_gain": round(p.lm_gain, 3),
                    "channel": round(channel_score(p.entry), 3),
                    "score": round(p.score, 3),
                    "alternatives": p.alternatives,
                },
            )
        )
    edits = _drop_overlaps(edits)
    det = Detection(round(p_doc, 4), p_doc >= config.doc_threshold, spans, doc.words, "en", feats)
    return Restoration(apply_plan(doc.text, edits), edits, det)


def _drop_overlaps(edits: list[Edit]) -> list[Edit]:
    out: list[Edit] = []
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if out and e.start < out[-1].end:
            continue  # boilerplate came first in the list and wins ties
        out.append(e)
    return out


def analyse_many(
    texts: Iterable[str], config: Config = DEFAULT, protected: Sequence[Sequence[tuple[int, int]]] | None = None
) -> Iterator[_Doc]:
    """Scored slots for many documents, before any decision; input order.

    The language model loads once; sentences are scored in batches across
    documents, so memory is bounded by the batch, not by the input.  Used by
    :func:`restore_many` and by calibration.
    """
    return _analyse(texts, config, protected)


class _Pending:
    """A sentence whose windows are queued for scoring; what the memo
    will keep for it once all of them are scored."""

    __slots__ = ("key", "start", "left", "saved")

    def __init__(self, key, start: int, left: int):
        self.key, self.start, self.left = key, start, left
        self.saved: list[tuple] = []


def _analyse(
    texts: Iterable[str],
    config: Config = DEFAULT,
    protected: Sequence[Sequence[tuple[int, int]]] | None = None,
    memo: dict | None = None,
    doc_keys: Sequence | None = None,
    english: bool | None = None,
    scores: dict | None = None,
    kept: dict | None = None,
    settle: bool = False,
    slot_memo: dict | None = None,
) -> Iterator[_Doc]:
    """:func:`analyse_many`, optionally remembering each sentence's scores.

    With ``settle``, pass 3 skips the documents that pass 2 already leaves
    below ``config.span_threshold`` (see :func:`_settled`); for a first
    round only, whose documents are decided on their own probability.

    ``english``, when given, is every text's language check, already made
    (later rounds re-read texts that round 1 found English).
    ``scores`` and ``kept`` carry language-model results and attention
    caches between rounds (see :func:`_score_lm`).

    With ``memo`` (a dict the caller keeps between calls), a sentence seen
    before with the same text, boilerplate and protected spans in the same
    document (``doc_keys[i]``, default ``i``) takes its scored proposals
    from the memo without being tokenised or scored again:
    later restoration rounds re-read whole documents, but only the sentences
    an edit touched can score differently.  A memo never shares work between
    documents.

    ``slot_memo`` (--fast only; a fresh one per call when not given) holds
    each distinct slot's score, shared between documents: see
    :func:`_score_fast`.  One memo serves one lexicon (one ``config.tables``).
    """
    lex = lexicon_for(config)
    if slot_memo is None:
        slot_memo = {}
    scorer = None
    if not config.fast:
        from .lm import get_scorer

        scorer = get_scorer()
    docs: dict[int, _Doc] = {}
    queue: list[_Sentence] = []
    owners: list[_Pending | None] = []
    next_out = 0
    n_in = 0

    def flush(reading: int | None = None):
        if not queue:
            return
        if scorer is not None:
            settled = _settled(docs, queue, config, reading) if settle else None
            _score_lm(queue, scorer, config.batch_size, lex, scores, kept, config, settled)
        else:
            for s in queue:
                _score_fast(s, slot_memo)
        for s, g in zip(queue, owners):
            d = docs[s.doc]
            d.proposals.extend(s.proposals)
            d.pending -= 1
            if g is not None:
                g.saved.extend(_remember(s.proposals, g.start))
                g.left -= 1
                if g.left == 0:
                    memo[g.key] = tuple(g.saved)  # type: ignore[index]
        queue.clear()
        owners.clear()

    for text in texts:
        doc = _open(text, config, english)
        docs[n_in] = doc
        dk = doc_keys[n_in] if doc_keys is not None else n_in
        skip = [(e.start, e.end) for e in doc.boilerplate]
        prot = protected[n_in] if protected else ()
        sents = sentences(text) if doc.english else ()
        for s, e in sents:
            sk, pr = _local(skip, s, e), _local(prot, s, e)
            key = None
            if memo is not None:
                key = (dk, text[s:e], sk, pr)
                hit = memo.get(key)
                if hit is not None:
                    doc.proposals.extend(_recall(hit, s))
                    continue
            parts = _sentence(text, s, e, config, lex, n_in, sk, pr)
            if memo is not None and not parts:
                memo[key] = ()
            g = _Pending(key, s, len(parts)) if memo is not None else None
            for part in parts:
                part.owner = dk
                doc.pending += 1
                queue.append(part)
                owners.append(g)
                if len(queue) >= SENTENCES_PER_BATCH:
                    flush(reading=n_in)
        n_in += 1
        while next_out < n_in and docs[next_out].pending == 0:
            yield docs.pop(next_out)
            next_out += 1
    flush()
    while next_out < n_in:
        yield docs.pop(next_out)
        next_out += 1


def _settled(docs: dict[int, _Doc], queue: list[_Sentence], config: Config, reading: int | None):
    """For :func:`_score_lm`'s ``settled``, once pass 2 has scored
    ``queue``: whether a sentence's document is read to its end (it is not
    ``reading``) and already has a spun probability below
    ``config.span_threshold``.

    Such a document shows no span and takes no edit (a span's confidence is
    at most its document's probability), and pass 3 cannot change that
    probability: the document model reads pass 2's scores and suggestions
    (``doc_score``, ``doc_suggestion``).  So its runners-up need no scoring.
    Most documents in a corpus are clean, and for them pass 3 was work
    without effect.
    """
    by_doc: dict[int, list[_Proposal]] = {}
    for s in queue:
        by_doc.setdefault(s.doc, []).extend(s.proposals)
    known: dict[int, bool] = {}

    def settled(sent: _Sentence) -> bool:
        di = sent.doc
        if di == reading:
            return False
        if di not in known:
            mine = by_doc[di]
            # A slot pass 2 could not score but whose runner-up pass 3 may
            # score would join the document's evidence: not settled.
            if any(p.score == float("-inf") and p.runner is not None for p in mine):
                known[di] = False
            else:
                props = _scored(docs[di].proposals + mine)
                known[di] = document_probability(props, docs[di].words, config)[0] < config.span_threshold
        return known[di]

    return settled


def _remember(props: list[_Proposal], s: int) -> list[tuple]:
    """Scored proposals, offsets relative to their sentence's start ``s``."""
    return [
        (
            p.start - s,
            p.end - s,
            p.observed,
            p.suggestion,
            p.entry,
            p.prescore,
            tuple(p.alternatives),
            p.lm_gain,
            p.score,
            p.doc_score,
            p.doc_suggestion,
        )
        for p in props
    ]


def _recall(saved: tuple, start: int) -> list[_Proposal]:
    return [
        _Proposal(a + start, b + start, obs, sug, ent, pre, list(alt), gain, score, doc_score=doc, doc_suggestion=dsug)
        for a, b, obs, sug, ent, pre, alt, gain, score, doc, dsug in saved
    ]


def restore_many(texts: Iterable[str], config: Config = DEFAULT) -> Iterator[Restoration]:
    """Restore many documents; results in input order (see :func:`analyse_many`).

    Restoration is iterated to a fixed point (at most :data:`MAX_ROUNDS`
    rounds): a decision made next to a spun word is retaken once that word is
    restored ("economic system shall" -> "economic system will" -> "economy
    will").  So restoring a restored text changes nothing.  Later rounds see
    only the documents that changed, batched like the first.
    """
    it = iter(texts)
    while True:
        chunk = list(islice(it, DOCS_PER_CHUNK))
        if not chunk:
            return
        with _gc_paused():
            results = _restore_chunk(chunk, config)
        yield from results


@contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector while a chunk is restored.

    The lexicon and the n-gram tables keep a few hundred thousand objects
    alive that the collector can never free but re-examines in every full
    collection, and restoring a chunk allocates enough to trigger several:
    that cost a quarter of --fast mode's time.  Almost nothing a chunk
    allocates forms reference cycles (reference counting frees it), the chunk
    bounds what is allocated, and the collector resumes when the chunk is
    done.  If it was already off, it stays off.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _restore_chunk(texts: list[str], config: Config) -> list[Restoration]:
    # Sentence scores by (document, sentence text, slots): a later round
    # re-reads each changed document whole, but only the sentences an edit
    # touched need the language model again.
    memo: dict = {}
    scores: dict = {}
    kept: dict = {}
    slots: dict = {}  # --fast slot scores (see _score_fast)
    results = [
        _finish(d, config)
        for d in _analyse(texts, config, memo=memo, scores=scores, kept=kept, settle=True, slot_memo=slots)
    ]
    cfg = config.with_(clean_boilerplate=False)
    active = [i for i, r in enumerate(results) if _substitutions(r.edits)]
    for _ in range(MAX_ROUNDS - 1):
        _forget(kept, set(active))
        if not active:
            break
        # Words an earlier round wrote are originals now: a spinner rewrites
        # a word once, so they are not restored again ("fastidiously" ->
        # "carefully", never on to "closely").  Only their neighbours are
        # reconsidered.
        written = [_written_spans(results[i].edits) for i in active]
        # A later round's span confidences are scaled by the probability
        # that the *document* is spun, taken from round 1: the text a round
        # leaves has had most of its evidence restored away, yet its
        # remaining spun words belong to the same spun document.
        docs = _analyse(
            [results[i].text for i in active],
            cfg,
            written,
            memo=memo,
            doc_keys=active,
            english=True,
            scores=scores,
            kept=kept,
            slot_memo=slots,
        )
        again = [_finish(d, cfg, results[i].detection.spun_probability) for i, d in zip(active, docs)]
        still = []
        for i, r2 in zip(active, again):
            if not r2.edits:
                continue
            r1 = results[i]
            edits = _compose(texts[i], r1.edits, r1.text, r2.edits)
            if edits is None:  # overlapping rewrites we cannot express as one plan
                continue
            results[i] = _with_edits(r1, texts[i], edits, r2.text)
            still.append(i)
        active = still
    _forget(kept, set())
    return results


def _forget(kept: dict, owners: set) -> None:
    """Free the attention caches of the documents not in ``owners``: they
    take no further round.  (The scores that held them may live on in the
    round's ``scores``, which needs no cache.)"""
    for key in [k for k in kept if k[0] not in owners]:
        for _, r in kept.pop(key):
            r.kv = None


def _written_spans(edits: list[Edit]) -> list[tuple[int, int]]:
    """Where each edit's replacement sits in the restored text."""
    out, shift = [], 0
    for e in sorted(edits, key=lambda e: e.start):
        a = e.start + shift
        if e.kind == "substitution":
            out.append((a, a + len(e.after)))
        shift += len(e.after) - (e.end - e.start)
    return out


def _substitutions(edits: list[Edit]) -> list[Edit]:
    return [e for e in edits if e.kind == "substitution"]


def _with_edits(r: Restoration, text: str, edits: list[Edit], restored: str) -> Restoration:
    det = r.detection
    spans = [
        Span(
            e.start,
            e.end,
            e.before,
            e.after,
            e.confidence,
            list(e.evidence.get("alternatives", [])),
            str(e.evidence.get("source", "")),
        )
        for e in _substitutions(edits)
    ]
    det = Detection(det.spun_probability, det.is_spun, spans, det.words, det.language, det.features)
    return Restoration(restored, edits, det)


def _compose(t0: str, e1: list[Edit], t1: str, e2: list[Edit]) -> list[Edit] | None:
    """Edits on ``t0`` equivalent to applying ``e1`` and then ``e2`` (on ``t1``).

    An ``e2`` edit inside untouched text is shifted back to ``t0`` offsets;
    one that touches text an ``e1`` edit wrote is merged with it into a single
    edit from the original words to the final ones.  Returns None when the
    result does not replay exactly (never expected; the caller keeps ``e1``).
    """
    e1 = sorted(e1, key=lambda e: e.start)
    # Image of each e1 edit in t1.
    images, shift = [], 0
    for e in e1:
        a1 = e.start + shift
        images.append((a1, a1 + len(e.after)))
        shift += len(e.after) - (e.end - e.start)

    def to_t0(pos: int) -> int:
        """A t1 position outside every image, mapped back to t0."""
        d = 0
        for e, (a1, b1) in zip(e1, images):
            if b1 <= pos:
                d += (e.end - e.start) - len(e.after)
        return pos + d

    consumed: set[int] = set()
    out: list[Edit] = []
    for f in sorted(e2, key=lambda e: e.start):
        hit = [
            k
            for k, (a1, b1) in enumerate(images)
            if (a1 < f.end and f.start < b1) or (a1 == b1 and f.start < a1 < f.end)
        ]
        if not hit:
            a0, b0 = to_t0(f.start), to_t0(f.end)
            out.append(Edit(a0, b0, t0[a0:b0], f.after, f.kind, f.confidence, f.evidence))
            continue
        if consumed.intersection(hit):
            return None
        consumed.update(hit)
        A = min(f.start, images[hit[0]][0])
        B = max(f.end, images[hit[-1]][1])
        A0 = e1[hit[0]].start if A == images[hit[0]][0] else to_t0(A)
        B0 = e1[hit[-1]].end if B == images[hit[-1]][1] else to_t0(B)
        after = t1[A:f.start] + f.after + t1[f.end:B]
        first = e1[hit[0]]
        evidence = dict(f.evidence)
        evidence["rounds"] = [first.evidence, f.evidence]
        out.append(Edit(A0, B0, t0[A0:B0], after, f.kind, min(f.confidence, first.confidence), evidence))
    out.extend(e for k, e in enumerate(e1) if k not in consumed)
    out.sort(key=lambda e: e.start)
    try:
        final = apply_plan(t0, out)
    except ValueError:
        return None
    return out if final == apply_plan(t1, e2) else None


def restore_and_explain(text: str, config: Config = DEFAULT) -> Restoration:
    """Restored text plus the edits that produced it, each with its evidence.

    >>> r = restore_and_explain("[ad_1]\\nThe economic system at all times comes first.", Config(fast=True))
    >>> r.text
    'The economy always comes first.'
    >>> apply_plan("[ad_1]\\nThe economic system at all times comes first.", r.edits) == r.text
    True
    """
    return next(restore_many([text], config))


def restore_text(text: str, config: Config = DEFAULT) -> str:
    """The most likely original wording of ``text``."""
    return restore_and_explain(text, config).text


def apply_plan(text: str, plan: Sequence[Edit | dict]) -> str:
    """Replay edits on ``text``.  Raises ValueError if the plan does not fit it.

    >>> apply_plan("go to Astana", [{"start": 0, "end": 5, "before": "go to", "after": "visit"}])
    'visit Astana'
    """
    edits = sorted((e if isinstance(e, Edit) else Edit.from_dict(e) for e in plan), key=lambda e: e.start)
    out, pos = [], 0
    for e in edits:
        if e.start < pos or e.end < e.start or e.end > len(text):
            raise ValueError(f"edit {e.start}-{e.end} overlaps another or lies outside the text")
        if text[e.start : e.end] != e.before:
            raise ValueError(
                f"edit {e.start}-{e.end} expects {e.before!r} but the text has {text[e.start:e.end]!r}"
            )
        out.append(text[pos : e.start])
        out.append(e.after)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)
