"""Spin-robust fingerprints: what a spinner leaves alone, as MinHash signatures.

A spinner rewrites content words ("huge" -> "massive") and stock phrases
("within the" for "in the") and leaves the rest: names, numbers, and most of
the function words that hold a sentence together.  Those are the
*immutables* (the idea of the DSpin work on detecting spun content).  Plain
word shingles fail on spun text (a spinner that replaces 30% of the words
leaves 0.7^5 = 17% of the 5-grams intact); shingles of the immutables
survive almost whole.

Every word token gets one of four classes (:func:`classify`):

* ``N`` name or number: a capitalised word inside a sentence, an acronym, a
  word with a digit;
* ``F`` function word (``unspin.lexicon.CLOSED_CLASS``: pronouns, months,
  number words, ...);
* ``S`` swapped function word: a function word or number that some lexicon
  pair rewrites ("in" and "within" in "within the" <- "in the", "during",
  "two" in "the 2" <- "the two").  Spinners swap these for one another, so
  they count, but not which one stands where;
* ``M`` every other word: what a spinner may rewrite.

From these, two families of shingles (:func:`shingles`):

* ``n:`` pairs of consecutive names and numbers ("goulburn 500"): the
  article's cast and figures, in its order;
* ``s:`` skeleton 5-grams (:func:`skeleton`): ``F`` and ``N`` words as
  themselves, each run of ``S`` words as ``~``, each run of ``M`` words as
  ``*`` ("~ monday she * goulburn");
* ``w:`` only for a text with almost no names, numbers or function words
  (:data:`MIN_IMMUTABLES`): the skeleton with ``S`` words as themselves.

Rare content words are deliberately not anchors.  A spinner with another
thesaurus than ours swaps common words for rare ones, and a rare word in the
query that the source lacks breaks every shingle around it.  Measured on 200
benchmark documents (Jaccard similarity of the shingle sets of a document
and its spun copy, mean / 5th percentile, no restoration):

==============================  ==========  ========  ==========  ==========
recipe                          word @ 0.5  word @ 1  phrase@0.5  foreign@0.7
==============================  ==========  ========  ==========  ==========
this one                        0.93/0.82   0.88/0.75 0.87/0.72   1.00/1.00
plus rare words as anchors      1.00/1.00   1.00/1.00 1.00/1.00   0.44/0.14
S words as function words       0.74/0.60   0.57/0.43 0.55/0.39   --
==============================  ==========  ========  ==========  ==========

("foreign": 70% of the lower-case content words replaced by strings no
lexicon knows, ``benchmarks/bench_trace.py``.)  Unrelated documents score
0.013 on average.  With 32 bands of 4 rows a document at similarity 0.6 is
a candidate with probability 0.988, at 0.73 with 0.9999.

The shingle set becomes a MinHash signature (:class:`MinHasher`: the
``affine32`` scheme of datasketch 2.x, same permutations for the same seed,
checked against datasketch in the tests) and the signature becomes LSH band
keys (:func:`band_keys`), one 64-bit integer per band.  All hashes are
blake2b; nothing depends on Python's per-process ``hash()``, so an index
built today answers queries from another process tomorrow.

:data:`FINGERPRINT_VERSION` names this recipe; an index stores it and
refuses queries fingerprinted by another.  The ``S`` list comes from the
lexicon, so an index also stores :func:`vocabulary_digest` and says when the
lexicon has changed since it was built (rebuild it for full recall).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np

from .text import _TOKEN_RE, Token

#: Changes whenever the classes, the shingles or the hashing change: an index
#: built under another version must be rebuilt.
FINGERPRINT_VERSION = "2"

F, S, N, M = "F", "S", "N", "M"

#: A text with fewer F and N words than this gets a third shingle family
#: (see :func:`shingles`).  On the benchmark documents: 1.4% fall below it
#: (abstract Wikipedia prose, 4 of them with no shingle at all); a cut at 20
#: would catch 21% and lower their similarity to their spun copies from 0.86
#: to 0.56 (phrase style, rate 0.5).
MIN_IMMUTABLES = 5


@dataclass(frozen=True)
class FingerprintParams:
    """How documents become band keys.  Stored in the index; queries use the index's.

    ``bands * rows == num_perm``.  With 32 bands of 4 rows, a document whose
    shingle sets overlap the query's with Jaccard similarity J becomes a
    candidate with probability ``1 - (1 - J^4)^32``: 0.99 at J = 0.6, 0.87 at
    0.5, 0.23 at 0.3 (a distractor sharing a third of the sentences).
    """

    num_perm: int = 128
    bands: int = 32
    seed: int = 1
    anchor_n: int = 2
    skeleton_n: int = 5

    def __post_init__(self):
        if self.num_perm <= 0 or self.bands <= 0 or self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) must be a positive multiple of bands ({self.bands})")
        if self.anchor_n < 1 or self.skeleton_n < 1:
            raise ValueError("shingle lengths must be positive")

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands

    def to_json(self) -> str:
        return json.dumps({"version": FINGERPRINT_VERSION, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> "FingerprintParams":
        d = json.loads(s)
        if d.pop("version", None) != FINGERPRINT_VERSION:
            raise ValueError("fingerprint recipe version mismatch")
        return cls(**d)


DEFAULT_PARAMS = FingerprintParams()


# --------------------------------------------------------------------------
# Word classes

_DIGIT = re.compile(r"\d")


class _Vocabulary(NamedTuple):
    function: frozenset[str]  # F
    swapped: frozenset[str]  # S
    digest: str


@lru_cache(maxsize=1)
def _vocabulary() -> _Vocabulary:
    """The F and S word lists, from the lexicon, once per process."""
    from .lexicon import CLOSED_CLASS, load_lexicon

    lex = load_lexicon()
    swapped: set[str] = set()
    for spun_key, entries in lex._rev.items():
        spun_words = set(spun_key.split(" "))
        for e in entries:
            # The words on one side of a pair only are what it rewrites:
            # "within the" <- "in the" rewrites "in" as "within".
            swapped |= spun_words ^ set(e.original.replace("’", "'").lower().split())
    swapped = {w for w in swapped if w in CLOSED_CLASS or _DIGIT.search(w)}
    function = frozenset(CLOSED_CLASS - swapped)
    h = hashlib.blake2b(digest_size=8)
    for group in (function, swapped):
        h.update("\n".join(sorted(group)).encode() + b"\0")
    return _Vocabulary(function, frozenset(swapped), h.hexdigest())


def vocabulary_digest() -> str:
    """Names the F and S word lists; an index stores it to notice a changed lexicon."""
    return _vocabulary().digest


# After one of these a capital says nothing about the word being a name.
_SENTENCE_OPENERS = frozenset(".!?:;\"“”‘'([")

# word -> (key, class inside a sentence, class at a sentence start).  Text
# repeats its words, so most tokens are one dict lookup.
_CLASS_CACHE: dict[str, tuple[str, str, str]] = {}
_CLASS_CACHE_MAX = 500_000


def _word_class(w: str) -> tuple[str, str, str]:
    hit = _CLASS_CACHE.get(w)
    if hit is not None:
        return hit
    v = _vocabulary()
    key = w.replace("’", "'").lower()
    if key in v.swapped:
        inside = start = S
    elif key in v.function:
        inside = start = F
    elif not w.isalpha() and _DIGIT.search(w):
        inside = start = N
    elif w[0].isupper():
        inside = N
        start = N if w[1:] != w[1:].lower() else M  # "NSW" is a name even when it opens a sentence
    else:
        inside = start = M
    if len(_CLASS_CACHE) >= _CLASS_CACHE_MAX:
        _CLASS_CACHE.clear()
    _CLASS_CACHE[w] = hit = (key, inside, start)
    return hit


def _classes(text: str) -> list[tuple[str, str]]:
    """(class, key) of each word, without the token objects: the fast path."""
    out = []
    opener = True  # the first word opens a sentence
    prev_end = 0
    for m in _TOKEN_RE.finditer(text):
        w = m.group()
        c0 = w[0]
        if not (c0.isalnum() or c0 == "_"):
            if w in _SENTENCE_OPENERS:
                opener = True
            prev_end = m.end()
            continue
        if not opener and "\n" in text[prev_end : m.start()]:
            opener = True
        key, inside, start = _word_class(w)
        out.append((start if opener else inside, key))
        opener = False
        prev_end = m.end()
    return out


class Classified(NamedTuple):
    token: Token
    cls: str  # F, S, N or M
    key: str  # lower case, straight apostrophes


def classify(text: str) -> list[Classified]:
    """Word tokens of ``text`` with their class and lookup key.

    >>> " ".join(f"{c.token.text}/{c.cls}" for c in classify("On Monday she said the NSW fire burned 500 homes."))
    'On/S Monday/F she/F said/M the/S NSW/N fire/M burned/M 500/N homes/M'
    """
    words = [Token(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(text)]
    words = [t for t in words if t.is_word]
    return [Classified(t, c, k) for t, (c, k) in zip(words, _classes(text))]


# --------------------------------------------------------------------------
# Shingles


def skeleton(classes: Sequence[tuple[str, str]]) -> list[str]:
    """F and N words as themselves; each run of S words as ``~``, of M words as ``*``.

    ``classes`` are ``(class, key)`` pairs (or :class:`Classified`).

    >>> skeleton([(c.cls, c.key) for c in classify("On Monday she said that the fire near Goulburn burned 500 homes.")])
    ['~', 'monday', 'she', '*', '~', '*', '~', 'goulburn', '*', '500', '*']
    """
    out: list[str] = []
    for item in classes:
        cls, key = (item.cls, item.key) if isinstance(item, Classified) else item
        tok = "*" if cls == M else "~" if cls == S else key
        if tok in ("*", "~") and out and out[-1] == tok:
            continue
        out.append(tok)
    return out


def _ngrams(seq: Sequence[str], n: int) -> Iterable[str]:
    if len(seq) < n:
        return [" ".join(seq)] if seq else []
    return (" ".join(seq[i : i + n]) for i in range(len(seq) - n + 1))


def shingles(text: str, params: FingerprintParams = DEFAULT_PARAMS) -> set[str]:
    """The spin-robust shingle set of ``text`` (see the module docstring).

    >>> p3 = FingerprintParams(skeleton_n=3)
    >>> sorted(shingles("Yesterday Smith met Jones and Brown in Paris.", p3))  # doctest: +NORMALIZE_WHITESPACE
    ['n:brown paris', 'n:jones brown', 'n:smith jones', 's:* jones ~', 's:brown ~ paris', 's:jones ~ brown',
     's:smith * jones', 's:yesterday smith *', 's:~ brown ~']

    A text with fewer than :data:`MIN_IMMUTABLES` names, numbers and stable
    function words also gets ``w:`` shingles:

    >>> sorted(shingles("Smith met Jones in Paris.", p3))
    ['n:jones paris', 's:* jones ~', 's:jones ~ paris', 'w:* jones in', 'w:jones in paris']

    Spinning the content words leaves the set as it was:

    >>> shingles("She said the huge fire near Goulburn burned 500 homes.") == shingles(
    ...     "She stated the massive blaze near Goulburn destroyed 500 houses.")
    True
    """
    cl = _classes(text)
    out = {"n:" + g for g in _ngrams([k for c, k in cl if c == N], params.anchor_n)}
    sk = skeleton(cl)
    if any(tok not in ("*", "~") for tok in sk):
        out.update("s:" + g for g in _ngrams(sk, params.skeleton_n))
    if sum(c in (F, N) for c, _ in cl) < MIN_IMMUTABLES:
        # Too few immutables to tell this text from others (abstract prose
        # without names or figures): add the skeleton with the swapped
        # function words as themselves.  The test counts immutables only, so
        # a spun copy takes the same branch as its source.
        loose = [(F if c == S else c, k) for c, k in cl]
        out.update("w:" + g for g in _ngrams(skeleton(loose), params.skeleton_n))
    return out


# --------------------------------------------------------------------------
# MinHash


def hash32(s: str) -> int:
    """A stable 32-bit hash of a string (blake2b), the same in every process.

    >>> hash32("a:sydney goulburn")
    4190529870
    """
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=4).digest(), "little")


_U32 = np.uint32
_FMIX32 = (_U32(16), _U32(0x85EBCA6B), _U32(13), _U32(0xC2B2AE35), _U32(16))
_EMPTY = np.iinfo(np.uint32).max


def _fmix32(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX32
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


class MinHasher:
    """MinHash signatures with ``num_perm`` permutations drawn from ``seed``.

    The ``affine32`` scheme of datasketch 2.x: each 32-bit input hash is mixed
    by the MurmurHash3 finalizer, then permuted by ``a*h + b mod 2^32`` with
    odd ``a``; the permutation parameters come from
    ``numpy.random.RandomState(seed)`` exactly as datasketch draws them, so
    ``datasketch.MinHash(num_perm, seed, hashfunc=hash32, scheme="affine32")``
    gives the same signature.  Implemented here on numpy so that a signature
    of a few hundred shingles takes a fraction of a millisecond and the
    index does not change when datasketch does.

    >>> mh = MinHasher(8, seed=1)
    >>> sig = mh.signature(["a", "b"])
    >>> sig.dtype.name, len(sig), bool((mh.signature(["b", "a"]) == sig).all())
    ('uint32', 8, True)
    """

    def __init__(self, num_perm: int = 128, seed: int = 1, hashfunc: Callable[[str], int] = hash32):
        gen = np.random.RandomState(seed)
        a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * _U32(2) + _U32(1)
        b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
        self.num_perm, self.seed, self.hashfunc = num_perm, seed, hashfunc
        self._a, self._b = a, b

    def signature(self, items: Iterable[str]) -> np.ndarray:
        """The signature (``uint32[num_perm]``); all ``2^32 - 1`` for an empty set."""
        hv = np.fromiter((self.hashfunc(s) for s in items), dtype=np.uint32)
        if hv.size == 0:
            return np.full(self.num_perm, _EMPTY, dtype=np.uint32)
        phv = _fmix32(hv).reshape(-1, 1) * self._a + self._b
        return phv.min(axis=0)

    def __reduce__(self):  # pickles small: the permutations are redrawn from the seed
        return (MinHasher, (self.num_perm, self.seed, self.hashfunc))


@lru_cache(maxsize=8)
def hasher(num_perm: int, seed: int) -> MinHasher:
    return MinHasher(num_perm, seed)


def is_empty(sig: np.ndarray) -> bool:
    """True for the signature of an empty shingle set (it would collide with every other)."""
    return bool((sig == _EMPTY).all())


def jaccard(sig1: np.ndarray, sig2: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(np.mean(sig1 == sig2))


def band_keys(sig: np.ndarray, bands: int) -> list[int]:
    """One signed 64-bit key per band (blake2b of the band index and its rows).

    Empty signatures get no keys: an empty document is stored but never a
    candidate.

    >>> ks = band_keys(MinHasher(8).signature(["x"]), 4)
    >>> len(ks), all(-2**63 <= k < 2**63 for k in ks)
    (4, True)
    """
    if is_empty(sig):
        return []
    rows = len(sig) // bands
    data = sig.astype("<u4").tobytes()
    w = rows * 4
    return [
        int.from_bytes(
            hashlib.blake2b(data[i * w : (i + 1) * w], digest_size=8, person=b"band%04d" % i).digest(),
            "little",
            signed=True,
        )
        for i in range(bands)
    ]


class Fingerprint(NamedTuple):
    signature: np.ndarray
    keys: list[int]
    n_shingles: int


def fingerprint(text: str, params: FingerprintParams = DEFAULT_PARAMS) -> Fingerprint:
    """Signature and band keys of one document.

    >>> fp = fingerprint("Smith met Jones in Paris on 3 May.")
    >>> len(fp.signature), len(fp.keys)
    (128, 32)
    """
    sh = shingles(text, params)
    sig = hasher(params.num_perm, params.seed).signature(sh)
    return Fingerprint(sig, band_keys(sig, params.bands), len(sh))


def expected_candidate_probability(j: float, params: FingerprintParams = DEFAULT_PARAMS) -> float:
    """Chance that a document at Jaccard similarity ``j`` shares at least one band.

    >>> round(expected_candidate_probability(0.6), 3)
    0.988
    """
    return 1.0 - (1.0 - j**params.rows) ** params.bands


__all__ = [
    "FINGERPRINT_VERSION",
    "DEFAULT_PARAMS",
    "vocabulary_digest",
    "Classified",
    "Fingerprint",
    "FingerprintParams",
    "MinHasher",
    "band_keys",
    "classify",
    "expected_candidate_probability",
    "fingerprint",
    "hash32",
    "is_empty",
    "jaccard",
    "shingles",
    "skeleton",
]
