"""The benchmark spinner: spin clean text reproducibly, with ground truth.

A synonym spinner of the content-farm kind, built on the same lexicon the
restorer reads (``unspin.lexicon``), turned forward: for an original word or
phrase it writes one of the spun alternatives listed for it, chosen uniformly
(the channel model the restorer assumes).  Every replacement is recorded, with
offsets into both the input and the spun output, so benchmarks can score
detection spans and restoration exactly.

How a text is spun
------------------
1. *Slots.*  The text is cut, left to right, into the longest word sequences
   whose normalised form (:func:`unspin.text.norm`) the lexicon lists as an
   original (``lex.forward``).  Words of a slot are joined by spaces or tabs
   only, never by punctuation or a line break.  Names and numbers are left
   alone: a word with a digit is never part of a slot, nor is a word with a
   capital letter, except a capitalised word that begins a sentence.
2. *Selection.*  ``rate`` is the share of slots that get replaced:
   ``round(rate * slots)`` of them.  Each slot draws a random priority and a
   random alternative up front, so for one seed a higher rate replaces a
   superset of the slots a lower rate replaces, with the same words.
3. *Styles.*  ``"word"`` spins like the seed article: single words and short
   phrases (slots of at most :data:`WORD_STYLE_MAX_N` words), the alternative
   drawn uniformly from all sources pooled.  ``"phrase"`` is heavier: slots as
   long as the lexicon allows, slots with phrase-table alternatives (and among
   them multiword ones) replaced first, and such slots take a phrase-table
   alternative; the thesaurus fills the rest.
4. *Output.*  A replacement takes the casing of the text it replaces
   (:func:`unspin.text.match_case`) and its curly apostrophes; every
   character outside a replaced span is copied byte for byte.

Determinism: the random generator is seeded from ``seed`` and a SHA-256 hash
of the text (never Python's ``hash()``, which differs per process), so the
same (text, seed, style, rate, lexicon) always gives the same output, in any
process.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Iterator

from .text import Token, match_case, norm, sentences, tokenize

STYLES = ("word", "phrase")

#: The longest original (in words) the "word" style rewrites.  Real spinners
#: of the seed's kind swap words and two- or three-word phrases ("at the same
#: time" -> "on the similar time" is the longest in the seed article: 4).
WORD_STYLE_MAX_N = 4


@dataclass(frozen=True)
class SpinResult:
    """A spun text and the edits that made it from the input.

    Each edit is a dict: ``orig_start``/``orig_end`` (offsets into the input,
    ``input[orig_start:orig_end] == original``), ``spun_start``/``spun_end``
    (offsets into :attr:`text`, ``text[spun_start:spun_end] == spun``),
    ``original``, ``spun`` and ``source`` (the lexicon source of the pair).
    Edits are sorted and do not overlap.
    """

    text: str
    edits: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Slot:
    start: int  # offsets into the input
    end: int
    key: str  # normalised original
    n: int  # words
    alts: tuple[tuple[str, str], ...]  # (spun form, source), the alternatives to draw from
    has_phrases: bool


def _rng(seed: int, text: str) -> random.Random:
    h = hashlib.sha256(f"unspin.spin/1|{int(seed)}|".encode() + text.encode("utf-8", "surrogatepass"))
    return random.Random(int.from_bytes(h.digest()[:16], "big"))


def _word_ok(tok: Token, sentence_initial: bool) -> bool:
    w = tok.text
    if any(c.isdigit() for c in w):
        return False
    if any(c.isupper() for c in w):
        # A capitalised first word of a sentence is an ordinary word; a
        # capital anywhere else marks a name or an acronym.
        return sentence_initial and w[0].isupper() and not any(c.isupper() for c in w[1:])
    return True


def _sentence_initial(text: str, toks: list[Token]) -> list[bool]:
    starts = [s for s, _ in sentences(text)]
    out = [False] * len(toks)
    si = 0
    pending = False  # a sentence started and its first word is not yet seen
    for i, t in enumerate(toks):
        while si < len(starts) and starts[si] <= t.start:
            si += 1
            pending = True
        if pending and t.is_word:
            out[i] = True
            pending = False
    return out


def _alternatives(lex, key: str, style: str) -> tuple[tuple[tuple[str, str], ...], bool]:
    by_form: dict[str, str] = {}
    for e in lex.forward(key):
        # A form listed by several sources is one alternative; the phrase
        # table is named as its source (it is the more specific evidence).
        if e.spun not in by_form or e.source == "phrases":
            by_form[e.spun] = e.source
    has_phrases = any(s == "phrases" for s in by_form.values())
    items = sorted(by_form.items())
    if style == "phrase" and has_phrases:
        items = [(f, s) for f, s in items if s == "phrases"]
    return tuple(items), has_phrases


def _slots(text: str, lex, style: str) -> list[_Slot]:
    toks = tokenize(text)
    initial = _sentence_initial(text, toks)
    max_n = lex.max_n if style == "phrase" else min(lex.max_n, WORD_STYLE_MAX_N)
    slots: list[_Slot] = []
    i = 0
    while i < len(toks):
        if not (toks[i].is_word and _word_ok(toks[i], initial[i])):
            i += 1
            continue
        # The run of joinable words starting at i, up to max_n of them.
        run = [toks[i]]
        j = i + 1
        while len(run) < max_n and j < len(toks):
            gap = text[toks[j - 1].end : toks[j].start]
            t = toks[j]
            if not gap or gap.strip(" \t") or not t.is_word or not _word_ok(t, initial[j]):
                break
            run.append(t)
            j += 1
        found = None
        for n in range(len(run), 0, -1):
            key = norm(" ".join(t.text for t in run[:n]))
            alts, has_phrases = _alternatives(lex, key, style)
            if alts:
                found = _Slot(run[0].start, run[n - 1].end, key, n, alts, has_phrases)
                break
        if found is None:
            i += 1
            continue
        slots.append(found)
        i += found.n
    return slots


def _render(form: str, observed: str) -> str:
    out = match_case(form, observed)
    if "’" in observed and "'" in out:
        out = out.replace("'", "’")
    return out


def spin(text: str, *, seed: int = 0, style: str = "word", rate: float = 0.3, lexicon=None) -> SpinResult:
    """Spin ``text``; the result carries the spun text and its ground-truth edits.

    ``lexicon`` defaults to the full lexicon (phrase table and thesaurus).

    >>> from unspin.lexicon import Entry, Lexicon
    >>> lex = Lexicon([Entry("economic system", "economy", "phrases", 0.0),
    ...                Entry("shall be", "will be", "phrases", 0.0)])
    >>> r = spin("The economy will be fine.\\nEconomy first!", rate=1.0, lexicon=lex)
    >>> r.text
    'The economic system shall be fine.\\nEconomic system first!'
    >>> [(e["original"], e["spun"], e["spun_start"], e["spun_end"]) for e in r.edits]
    [('economy', 'economic system', 4, 19), ('will be', 'shall be', 20, 28), ('Economy', 'Economic system', 35, 50)]
    >>> spin("The economy will be fine.", rate=0.0, lexicon=lex).text
    'The economy will be fine.'
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must lie in [0, 1], not {rate!r}")
    if lexicon is None:
        from .lexicon import load_lexicon

        lexicon = load_lexicon()
    slots = _slots(text, lexicon, style)
    rng = _rng(seed, text)
    # Draw for every slot (whatever the rate), so a higher rate replaces a
    # superset of the slots, with the same choices.
    draws = [(rng.random(), rng.randrange(len(s.alts))) for s in slots]
    if style == "phrase":
        # Phrase-table slots first, the longest first among them.
        order = sorted(range(len(slots)), key=lambda k: (not slots[k].has_phrases, -slots[k].n, draws[k][0]))
    else:
        order = sorted(range(len(slots)), key=lambda k: draws[k][0])
    chosen = sorted(order[: int(round(rate * len(slots)))])

    parts: list[str] = []
    edits: list[dict[str, Any]] = []
    pos = 0
    out_len = 0
    for k in chosen:
        s = slots[k]
        form, source = s.alts[draws[k][1]]
        observed = text[s.start : s.end]
        new = _render(form, observed)
        if new == observed:
            continue
        gap = text[pos : s.start]
        parts.append(gap)
        out_len += len(gap)
        parts.append(new)
        edits.append(
            {
                "orig_start": s.start,
                "orig_end": s.end,
                "spun_start": out_len,
                "spun_end": out_len + len(new),
                "original": observed,
                "spun": new,
                "source": source,
            }
        )
        out_len += len(new)
        pos = s.end
    parts.append(text[pos:])
    return SpinResult("".join(parts), edits)


def spin_many(
    texts: Iterable[str], *, seed: int = 0, style: str = "word", rate: float = 0.3, lexicon=None
) -> Iterator[SpinResult]:
    """:func:`spin` over many texts, lazily; the lexicon loads once."""
    if lexicon is None:
        from .lexicon import load_lexicon

        lexicon = load_lexicon()
    for t in texts:
        yield spin(t, seed=seed, style=style, rate=rate, lexicon=lexicon)
