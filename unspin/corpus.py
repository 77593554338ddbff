"""Clean sample text for benchmarks, from the test data in the ``gensim`` wheel.

Two sources, both never spun, both shipped inside ``gensim`` (an optional
dependency: ``pip install 'unspin[bench]'``):

* ``news``: the Lee corpus of ABC (Australian Broadcasting Corporation) news
  articles, one article per line: ``lee_background.cor`` (300 articles) and
  ``lee.cor`` (50; the few also in the background file are kept once).
  Document ids are ``news/lee_background/<line>`` and ``news/lee/<line>``.
* ``wiki``: the shortened English Wikipedia dump
  ``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``.
  Wiki markup is stripped to plain paragraphs (:func:`wiki_to_paragraphs`),
  and only prose paragraphs of 40 words or more are kept.  Long pages are cut
  into documents of consecutive paragraphs of about :data:`WIKI_DOC_WORDS`
  words, so that a Wikipedia document is about as long as a news article
  (and as a content-farm page); ids are ``wiki/<title>#<part>``.

:func:`split` assigns each document to ``train`` / ``dev`` / ``test``
(60/20/20) by a stable hash of its id, with everything after ``#`` left out,
so all parts of one Wikipedia page fall in the same split.  ``test`` is the
held-out split that ``unspin bench`` reports on; nothing is tuned on it.
"""
from __future__ import annotations

import bz2
import hashlib
import html
import importlib.util
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

from .text import word_count

NEWS_FILES = ("lee_background.cor", "lee.cor")
WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"

#: A Wikipedia paragraph is kept when it has at least this many words: shorter
#: ones are mostly captions, list leftovers and one-line stubs.
WIKI_MIN_WORDS = 40
#: Paragraphs of a page are grouped into documents of about this many words
#: (Lee news articles have 45 to 560 words, median about 150; wiki paragraphs often 100+).
WIKI_DOC_WORDS = 200

#: Split shares, in per cent of the hash space: train, dev, test.
SPLITS = {"train": (0, 60), "dev": (60, 80), "test": (80, 100)}

SOURCES = ("news", "wiki")


class Document(NamedTuple):
    id: str
    text: str
    source: str


class CorpusUnavailable(RuntimeError):
    pass


def data_dir() -> Path:
    """gensim's ``test/test_data`` folder."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.origin:
        raise CorpusUnavailable(
            "the benchmark corpus comes with gensim, which is not installed: "
            "pip install 'unspin[bench]'"
        )
    d = Path(spec.origin).parent / "test" / "test_data"
    if not d.is_dir():
        raise CorpusUnavailable(f"{d} is missing: reinstall gensim (pip install 'unspin[bench]')")
    return d


def documents(source: str = "all") -> list[Document]:
    """The clean documents of ``source``: ``"news"``, ``"wiki"`` or ``"all"``.

    >>> docs = documents("news")
    >>> docs[0].id, docs[0].source, docs[0].text[:30]
    ('news/lee_background/1', 'news', 'Hundreds of people have been f')
    """
    if source not in SOURCES + ("all",):
        raise ValueError(f"source must be 'news', 'wiki' or 'all', not {source!r}")
    out: list[Document] = []
    if source in ("news", "all"):
        out += _news()
    if source in ("wiki", "all"):
        out += _wiki()
    return out


def split(docs: Iterable[Document], part: str = "test") -> list[Document]:
    """The documents of ``docs`` that fall in split ``part`` (input order kept).

    >>> [split_of("news/lee/3"), split_of("wiki/Autism#0") == split_of("wiki/Autism#5")]
    ['dev', True]
    """
    if part not in SPLITS:
        raise ValueError(f"part must be one of {', '.join(SPLITS)}, not {part!r}")
    return [d for d in docs if split_of(d.id) == part]


def split_of(doc_id: str) -> str:
    """The split a document id belongs to: a stable hash of the id up to ``#``."""
    key = doc_id.split("#", 1)[0]
    bucket = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % 100
    for name, (lo, hi) in SPLITS.items():
        if lo <= bucket < hi:
            return name
    raise AssertionError(bucket)  # the ranges cover 0..99


# --------------------------------------------------------------------------
# News


@lru_cache(maxsize=1)
def _news() -> tuple[Document, ...]:
    d = data_dir()
    seen: set[str] = set()
    out = []
    for name in NEWS_FILES:
        with open(d / name, encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh, 1):
                text = " ".join(line.split())
                if not text or text in seen:
                    continue
                seen.add(text)
                out.append(Document(f"news/{name.rsplit('.', 1)[0]}/{i}", text, "news"))
    return tuple(out)


# --------------------------------------------------------------------------
# Wikipedia


@lru_cache(maxsize=1)
def _wiki() -> tuple[Document, ...]:
    out = []
    for title, wikitext in _wiki_pages(data_dir() / WIKI_FILE):
        paras = wiki_to_paragraphs(wikitext)
        for k, chunk in enumerate(_chunks(paras, WIKI_DOC_WORDS)):
            out.append(Document(f"wiki/{title.replace(' ', '_')}#{k}", "\n\n".join(chunk), "wiki"))
    return tuple(out)


def _wiki_pages(path: Path) -> Iterator[tuple[str, str]]:
    """(title, wikitext) of the article pages (namespace 0, no redirects)."""
    with bz2.open(path, "rb") as fh:
        for _, el in ET.iterparse(fh, events=("end",)):
            if not el.tag.endswith("}page"):
                continue
            ns = title = text = None
            redirect = False
            for child in el.iter():
                tag = child.tag.rsplit("}", 1)[-1]
                if tag == "ns":
                    ns = child.text
                elif tag == "title":
                    title = child.text
                elif tag == "redirect":
                    redirect = True
                elif tag == "text":
                    text = child.text
            el.clear()
            if ns == "0" and not redirect and title and text and not text.lstrip().upper().startswith("#REDIRECT"):
                yield title, text


def _chunks(paras: list[str], target: int) -> Iterator[list[str]]:
    cur: list[str] = []
    n = 0
    for p in paras:
        cur.append(p)
        n += word_count(p)
        if n >= target:
            yield cur
            cur, n = [], 0
    if cur:
        yield cur


_NESTED = [
    re.compile(r"\{\{[^{}]*\}\}"),  # templates, innermost first
    re.compile(r"\{\|(?:(?!\{\|)[\s\S])*?\|\}"),  # tables, innermost first
    # File/Image/Category links, whose captions may hold further [[links]]:
    # innermost links are resolved first by _LINK below, so these match late.
    re.compile(r"\[\[(?:File|Image|Category|Media):[^\[\]]*\]\]", re.IGNORECASE),
]
_LINK = re.compile(r"\[\[(?!(?:File|Image|Category|Media):)([^\[\]|]*\|)?([^\[\]]*)\]\]", re.IGNORECASE)
_INTERWIKI = re.compile(r"\[\[[a-z\-]{2,12}:[^\[\]]*\]\]")  # [[de:Anarchismus]]
_EXTLINK = re.compile(r"\[(?:https?:|ftp:)?//[^\s\]]+\s*([^\]]*)\]")
_DROP_BLOCKS = re.compile(
    r"""
      <!--[\s\S]*?-->                                  # comments
    | <ref[^>/]*/>                                     # <ref name="x" />
    | <ref[^>]*>[\s\S]*?</ref>                         # footnotes
    | <(math|gallery|timeline|table|source|syntaxhighlight|score|imagemap)\b[^>]*>[\s\S]*?</\1>
    """,
    re.VERBOSE | re.IGNORECASE,
)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")  # other HTML tags: keep their content
# Leftovers of removed templates: "()" and "( ; born 1900)".
_EMPTY_PARENS = re.compile(r"\s*\(\s*[,;:]?\s*\)")
_PAREN_LEAD = re.compile(r"\(\s*[,;]\s*")
_SPACE_PUNCT = re.compile(r"\s+([,.;:!?)])")


def wiki_to_paragraphs(wikitext: str, min_words: int = WIKI_MIN_WORDS) -> list[str]:
    """Plain prose paragraphs of a page's wikitext.

    >>> wiki_to_paragraphs("== History ==\\n'''Albedo''' {{IPA|x}} is the [[reflection|reflecting]] "
    ...                    "power<ref>A book</ref> of a [[surface]].\\n* a list item", min_words=1)
    ['Albedo is the reflecting power of a surface.']
    """
    t = html.unescape(wikitext)
    t = _DROP_BLOCKS.sub("", t)
    for _ in range(50):  # nested markup: strip from the inside out
        before = t
        for rx in _NESTED:
            t = rx.sub("", t)
        t = _LINK.sub(r"\2", t)
        if t == before:
            break
    t = _INTERWIKI.sub("", t)
    t = _EXTLINK.sub(r"\1", t)
    t = _TAG.sub("", t)
    t = html.unescape(t)  # entities that were double-escaped in the dump
    t = t.replace("'''", "").replace("''", "")
    paras = []
    for block in re.split(r"\n\s*\n|\n(?=[=*#:;|!{}])", t):
        lines = [ln for ln in block.split("\n") if ln.strip() and not ln.lstrip().startswith(tuple("=*#:;|!{}_"))]
        p = " ".join(" ".join(lines).split())
        p = _SPACE_PUNCT.sub(r"\1", _PAREN_LEAD.sub("(", _EMPTY_PARENS.sub("", p)))
        p = " ".join(p.split())
        if not p or word_count(p) < min_words:
            continue
        if any(m in p for m in ("{{", "}}", "[[", "]]", "{|", "|}", "<", ">", "__", "http")):
            continue  # markup we could not strip cleanly: not prose to benchmark on
        paras.append(p)
    return paras


def stats(docs: Iterable[Document]) -> dict[str, dict[str, dict[str, int]]]:
    """Documents and words per source and split (for the README and the bench)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for d in docs:
        s = out.setdefault(d.source, {}).setdefault(split_of(d.id), {"docs": 0, "words": 0})
        s["docs"] += 1
        s["words"] += word_count(d.text)
    return out
