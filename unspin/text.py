"""Tokens and sentences with character offsets into the caller's string.

Nothing here changes text: every function returns offsets, so callers can
edit exactly the characters they mean to and leave the rest byte for byte.
"""
from __future__ import annotations

import re
from functools import lru_cache, partial
from itertools import accumulate, chain, islice
from operator import sub
from typing import Iterator, NamedTuple

# A word: letters/digits, joined by internal apostrophes (straight or curly),
# hyphens or dots between digits ("isn't", "Putin’s", "side-by-side", "0.25").
# Anything else that is not space is a one-character punctuation token.
_WORD = r"\w+(?:['’\-]\w+)*(?:\.\d+)*"  # word, contraction, hyphenated, decimal
_TOKEN_RE = re.compile(rf"{_WORD}|[^\w\s]")  # or a single punctuation mark
_WORD_RE = re.compile(_WORD)  # words alone (for counting them)
# A token with the whitespace before it: every character of a text is a word
# character, whitespace or punctuation, so these pieces tile the text up to
# its trailing whitespace, and their lengths give every token's offsets.
_PIECE_RE = re.compile(rf"\s*(?:{_WORD}|[^\w\s])")

# Sentence ends: ., ! or ? (optionally followed by closing quotes/brackets)
# then whitespace; or a line break.  Good enough for scoring context: a wrong
# split only shortens the context the language model sees.
_SENT_END_RE = re.compile(r"""[.!?]+["'”’)\]]*(?=\s)|\n""")


class Token(NamedTuple):
    start: int
    end: int
    text: str

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum() or self.text[0] == "_"


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Word and punctuation tokens with offsets.

    >>> [t.text for t in tokenize("Putin’s go to, isn't it?")]
    ['Putin’s', 'go', 'to', ',', "isn't", 'it', '?']
    >>> tokenize("a b", offset=10)[1]
    Token(start=12, end=13, text='b')
    """
    # The whole loop runs in C (findall, map, accumulate): 1.15-1.2x as fast
    # as building each token from a match object (paired timings over the
    # benchmark's sentences), on the hot path of restoration.  str.lstrip
    # strips what \s matches (both are str.isspace), so each piece less its
    # leading space is its token.
    # Trailing space is cut first: no token follows it, and findall would
    # retry the pattern at each of its characters (quadratic in its length).
    pieces = _PIECE_RE.findall(text.rstrip())
    words = list(map(str.lstrip, pieces))
    ends = list(islice(accumulate(chain((offset,), map(len, pieces))), 1, None))
    return list(map(_new_token, zip(map(sub, ends, map(len, words)), ends, words)))


_new_token = partial(tuple.__new__, Token)  # Token(*fields) without the Python-level constructor


def sentences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence, stripped of surrounding space.

    >>> t = "One here. Two there!\\nThree"
    >>> [t[s:e] for s, e in sentences(t)]
    ['One here.', 'Two there!', 'Three']
    """
    pos = 0
    n = len(text)
    for m in _SENT_END_RE.finditer(text):
        end = m.end()
        yield from _strip(text, pos, end)
        pos = end
    if pos < n:
        yield from _strip(text, pos, n)


def _strip(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield (start, end)


def norm(s: str) -> str:
    """Lookup key for a word or phrase: lower case, straight apostrophes, single spaces.

    >>> norm("Isn’t  IT")
    "isn't it"
    """
    return " ".join(s.replace("’", "'").lower().split())


@lru_cache(maxsize=200_000)
def match_case(replacement: str, observed: str) -> str:
    """Give ``replacement`` the casing of the ``observed`` text it replaces.

    A replacement that has capitals of its own ("Q4", "TV") keeps them.

    >>> match_case("independent", "Unbiased")
    'Independent'
    >>> match_case("economy", "ECONOMIC SYSTEM")
    'ECONOMY'
    >>> match_case("Q4", "this fall")
    'Q4'
    >>> match_case("said", "stated")
    'said'
    >>> match_case("security treaty", "Safety Treaty")
    'Security Treaty'
    >>> match_case("country's", "nation’s")
    'country’s'
    """
    if "’" in observed and "'" in replacement:
        # Keep the page's apostrophes: "nation’s" -> "country’s".
        replacement = replacement.replace("'", "’")
    if not replacement or replacement != replacement.lower():
        return replacement
    letters = [c for c in observed if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return replacement.upper()
    words = observed.split()
    if len(words) > 1 and all(w[:1].isupper() for w in words):
        # Title Case stays Title Case: "Safety Treaty" -> "Security Treaty".
        return " ".join(w[:1].upper() + w[1:] for w in replacement.split(" "))
    if observed[:1].isupper():
        return replacement[0].upper() + replacement[1:]
    return replacement


def word_count(text: str) -> int:
    """Number of word tokens.

    >>> word_count("The 2 presidents, just about.")
    5
    """
    # The word alternative alone finds the same words (a punctuation token
    # is one character, which the scan skips instead), and \w is isalnum()
    # or "_": so the count is the matches less those that begin with "_".
    found = _WORD_RE.findall(text)
    n = len(found)
    if "_" in text:
        n -= sum(1 for w in found if w[0] == "_")
    return n


@lru_cache(maxsize=200_000)
def _is_english_word(w: str) -> bool:
    from wordfreq import zipf_frequency

    return zipf_frequency(w, "en") >= 2.5


_ALPHA_RE = re.compile(r"[^\W\d_]+")


def english_share(text: str, sample: int = 300) -> float:
    """Share of the first ``sample`` alphabetic words that are common English words.

    English news scores above 0.8; German, French or Spanish text under 0.4.

    >>> english_share("The two presidents will take part in the forum.") > 0.8
    True
    >>> english_share("Der Präsident wird morgen nach Kasachstan reisen und dort sprechen.") < 0.5
    True
    """
    words = list(map(str.lower, map(re.Match.group, islice(_ALPHA_RE.finditer(text), sample))))
    if not words:
        return 0.0
    return sum(map(_is_english_word, words)) / len(words)
