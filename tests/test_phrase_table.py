"""Format checks for the project-owned phrase table ``unspin/data/phrases.tsv``.

The table is parsed here with the csv module on its own (not through
``unspin.lexicon``) so that a loader bug cannot hide a malformed file; one
test then checks that the loader reads the same rows.
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "unspin" / "data" / "phrases.tsv"
REAL_DEV = ROOT.parent / "shared" / "data" / "real-dev" / "spun_pages.jsonl"

HEADER_COMMENTS = [
    "# unspin phrase table",
    "# format: unspin-phrases/1",
]
COLUMNS = ["spun", "original", "pos", "source", "note"]
SOURCE_RE = re.compile(r"^(seed|knowledge|real-dev:(?P<page>[A-Za-z0-9._-]+))$")
CURLY = "\u2018\u2019\u201a\u201b\u2032\u00b4`"  # anything but a straight apostrophe


def _text() -> str:
    return TABLE.read_bytes().decode("utf-8")  # must be UTF-8


def _split() -> tuple[list[str], list[str]]:
    lines = _text().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    return lines[:n], lines[n:]


def _rows() -> list[list[str]]:
    _, body = _split()
    return list(csv.reader(io.StringIO("\n".join(body)), delimiter="\t", quoting=csv.QUOTE_NONE))


def _data() -> list[list[str]]:
    return _rows()[1:]


def test_header_comment_lines():
    comments, body = _split()
    assert comments[: len(HEADER_COMMENTS)] == HEADER_COMMENTS
    assert all(c.startswith("# ") for c in comments)
    keys = {c[2:].split(":", 1)[0] for c in comments if ":" in c}
    assert {"format", "version", "source", "columns"} <= keys
    assert "# columns: spun, original, pos, source, note" in comments
    assert body, "no header row / data"
    assert not any(ln.startswith("#") for ln in body), "comment lines only at the top"


def test_column_names_exact():
    assert _rows()[0] == COLUMNS


def test_every_row_has_five_fields():
    bad = [(i, r) for i, r in enumerate(_data(), 2) if len(r) != 5]
    assert not bad, bad[:5]
    _, body = _split()
    assert all(ln.strip() for ln in body), "blank lines in the body"
    assert "\r" not in _text()


def test_row_count_in_range():
    assert 600 <= len(_data()) <= 1000


def test_pos_values():
    bad = [r for r in _data() if r[2] not in ("N", "V", "-")]
    assert not bad, bad[:5]


def test_sources():
    bad = [r for r in _data() if not SOURCE_RE.match(r[3])]
    assert not bad, bad[:5]


def test_real_dev_sources_name_known_pages():
    if not REAL_DEV.exists():
        pytest.skip(f"{REAL_DEV} not available")
    ids = {json.loads(ln)["id"] for ln in REAL_DEV.read_text(encoding="utf-8").splitlines() if ln.strip()}
    used = {m.group("page") for r in _data() if (m := SOURCE_RE.match(r[3])) and m.group("page")}
    assert used, "no real-dev rows"
    assert used <= ids, sorted(used - ids)


def test_fields_are_clean():
    for r in _data():
        for f in r[:2]:
            assert f, r
            assert f == f.strip() and "  " not in f, r
            assert "\t" not in f and "\n" not in f, r
        assert r[4] == r[4].strip(), r


def test_spun_forms_lower_case():
    bad = [r for r in _data() if r[0] != r[0].lower()]
    assert not bad, bad[:5]


def test_originals_lower_case_unless_capitalised_form():
    # Capitals are allowed only where the form has them inherently (Q4, names).
    for r in _data():
        if r[1] != r[1].lower():
            assert any(w[:1].isupper() or any(c.isdigit() for c in w) for w in r[1].split()), r


def test_straight_apostrophes_only():
    text = _text()
    bad = [c for c in CURLY if c in text]
    assert not bad, [hex(ord(c)) for c in bad]


def test_no_identity_pairs():
    bad = [r for r in _data() if r[0].lower() == r[1].lower()]
    assert not bad, bad[:5]


def test_no_duplicate_pairs():
    seen, dups = set(), []
    for r in _data():
        k = (r[0], r[1].lower())
        if k in seen:
            dups.append(r)
        seen.add(k)
    assert not dups, dups[:5]


def test_spun_forms_are_reachable_by_the_restorer():
    """A spun form must start with a word token and contain only words and
    dots, or the restorer's phrase matcher can never see it."""
    from unspin.text import norm, tokenize

    for r in _data():
        toks = tokenize(r[0])
        assert toks and toks[0].is_word, r
        assert all(t.is_word or t.text == "." for t in toks), r
        assert norm(r[0]) == r[0], r


def test_loader_reads_the_same_rows():
    from unspin.lexicon import read_table

    rows = read_table(TABLE)
    assert [(x.spun, x.original, x.pos, x.source) for x in rows] == [tuple(r[:4]) for r in _data()]
