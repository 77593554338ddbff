"""Readers and writers for the CLI and the batch APIs.

* Text: :func:`read_text` reads a file or stdin (``-``) as UTF-8 and turns
  HTML pages into text (:func:`html_to_text`).  Bad input raises
  :class:`InputError` with one line that says what is wrong and where, for
  the CLI to print.
* JSONL: :func:`iter_jsonl` streams records and never raises for a bad line:
  it yields a :class:`Record` with ``error`` set, so one broken line in a
  million does not stop a batch and is reported with its line number.
  :func:`write_jsonl` writes one compact object a line, atomically to a file.
* Large documents: :func:`iter_chunks` cuts text at paragraph or sentence
  boundaries into pieces the language model can take, with offsets back into
  the whole.

Nothing here normalises text beyond what the format requires (a UTF-8 byte
order mark is dropped; line endings are kept), because edit offsets must
point into the caller's text.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import stat
import sys
from dataclasses import asdict, is_dataclass
from html.parser import HTMLParser
from typing import Any, BinaryIO, Iterable, Iterator, NamedTuple

__all__ = [
    "InputError",
    "Record",
    "decode_bytes",
    "read_text",
    "html_to_text",
    "iter_jsonl",
    "write_jsonl",
    "iter_chunks",
]

_BOM = b"\xef\xbb\xbf"

# How much of the input is sampled to tell text from binary data, and the
# share of control characters (other than tab, line breaks, form feed and
# escape) above which it is called binary.  Text files have none; compressed
# or executable data has about 10% among its bytes (of 256 uniform byte
# values, 28 are such controls: 11%), so 5% separates the two.
_SNIFF_BYTES = 8192
_MAX_CONTROL_SHARE = 0.05
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\x1b")
# Undecodable sequences: Latin-1 text has one per accented letter (a few
# percent of the characters in French or German); random bytes, about half.
# Short inputs with a few bad bytes are reported as invalid UTF-8, not binary.
_MAX_BAD_SHARE = 0.10
_MIN_BAD_SEQUENCES = 16


class InputError(ValueError):
    """Input that cannot be read as text; ``str(e)`` is one line for the user."""


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    if not sample:
        return False
    controls = sum(1 for b in sample if (b < 32 or b == 127) and b not in _TEXT_CONTROLS)
    if controls / len(sample) > _MAX_CONTROL_SHARE:
        return True
    # Mostly undecodable (not the odd Latin-1 letter): compressed or binary.
    decoded = sample.decode("utf-8", errors="replace")
    bad = decoded.count("\ufffd")
    return bad >= _MIN_BAD_SEQUENCES and bad / len(decoded) > _MAX_BAD_SHARE


def decode_bytes(data: bytes, name: str = "<input>") -> str:
    """UTF-8 bytes to text, without a byte order mark; nothing else is changed.

    >>> decode_bytes(b"\\xef\\xbb\\xbfPutin\\xe2\\x80\\x99s visit\\r\\n")
    'Putin’s visit\\r\\n'
    >>> decode_bytes(b"caf\\xe9 au lait", "menu.txt")
    Traceback (most recent call last):
    ...
    unspin.formats.InputError: menu.txt: not UTF-8 text: invalid byte 0xe9 at byte offset 3 (convert it with iconv -t UTF-8)
    >>> decode_bytes(b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00", "chart.png")
    Traceback (most recent call last):
    ...
    unspin.formats.InputError: chart.png: looks like binary data, not text
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name}: UTF-16 text, not UTF-8 (convert it with iconv -t UTF-8)")
    skip = len(_BOM) if data.startswith(_BOM) else 0
    if _looks_binary(data[skip : skip + _SNIFF_BYTES]):
        raise InputError(f"{name}: looks like binary data, not text")
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as e:
        at = e.start + skip
        raise InputError(
            f"{name}: not UTF-8 text: invalid byte 0x{data[at]:02x} at byte offset {at}"
            " (convert it with iconv -t UTF-8)"
        ) from None


_HTML_START_RE = re.compile(r"\s*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE)


def _read_bytes(path_or_dash: str) -> tuple[bytes, str]:
    if path_or_dash == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        with open(path_or_dash, "rb") as f:
            return f.read(), path_or_dash
    except OSError as e:
        raise InputError(f"{path_or_dash}: {e.strerror or e}") from None


def read_text(path_or_dash: str) -> str:
    """The text of a file, or of stdin for ``-``; HTML pages are converted to text.

    A page is HTML when its name ends in ``.html`` or ``.htm`` or its text
    starts with ``<!doctype html`` or ``<html``.  Raises :class:`InputError`
    for a missing or unreadable file, binary data or invalid UTF-8.
    """
    data, name = _read_bytes(path_or_dash)
    text = decode_bytes(data, name)
    if path_or_dash.lower().endswith((".html", ".htm")) or _HTML_START_RE.match(text):
        return html_to_text(text)
    return text


# Elements whose content is not article text.
_SKIP_TAGS = frozenset(
    "script style nav header footer noscript template head title svg".split()
)
# Elements that start and end a paragraph: a blank line around them.
_PARAGRAPH_TAGS = frozenset(
    "p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl figure hr".split()
)
# Other block elements: a line break around them.
_BLOCK_TAGS = frozenset(
    "address article aside dd details div dt fieldset figcaption form li main "
    "section summary tr caption".split()
)
# HTML white space (not the no-break space, which is content).
_HTML_SPACE_RE = re.compile(r"[ \t\n\r\f]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0  # depth inside skipped elements
        self.pre = 0  # depth inside <pre>
        self.breaks = 0  # line breaks owed before the next text
        self.last_pre = False  # the last text came from inside <pre>

    def _block(self, tag: str) -> None:
        if tag in _PARAGRAPH_TAGS:
            self.breaks = max(self.breaks, 2)
        elif tag in _BLOCK_TAGS:
            self.breaks = max(self.breaks, 1)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag == "br":
            if not self.skip:
                self.breaks += 1
        else:
            if tag == "pre":
                self.pre += 1
            self._block(tag)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag == "br" and not self.skip:
            self.breaks += 1
        elif tag not in _SKIP_TAGS:
            self._block(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        else:
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
            self._block(tag)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = _HTML_SPACE_RE.sub(" ", data)
            if not self.parts or self.breaks:
                data = data.lstrip(" ")
        if not data:
            return
        if self.breaks and self.parts:
            if not self.last_pre:
                # Spaces at a line end come from markup before the break.
                self.parts[-1] = self.parts[-1].rstrip(" ")
            # At most one blank line, however many breaks were asked for.
            self.parts.append("\n" * min(self.breaks, 2))
        self.breaks = 0
        self.parts.append(data)
        self.last_pre = bool(self.pre)


def html_to_text(page: str) -> str:
    """The visible text of an HTML page, one paragraph a line.

    Scripts, styles, navigation, headers and footers are dropped; block
    elements become line breaks, paragraphs blank lines; entities are
    unescaped.

    >>> html_to_text('''<!doctype html><html><head><title>T</title></head><body>
    ... <nav><a href="/">Home</a></nav><h1>Putin&rsquo;s   visit</h1>
    ... <p>He will <b>go</b> to Astana.<br>On Thursday.</p><script>x()</script>
    ... <ul><li>One</li><li>Two</li></ul><footer>(c) 2023</footer></body></html>''')
    'Putin’s visit\\n\\nHe will go to Astana.\\nOn Thursday.\\n\\nOne\\nTwo'
    """
    parser = _TextExtractor()
    parser.feed(page)
    parser.close()
    return "".join(parser.parts).rstrip()


class Record(NamedTuple):
    """One line of a JSONL input.

    ``line_no`` counts from 1.  ``id`` is the value of the id field, or
    ``None``.  When the line cannot be used, ``text`` is ``None`` and
    ``error`` says why in a few words (the caller adds the file and line
    number); ``raw`` is the parsed object if the line parsed at all.
    """

    line_no: int
    id: Any
    text: str | None
    raw: dict | None
    error: str | None = None


def _open_binary_lines(path_or_dash: str) -> tuple[BinaryIO, bool]:
    if path_or_dash == "-":
        return sys.stdin.buffer, False
    try:
        return open(path_or_dash, "rb"), True
    except OSError as e:
        raise InputError(f"{path_or_dash}: {e.strerror or e}") from None


def _parse_line(line_no: int, line: bytes, id_key: str, text_key: str) -> Record:
    try:
        s = line.decode("utf-8")
    except UnicodeDecodeError as e:
        return Record(line_no, None, None, None, f"invalid UTF-8 at byte {e.start} of the line")
    try:
        obj = json.loads(s)
    except json.JSONDecodeError as e:
        return Record(line_no, None, None, None, f"invalid JSON: {e.msg.removesuffix(' at')} (column {e.colno})")
    except RecursionError:
        return Record(line_no, None, None, None, "invalid JSON: nested too deeply")
    if not isinstance(obj, dict):
        return Record(line_no, None, None, None, f"not a JSON object (a {type(obj).__name__})")
    rid = obj.get(id_key)
    if text_key not in obj:
        return Record(line_no, rid, None, obj, f"no {text_key!r} field")
    text = obj[text_key]
    if not isinstance(text, str):
        return Record(
            line_no, rid, None, obj, f"{text_key!r} is not a string (a {type(text).__name__})"
        )
    return Record(line_no, rid, text, obj, None)


def iter_jsonl(
    path_or_dash: str, id_key: str = "id", text_key: str = "text"
) -> Iterator[Record]:
    """Stream the records of a JSON Lines file (``-`` for stdin), one per non-blank line.

    Every non-blank line yields exactly one :class:`Record`, in order; a line
    that is not valid UTF-8 or JSON, not an object, or has no string
    ``text_key`` yields one with ``error`` set instead of raising.  Reads one
    line at a time.  Raises :class:`InputError` only if the file cannot be
    opened.
    """
    f, close = _open_binary_lines(path_or_dash)
    try:
        for line_no, line in enumerate(f, 1):
            if line_no == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            if not line.strip():
                continue
            yield _parse_line(line_no, line, id_key, text_key)
    finally:
        if close:
            f.close()


def _as_json_object(rec: Any) -> Any:
    if isinstance(rec, dict):
        return rec
    if hasattr(rec, "to_dict"):
        return rec.to_dict()
    if hasattr(rec, "_asdict"):
        return rec._asdict()
    if is_dataclass(rec) and not isinstance(rec, type):
        return asdict(rec)
    return rec


def _dumps(rec: Any) -> str:
    return json.dumps(_as_json_object(rec), ensure_ascii=False, separators=(",", ":")) + "\n"


def _create_temp_beside(target: str) -> tuple[int, str]:
    """Create a new, empty temporary file in ``target``'s directory.

    Created with mode 0666 so that the umask applies as it would to any new
    file (``tempfile.mkstemp`` would make it 0600).
    """
    directory, base = os.path.split(target)
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


def write_jsonl(records: Iterable[Any], path_or_dash: str) -> int:
    """Write records as JSON Lines to a file, or to stdout for ``-``; return how many.

    A record is a dict, or anything with ``to_dict()``, a named tuple or a
    dataclass.  Output is UTF-8, one compact object a line.  On stdout each
    line is flushed as it is written, so a pipeline sees results as they
    come; a closed pipe (``| head``) ends the writing quietly.  A file is
    written under a temporary name in the same directory and renamed into
    place at the end, so an interrupted run leaves no half-written file (and
    an existing file is replaced only then, keeping its permissions).
    """
    if path_or_dash == "-":
        return _write_stdout(records)
    target = os.path.abspath(path_or_dash)
    fd, tmp = _create_temp_beside(target)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for rec in records:
                f.write(_dumps(rec))
                count += 1
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return count


def _write_stdout(records: Iterable[Any]) -> int:
    out = sys.stdout
    buf = getattr(out, "buffer", None)
    count = 0
    try:
        for rec in records:
            line = _dumps(rec)
            if buf is not None:
                out.flush()  # keep order with anything written as text
                buf.write(line.encode("utf-8"))
                buf.flush()
            else:
                out.write(line)
                out.flush()
            count += 1
    except BrokenPipeError:
        # The reader went away.  Point stdout at /dev/null so that the flush
        # at interpreter exit does not raise again (as the Python docs advise).
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
        except (OSError, ValueError, AttributeError):
            pass
    return count


# Where a chunk may end, best first.  Each pattern matches the separator; the
# chunk ends after the separator's white space.
_PARAGRAPH_END_RE = re.compile(r"\n[^\S\n]*\n\s*")  # a blank line
_LINE_END_RE = re.compile(r"\n\s*")  # a line break
# Sentence end, as in unspin.text: ., ! or ? with closing quotes/brackets,
# then white space.
_SENTENCE_END_RE = re.compile(r"""[.!?]+["'”’)\]]*\s+""")
_SPACE_RE = re.compile(r"\s+")


def _last_cut(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> int | None:
    """The end of the last match of ``pattern`` in ``text[lo:hi]``, or None."""
    cut = None
    for m in pattern.finditer(text, lo, hi):
        cut = m.end()
    return cut


def iter_chunks(text: str, max_chars: int = 20000) -> Iterator[tuple[int, str]]:
    """Cut ``text`` into pieces of at most ``max_chars``, at paragraph or sentence ends.

    Yields ``(offset, chunk)`` with ``text[offset:offset + len(chunk)] ==
    chunk``; the chunks joined give ``text`` back.  Each chunk ends after the
    white space that follows a paragraph (preferred, if it is in the second
    half of the allowance), a line, or a sentence; failing those at a space;
    and only as a last resort in the middle of a word.

    >>> list(iter_chunks("One. Two is longer. Three.", max_chars=12))
    [(0, 'One. '), (5, 'Two is '), (12, 'longer. '), (20, 'Three.')]
    >>> list(iter_chunks("Para one.\\n\\nPara two is here.", max_chars=20))
    [(0, 'Para one.\\n\\n'), (11, 'Para two is here.')]
    >>> list(iter_chunks("abcdefgh", max_chars=3))
    [(0, 'abc'), (3, 'def'), (6, 'gh')]
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    n = len(text)
    pos = 0
    while pos < n:
        limit = pos + max_chars
        if limit >= n:
            yield pos, text[pos:]
            return
        half = pos + max_chars // 2
        cut = (
            _last_cut(_PARAGRAPH_END_RE, text, half, limit)
            or _last_cut(_LINE_END_RE, text, half, limit)
            or _last_cut(_SENTENCE_END_RE, text, pos, limit)
            or _last_cut(_LINE_END_RE, text, pos, limit)
            or _last_cut(_SPACE_RE, text, pos, limit)
        )
        if not cut or cut <= pos:
            cut = limit
        # Never split "\r\n" (the cut lands between them only when the pair
        # straddles the limit).
        if text[cut - 1] == "\r" and text[cut : cut + 1] == "\n" and cut - 1 > pos:
            cut -= 1
        yield pos, text[pos:cut]
        pos = cut
