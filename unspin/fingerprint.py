"""Spin-robust fingerprints: what a spinner leaves alone, as MinHash signatures.

A spinner rewrites common content words ("huge" -> "massive") and leaves the
rest: names and other capitalised words, numbers, rare words it has no
synonym for, and the function words that hold a sentence together.  Those
are the *immutables* (the idea of the DSpin work on detecting spun content).
Plain word shingles fail on spun text (a spinner that replaces 30% of the
words leaves 0.7^5 = 17% of the 5-grams intact); shingles built from the
immutables survive almost whole.

Every word token gets one of four classes (:func:`classify`):

* ``F`` function word (``unspin.lexicon.CLOSED_CLASS``);
* ``N`` name or number: a capitalised word inside a sentence, an acronym, a
  word with a digit;
* ``R`` rare word: one that neither our lexicon nor common usage offers a
  synonym for (not in the lexicon's vocabulary, Zipf frequency below
  :data:`COMMON_ZIPF`);
* ``M`` mutable: everything a spinner may rewrite.

From these, two families of shingles (:func:`shingles`):

* ``a:`` pairs of consecutive anchors (``N`` and ``R`` words: "sydney
  goulburn", "bushfire 500"), names, numbers and rare words in the order
  the article gives them;
* ``s:`` skeleton 5-grams (:func:`skeleton`): function words, names and
  numbers as themselves, every run of other words as one ``*`` ("the * near
  goulburn *").  Rare words are ``*`` here on purpose: a spinner with another
  thesaurus than ours may swap a common word for a rare one, and that must
  not break the skeleton.  Measured on the Lee corpus: replacing half the
  lower-case content words by unknown strings keeps the Jaccard similarity
  of the shingle sets at 0.75 (0.21 when rare words stood as themselves);
  replacing them by lexicon synonyms keeps it at 0.98.

The shingle set becomes a MinHash signature (:class:`MinHasher`: the
``affine32`` scheme of datasketch 2.x, same permutations for the same seed,
checked against datasketch in the tests) and the signature becomes LSH band
keys (:func:`band_keys`), one 64-bit integer per band.  All hashes are
blake2b; nothing depends on Python's per-process ``hash()``, so an index
built today answers queries from another process tomorrow.

:data:`FINGERPRINT_VERSION` names this recipe.  An index stores it and
refuses queries fingerprinted by another recipe.
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
FINGERPRINT_VERSION = "1"

#: A lower-case word at or above this Zipf frequency (wordfreq, English) is
#: taken as mutable even if our lexicon has no synonym for it: other
#: spinners' thesauri do.  3.0 is the cut the lexicon uses for Moby originals
#: (``unspin.lexicon.MOBY_MIN_ZIPF_ORIGINAL``): below it a thesaurus spinner
#: rarely has an entry.
COMMON_ZIPF = 3.0

F, N, R, M = "F", "N", "R", "M"
ANCHORS = frozenset((N, R))


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


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[frozenset[str], frozenset[str], dict[str, float]]:
    """(function words, lexicon words, wordfreq frequencies), loaded once."""
    from wordfreq import get_frequency_dict

    from .lexicon import CLOSED_CLASS, load_lexicon

    lex = load_lexicon()
    words: set[str] = set()
    for key in list(lex._rev) + lex.originals():  # both sides of every pair
        words.update(key.split(" "))
    return CLOSED_CLASS, frozenset(words - CLOSED_CLASS), get_frequency_dict("en")


_MIN_COMMON_FREQ = 10 ** (COMMON_ZIPF - 9)  # Zipf z is log10(frequency) + 9

# After one of these a capital says nothing about the word being a name.
_SENTENCE_OPENERS = frozenset(".!?:;\"“”‘'([")
_DIGIT = re.compile(r"\d")

# word -> (key, class inside a sentence, class at a sentence start).  Text
# repeats its words, so most tokens are one dict lookup.
_CLASS_CACHE: dict[str, tuple[str, str, str]] = {}
_CLASS_CACHE_MAX = 500_000


def _word_class(w: str) -> tuple[str, str, str]:
    hit = _CLASS_CACHE.get(w)
    if hit is not None:
        return hit
    function_words, lexicon_words, freq = _vocabulary()
    key = w.replace("’", "'").lower()
    if key in function_words:
        inside = start = F
    elif not w.isalpha() and _DIGIT.search(w):
        inside = start = N
    else:
        lower = R if key not in lexicon_words and freq.get(key, 0.0) < _MIN_COMMON_FREQ else M
        if w[0].isupper():
            inside = N
            start = N if w[1:] != w[1:].lower() else lower  # "NSW" stays a name
        else:
            inside = start = lower
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
    cls: str  # F, N, R or M
    key: str  # lower case, straight apostrophes


def classify(text: str) -> list[Classified]:
    """Word tokens of ``text`` with their class and lookup key.

    >>> " ".join(f"{c.token.text}/{c.cls}" for c in classify("The huge fire near Goulburn burned 500 bungalows."))
    'The/F huge/M fire/M near/F Goulburn/N burned/M 500/N bungalows/R'

    """
    words = [Token(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(text)]
    words = [t for t in words if t.is_word]
    return [Classified(t, c, k) for t, (c, k) in zip(words, _classes(text))]


# --------------------------------------------------------------------------
# Shingles


def skeleton(classes: Sequence[tuple[str, str]]) -> list[str]:
    """Function words, names and numbers as themselves; every run of other words as ``*``.

    ``classes`` are ``(class, key)`` pairs (or :class:`Classified`).

    >>> skeleton([(c.cls, c.key) for c in classify("The huge fire near Goulburn burned 500 bungalows.")])
    ['the', '*', 'near', 'goulburn', '*', '500', '*']
    """
    out: list[str] = []
    for item in classes:
        cls, key = (item.cls, item.key) if isinstance(item, Classified) else item
        if cls == M or cls == R:
            if not out or out[-1] != "*":
                out.append("*")
        else:
            out.append(key)
    return out


def _ngrams(seq: Sequence[str], n: int) -> Iterable[str]:
    if len(seq) < n:
        return [" ".join(seq)] if seq else []
    return (" ".join(seq[i : i + n]) for i in range(len(seq) - n + 1))


def shingles(text: str, params: FingerprintParams = DEFAULT_PARAMS) -> set[str]:
    """The spin-robust shingle set of ``text`` (see the module docstring).

    >>> sorted(shingles("Yesterday Smith met Jones in Paris.", FingerprintParams(skeleton_n=3)))
    ['a:jones paris', 'a:smith jones', 's:* jones in', 's:jones in paris', 's:smith * jones', 's:yesterday smith *']

    Spinning the mutable words leaves the set as it was:

    >>> shingles("The huge fire near Goulburn burned 500 homes.") == shingles(
    ...     "The massive blaze near Goulburn destroyed 500 houses.")
    True
    """
    cl = _classes(text)
    anchors = [k for c, k in cl if c in ANCHORS]
    out = {"a:" + g for g in _ngrams(anchors, params.anchor_n)}
    sk = skeleton(cl)
    if any(tok != "*" for tok in sk):
        out.update("s:" + g for g in _ngrams(sk, params.skeleton_n))
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
    "ANCHORS",
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
