"""Readers and writers: text/HTML input, JSONL streams, chunking of large documents."""
from __future__ import annotations

import io
import json
import os
import stat
import sys
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unspin.formats import (
    InputError,
    Record,
    decode_bytes,
    html_to_text,
    iter_chunks,
    iter_jsonl,
    read_text,
    write_jsonl,
)
from unspin.records import Edit


# --- decode_bytes -----------------------------------------------------------


def test_decode_strips_bom_and_keeps_line_endings():
    assert decode_bytes("\ufeffOne\r\nTwo’s\r\n".encode("utf-8")) == "One\r\nTwo’s\r\n"
    # Only a leading BOM is a BOM.
    assert decode_bytes("a\ufeffb".encode("utf-8")) == "a\ufeffb"


def test_decode_invalid_utf8_names_the_byte_offset():
    with pytest.raises(InputError) as info:
        decode_bytes(b"ok text \xff more", "page.txt")
    msg = str(info.value)
    assert msg.startswith("page.txt: ")
    assert "byte offset 8" in msg
    assert "\n" not in msg
    assert isinstance(info.value, ValueError)


def test_decode_offset_counts_the_bom():
    with pytest.raises(InputError, match="byte offset 5"):
        decode_bytes(b"\xef\xbb\xbfab\xc3")


def test_decode_truncated_sequence_at_end():
    with pytest.raises(InputError, match="byte offset 3"):
        decode_bytes("abc€".encode("utf-8")[:-1])


@pytest.mark.parametrize(
    "data",
    [
        b"text\x00with a NUL",
        bytes(range(0, 32)) * 4,
        b"\x1f\x8b\x08\x00" + bytes(range(256)) * 8,  # gzip-like
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR",
        bytes(range(128, 256)) * 4,  # no NULs, no controls, not UTF-8
    ],
)
def test_decode_binary_data(data):
    with pytest.raises(InputError, match="binary data"):
        decode_bytes(data, "blob")


def test_decode_utf16_is_named():
    with pytest.raises(InputError, match="notes.txt: UTF-16 text"):
        decode_bytes("Hi".encode("utf-16"), "notes.txt")


def test_decode_text_with_a_few_controls_is_text():
    # A form feed, an escape and a tab are normal in text files.
    assert decode_bytes(b"Page one.\x0cPage\ttwo \x1b[0m.") == "Page one.\x0cPage\ttwo \x1b[0m."


def test_decode_empty():
    assert decode_bytes(b"") == ""
    assert decode_bytes(b"\xef\xbb\xbf") == ""


# --- read_text and html_to_text ------------------------------------------------


def fake_stdin(data: bytes):
    return SimpleNamespace(buffer=io.BytesIO(data))


def test_read_text_file(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("[ad_1]\r\nPutin’s go to.\r\n".encode("utf-8"))
    assert read_text(str(p)) == "[ad_1]\r\nPutin’s go to.\r\n"


def test_read_text_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", fake_stdin("\ufeffFrom stdin ✓".encode("utf-8")))
    assert read_text("-") == "From stdin ✓"


def test_read_text_html_by_suffix(tmp_path):
    p = tmp_path / "page.HTM"
    p.write_text("<p>One &amp; two</p><p>Three</p>", encoding="utf-8")
    assert read_text(str(p)) == "One & two\n\nThree"


def test_read_text_html_by_content(monkeypatch):
    page = b"  <!DOCTYPE html>\n<html><body><p>Hello</p><script>var x;</script></body></html>"
    monkeypatch.setattr(sys, "stdin", fake_stdin(page))
    assert read_text("-") == "Hello"


def test_read_text_plain_text_mentioning_html_is_not_converted(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("Use <p> tags for paragraphs.", encoding="utf-8")
    assert read_text(str(p)) == "Use <p> tags for paragraphs."


def test_read_text_errors_are_one_line(tmp_path):
    with pytest.raises(InputError, match="no-such-file.txt: "):
        read_text(str(tmp_path / "no-such-file.txt"))
    p = tmp_path / "latin1.txt"
    p.write_bytes("café".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.txt: not UTF-8 text.*byte offset 3"):
        read_text(str(p))


def test_html_drops_page_furniture():
    page = """<html><head><style>p {color: red}</style><title>Title</title></head>
    <body><header><h1>Site name</h1></header>
    <nav><ul><li>Home</li><li>News</li></ul></nav>
    <article><h2>Putin to visit Astana</h2>
      <p>Russian President   Vladimir
         Putin will visit.</p>
      <div>Second&nbsp;block &lt;here&gt; &#8212; done</div>
    </article>
    <script>document.write("<p>not text</p>")</script>
    <footer>Copyright</footer></body></html>"""
    assert html_to_text(page) == (
        "Putin to visit Astana\n\n"
        "Russian President Vladimir Putin will visit.\n\n"
        "Second\xa0block <here> — done"
    )


def test_html_breaks_and_blank_lines():
    assert html_to_text("a<br>b<br/><br>c") == "a\nb\n\nc"
    assert html_to_text("<p>a</p>\n\n\n<p></p><p></p><div><p>b</p></div>") == "a\n\nb"
    assert html_to_text("<pre>x  =  1\n  y</pre><p>after</p>") == "x  =  1\n  y\n\nafter"


def test_html_unclosed_and_malformed():
    assert html_to_text("<p>one<p>two") == "one\n\ntwo"
    assert html_to_text("</footer><p>still here</p>") == "still here"
    assert html_to_text("") == ""


# --- iter_jsonl -------------------------------------------------------------------


MIXED_LINES = [
    b'{"id": 1, "text": "good one"}',
    b"{not json",
    b"[1, 2, 3]",
    b'{"id": 4, "body": "no text key"}',
    b'{"id": 5, "text": "bad \xff byte"}',
    b"",
    b'{"id": 7, "text": 42}',
    b'{"id": "eight", "text": "good \xe2\x80\x99 two", "extra": true}',
    b"   ",
    b'"just a string"',
    b'{"text": "no id"}',
]


def write_mixed(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_bytes(b"\n".join(MIXED_LINES) + b"\n")
    return str(p)


def test_iter_jsonl_every_line_once_in_order(tmp_path):
    records = list(iter_jsonl(write_mixed(tmp_path)))
    assert [r.line_no for r in records] == [1, 2, 3, 4, 5, 7, 8, 10, 11]
    assert all(isinstance(r, Record) for r in records)

    by_line = {r.line_no: r for r in records}
    assert by_line[1] == Record(1, 1, "good one", {"id": 1, "text": "good one"}, None)
    assert by_line[2].error.startswith("invalid JSON") and by_line[2].raw is None
    assert by_line[3].error.startswith("not a JSON object") and by_line[3].raw is None
    assert by_line[4].error == "no 'text' field"
    assert by_line[4].raw == {"id": 4, "body": "no text key"} and by_line[4].id == 4
    assert "invalid UTF-8" in by_line[5].error and by_line[5].raw is None
    assert by_line[7].error.startswith("'text' is not a string") and by_line[7].raw["id"] == 7
    assert by_line[8].text == "good ’ two" and by_line[8].id == "eight" and by_line[8].error is None
    assert by_line[10].error.startswith("not a JSON object")
    assert by_line[11].id is None and by_line[11].text == "no id"
    # An error record never carries text; a good one never carries an error.
    for r in records:
        assert (r.text is None) == (r.error is not None)


def test_iter_jsonl_custom_keys_crlf_and_bom(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_bytes(b'\xef\xbb\xbf{"doc": "a", "body": "x\\r\\ny"}\r\n{"doc": "b", "body": "z"}')
    records = list(iter_jsonl(str(p), id_key="doc", text_key="body"))
    assert [(r.id, r.text, r.error) for r in records] == [("a", "x\r\ny", None), ("b", "z", None)]


def test_iter_jsonl_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", fake_stdin(b'{"id": 1, "text": "hi"}\nnope\n'))
    assert [(r.line_no, r.error is None) for r in iter_jsonl("-")] == [(1, True), (2, False)]


def test_iter_jsonl_streams(monkeypatch):
    consumed = []

    class Lines:
        def __iter__(self):
            for i in range(1, 1_000_000):
                consumed.append(i)
                yield json.dumps({"id": i, "text": "t"}).encode() + b"\n"

    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=Lines()))
    it = iter_jsonl("-")
    assert next(it).id == 1
    assert next(it).id == 2
    assert len(consumed) == 2


def test_iter_jsonl_missing_file(tmp_path):
    with pytest.raises(InputError, match="missing.jsonl"):
        list(iter_jsonl(str(tmp_path / "missing.jsonl")))


# --- write_jsonl ------------------------------------------------------------------


@dataclass
class Plain:
    a: int
    b: str


def test_write_jsonl_file_round_trip(tmp_path):
    out = tmp_path / "out.jsonl"
    edit = Edit(0, 6, "[ad_1]", "", kind="boilerplate", evidence={"rule": "ad_slot"})
    rows = [{"id": 1, "text": "Putin’s “visit”"}, edit, Record(3, "x", "t", None, None), Plain(1, "é")]
    assert write_jsonl(iter(rows), str(out)) == 4
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '{"id":1,"text":"Putin’s “visit”"}'  # compact, not ASCII-escaped
    assert Edit.from_dict(json.loads(lines[1])) == edit
    assert json.loads(lines[2]) == {"line_no": 3, "id": "x", "text": "t", "raw": None, "error": None}
    assert json.loads(lines[3]) == {"a": 1, "b": "é"}
    assert [r.text for r in iter_jsonl(str(out))] == ["Putin’s “visit”", None, "t", None]
    assert os.listdir(tmp_path) == ["out.jsonl"]


def test_write_jsonl_file_mode_follows_umask(tmp_path):
    out = tmp_path / "out.jsonl"
    write_jsonl([{"a": 1}], str(out))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask


def test_write_jsonl_keeps_existing_file_mode(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("old\n", encoding="utf-8")
    out.chmod(0o640)
    write_jsonl([{"a": 1}], str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert out.read_text(encoding="utf-8") == '{"a":1}\n'


def test_write_jsonl_interrupted_leaves_no_half_file(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("previous complete output\n", encoding="utf-8")

    def rows():
        yield {"id": 1}
        yield {"id": 2}
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_jsonl(rows(), str(out))
    assert out.read_text(encoding="utf-8") == "previous complete output\n"
    assert os.listdir(tmp_path) == ["out.jsonl"]

    fresh = tmp_path / "fresh.jsonl"
    with pytest.raises(TypeError):
        write_jsonl([{"ok": 1}, {"bad": object()}], str(fresh))
    assert not fresh.exists()
    assert os.listdir(tmp_path) == ["out.jsonl"]


def test_write_jsonl_stdout_flushes_each_line(monkeypatch):
    raw = io.BytesIO()
    flushed = []

    class Buf:
        def write(self, b):
            raw.write(b)

        def flush(self):
            flushed.append(raw.getvalue().count(b"\n"))

    monkeypatch.setattr(sys, "stdout", SimpleNamespace(buffer=Buf(), flush=lambda: None))
    assert write_jsonl(({"n": i, "t": "ü"} for i in range(3)), "-") == 3
    assert raw.getvalue().decode("utf-8").splitlines() == [
        '{"n":0,"t":"ü"}',
        '{"n":1,"t":"ü"}',
        '{"n":2,"t":"ü"}',
    ]
    assert flushed == [1, 2, 3]


def test_write_jsonl_stdout_closed_pipe(monkeypatch):
    class Closed:
        def write(self, b):
            raise BrokenPipeError

        def flush(self):
            pass

    monkeypatch.setattr(
        sys, "stdout", SimpleNamespace(buffer=Closed(), flush=lambda: None, fileno=lambda: -1)
    )
    assert write_jsonl([{"a": 1}, {"a": 2}], "-") == 0


# --- iter_chunks --------------------------------------------------------------------


def check_chunks(text, max_chars):
    chunks = list(iter_chunks(text, max_chars))
    assert "".join(c for _, c in chunks) == text
    pos = 0
    for offset, chunk in chunks:
        assert offset == pos
        assert chunk
        assert len(chunk) <= max_chars
        assert text[offset : offset + len(chunk)] == chunk
        pos += len(chunk)
    return chunks


def test_chunks_end_at_sentences():
    sentence = "Putin will go to Kazakhstan on November 9. "
    text = sentence * 100
    chunks = check_chunks(text, 500)
    assert len(chunks) > 1
    for _, chunk in chunks:
        assert chunk.startswith("Putin") and chunk.endswith(". ")


def test_chunks_prefer_paragraphs():
    para = "One sentence here. Another one there.\n\n"
    text = para * 50
    for _, chunk in check_chunks(text, 300)[:-1]:
        assert chunk.endswith(".\n\n")


def test_chunks_long_sentence_cut_at_space():
    text = "word " * 1000
    for _, chunk in check_chunks(text, 64):
        assert chunk.startswith("word")


def test_chunks_hard_cut_and_crlf():
    check_chunks("x" * 1001, 100)
    # The cut never falls between \r and \n.
    text = ("a" * 9 + "\r\n") * 20
    for offset, chunk in check_chunks(text, 10):
        assert not chunk.endswith("\r")


def test_chunks_small_and_bad_input():
    assert list(iter_chunks("")) == []
    assert list(iter_chunks("short")) == [(0, "short")]
    with pytest.raises(ValueError):
        list(iter_chunks("text", 0))


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab .!?\n\r\t’”")), max_size=400),
    st.integers(min_value=1, max_value=60),
)
def test_chunks_cover_text_exactly(text, max_chars):
    check_chunks(text, max_chars)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=1, max_value=80))
def test_chunks_cover_any_text(text, max_chars):
    check_chunks(text, max_chars)
