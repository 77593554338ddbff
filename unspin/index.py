"""The source index: one SQLite file, no server.

Layout (``SCHEMA_VERSION`` 1)::

    meta(key TEXT PRIMARY KEY, value TEXT)
        format         'unspin-trace-index'   -- what makes the file ours
        schema         '1'
        fingerprint    FingerprintParams as JSON, with the recipe version
        vocabulary     unspin.fingerprint.vocabulary_digest() at build time
        created, unspin_version, lexicon_version   -- provenance
    documents(rowid INTEGER PRIMARY KEY, id TEXT UNIQUE, url TEXT, text TEXT,
              added TEXT)
        added          ISO 8601 time (UTC) the text was added or last changed
    signatures(doc INTEGER PRIMARY KEY, signature BLOB)
        signature      the MinHash signature, little-endian uint32[num_perm]
    bands(key INTEGER, doc INTEGER, PRIMARY KEY (key, doc)) WITHOUT ROWID
        key            one LSH band key (unspin.fingerprint.band_keys)
        doc            documents.rowid

The band table is its own index: a ``WITHOUT ROWID`` table is a single B-tree
ordered by ``(key, doc)``, so the lookup of a query's band keys is one range
scan per key and the table costs no separate index.  Signatures live apart
from the texts so that ranking fifty candidates reads a few compact pages,
not fifty articles; they also say which band rows to delete when a text is
replaced.  Pages are 8 KiB: articles of 1-3 KB waste a quarter of 4 KiB
pages (measured on the benchmark corpus: 8 KiB pages make the file 13%
smaller).

Guarantees:

* Adding is transactional, one batch per transaction: a document is in the
  index with all its band keys or not at all.  An exception or a kill in the
  middle of :meth:`Index.add` leaves the batches before it committed and the
  index usable.
* Re-adding an id replaces its text, url and band keys; adding it again
  unchanged does nothing.
* The file is in WAL mode: any number of readers (other processes) can query
  while one writer adds.
* A file that is not an SQLite database, is damaged, or is some other
  program's SQLite database raises :class:`IndexFormatError` with one line
  that says which.
"""
from __future__ import annotations

import errno
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import numpy as np

from .fingerprint import DEFAULT_PARAMS, FingerprintParams, band_keys, fingerprint, vocabulary_digest

FORMAT = "unspin-trace-index"
SCHEMA_VERSION = "1"

#: Documents per transaction in :meth:`Index.add`.  Large enough that the
#: commit (an fsync) costs little per document, small enough that an
#: interrupted build loses little.
BATCH_SIZE = 1000


class IndexFormatError(ValueError):
    """The file is not a usable unspin trace index; ``str(e)`` is one line for the user."""


class Source(NamedTuple):
    """A document to index: ``id`` unique within the index, ``url`` optional."""

    id: str
    text: str
    url: str | None = None


class Document(NamedTuple):
    rowid: int
    id: str
    url: str | None
    text: str
    added: str


@dataclass
class AddStats:
    """What :meth:`Index.add` did: counters, not logs."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    url TEXT,
    text TEXT NOT NULL,
    added TEXT NOT NULL
);
CREATE TABLE signatures (
    doc INTEGER PRIMARY KEY,
    signature BLOB NOT NULL
);
CREATE TABLE bands (
    key INTEGER NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (key, doc)
) WITHOUT ROWID;
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _as_source(rec: Any) -> Source:
    if isinstance(rec, Source):
        return rec
    if isinstance(rec, dict):
        rid, text, url = rec.get("id"), rec.get("text"), rec.get("url")
    elif isinstance(rec, (tuple, list)) and len(rec) in (2, 3):
        rid, text, url = (tuple(rec) + (None,))[:3]
    else:
        raise TypeError(f"not a source document: {rec!r:.80}")
    if rid is None or not isinstance(text, str):
        raise ValueError(f"a source document needs an id and a text: {rec!r:.80}")
    return Source(str(rid), text, None if url is None else str(url))


def _sig_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def _sig_array(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4").astype(np.uint32)


@contextmanager
def _translate_errors(path: str) -> Iterator[None]:
    """SQLite's damage reports become IndexFormatError; "locked" and the like stay."""
    try:
        yield
    except sqlite3.DatabaseError as e:
        msg = str(e)
        if isinstance(e, sqlite3.OperationalError) and "malformed" not in msg and "not a database" not in msg:
            raise
        raise IndexFormatError(f"{path}: not a usable index: {msg}") from None


class Index:
    """A trace index in one SQLite file.  Open with :meth:`Index.open`.

    Not shared between threads or processes: each opens its own (SQLite's
    WAL mode lets them read concurrently).
    """

    def __init__(self, conn: sqlite3.Connection, path: str, params: FingerprintParams, meta: dict[str, str]):
        self._conn = conn
        self.path = path
        self.params = params
        self.meta = meta
        #: Set once a caller has said that the lexicon changed (see vocabulary_changed).
        self.vocabulary_warned = False

    # -- opening --------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        create: bool = False,
        *,
        params: FingerprintParams | None = None,
        readonly: bool = False,
    ) -> "Index":
        """Open the index at ``path``; with ``create=True`` make it if it does not exist.

        ``params`` apply to a new index only; an existing index keeps the
        fingerprint parameters it was built with.
        """
        path = os.fspath(path)
        exists = os.path.exists(path)
        if not exists and not create:
            raise FileNotFoundError(errno.ENOENT, "no such index (make one with 'unspin trace index')", path)
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "is a directory, not an index", path)
        if readonly:
            from urllib.parse import quote

            conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, isolation_level=None)
        else:
            conn = sqlite3.connect(path, isolation_level=None)
        try:
            with _translate_errors(path):
                conn.execute("PRAGMA busy_timeout=10000")  # wait up to 10 s for another writer
                meta = cls._check_or_init(conn, path, create and not readonly, params or DEFAULT_PARAMS)
                if not readonly:
                    conn.execute("PRAGMA journal_mode=WAL")
                    # WAL + NORMAL never corrupts; a power cut may lose the last commit.
                    conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache
        except BaseException:
            conn.close()
            raise
        try:
            fp = FingerprintParams.from_json(meta["fingerprint"])
        except (ValueError, TypeError, KeyError) as e:
            conn.close()
            raise IndexFormatError(
                f"{path}: built with another fingerprint recipe ({e}); rebuild it with this version of unspin"
            ) from None
        return cls(conn, path, fp, meta)

    @staticmethod
    def _check_or_init(conn: sqlite3.Connection, path: str, create: bool, params: FingerprintParams) -> dict[str, str]:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            if not create:
                raise IndexFormatError(f"{path}: empty file, not an unspin trace index")
            from . import __version__
            from .lexicon import LEXICON_VERSION

            meta = {
                "format": FORMAT,
                "schema": SCHEMA_VERSION,
                "fingerprint": params.to_json(),
                "vocabulary": vocabulary_digest(),
                "created": _now(),
                "unspin_version": __version__,
                "lexicon_version": LEXICON_VERSION,
            }
            conn.execute("PRAGMA page_size=8192")  # before the first table (see the module docstring)
            conn.execute("BEGIN IMMEDIATE")  # SQLite's DDL is transactional: all or nothing
            try:
                if conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                    # Another process made it while we waited for the lock.
                    conn.execute("ROLLBACK")
                    return Index._check_or_init(conn, path, False, params)
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", sorted(meta.items()))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return meta
        if "meta" not in tables:
            raise IndexFormatError(f"{path}: an SQLite database, but not an unspin trace index (no meta table)")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta"))
        except sqlite3.OperationalError as e:
            raise IndexFormatError(f"{path}: an SQLite database, but not an unspin trace index ({e})") from None
        if meta.get("format") != FORMAT:
            raise IndexFormatError(f"{path}: an SQLite database, but not an unspin trace index")
        if meta.get("schema") != SCHEMA_VERSION:
            raise IndexFormatError(
                f"{path}: index schema {meta.get('schema')!r}, this unspin reads {SCHEMA_VERSION!r}; rebuild the index"
            )
        if not {"documents", "signatures", "bands"} <= tables:
            raise IndexFormatError(f"{path}: damaged index (tables missing)")
        return meta

    @property
    def vocabulary_changed(self) -> bool:
        """True when the lexicon's word lists differ from those the index was built with.

        Queries still work, with somewhat lower recall: the fingerprints of
        a few function words differ.  Rebuild the index to restore it.
        """
        if not hasattr(self, "_vocab_changed"):
            self._vocab_changed = self.meta.get("vocabulary") != vocabulary_digest()
        return self._vocab_changed

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __reduce__(self):
        raise TypeError("an Index holds an SQLite connection; send its path and open it in the worker")

    # -- writing --------------------------------------------------------------

    def add(self, records: Iterable[Source | dict | tuple], *, batch_size: int = BATCH_SIZE) -> AddStats:
        """Add or update source documents; one transaction per ``batch_size`` documents.

        ``records`` are :class:`Source` tuples, ``(id, text[, url])`` tuples
        or dicts with ``id``, ``text`` and optional ``url``.  An exception
        raised while reading them (or fingerprinting) rolls back the batch in
        progress and propagates; earlier batches stay committed.
        """
        stats = AddStats()
        batch: list[Source] = []
        for rec in records:
            batch.append(_as_source(rec))
            if len(batch) >= batch_size:
                self._add_batch(batch, stats)
                batch = []
        if batch:
            self._add_batch(batch, stats)
        return stats

    def _add_batch(self, batch: Sequence[Source], stats: AddStats) -> None:
        # The same id twice in one batch: the last one wins, as it would
        # across batches.
        batch = list({s.id: s for s in batch}.values())
        # Fingerprint before the transaction opens: the write lock is held
        # only for the inserts.
        fps = [fingerprint(s.text, self.params) for s in batch]
        counts = AddStats()
        c = self._conn
        with _translate_errors(self.path):
            c.execute("BEGIN IMMEDIATE")
            try:
                now = _now()
                band_rows: list[tuple[int, int]] = []
                for src, fp in zip(batch, fps):
                    old = c.execute(
                        "SELECT d.rowid, d.text, d.url, s.signature FROM documents d "
                        "JOIN signatures s ON s.doc = d.rowid WHERE d.id = ?",
                        (src.id,),
                    ).fetchone()
                    if old is not None:
                        rowid, old_text, old_url, old_sig = old
                        if old_text == src.text and old_url == src.url:
                            counts.unchanged += 1
                            continue
                        old_keys = band_keys(_sig_array(old_sig), self.params.bands)
                        c.executemany("DELETE FROM bands WHERE key = ? AND doc = ?", [(k, rowid) for k in old_keys])
                        c.execute(
                            "UPDATE documents SET url = ?, text = ?, added = ? WHERE rowid = ?",
                            (src.url, src.text, now, rowid),
                        )
                        c.execute(
                            "UPDATE signatures SET signature = ? WHERE doc = ?", (_sig_bytes(fp.signature), rowid)
                        )
                        counts.updated += 1
                    else:
                        cur = c.execute(
                            "INSERT INTO documents(id, url, text, added) VALUES (?, ?, ?, ?)",
                            (src.id, src.url, src.text, now),
                        )
                        rowid = cur.lastrowid
                        c.execute(
                            "INSERT INTO signatures(doc, signature) VALUES (?, ?)", (rowid, _sig_bytes(fp.signature))
                        )
                        counts.added += 1
                    band_rows.extend((k, rowid) for k in fp.keys)
                band_rows.sort()  # B-tree inserts in key order touch each page once
                c.executemany("INSERT OR IGNORE INTO bands(key, doc) VALUES (?, ?)", band_rows)
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
        stats.added += counts.added
        stats.updated += counts.updated
        stats.unchanged += counts.unchanged

    def remove(self, ids: Iterable[str]) -> int:
        """Remove documents by id (one transaction); returns how many were there."""
        c = self._conn
        n = 0
        with _translate_errors(self.path):
            c.execute("BEGIN IMMEDIATE")
            try:
                for rid in ids:
                    row = c.execute(
                        "SELECT d.rowid, s.signature FROM documents d JOIN signatures s ON s.doc = d.rowid "
                        "WHERE d.id = ?",
                        (str(rid),),
                    ).fetchone()
                    if row is None:
                        continue
                    keys = band_keys(_sig_array(row[1]), self.params.bands)
                    c.executemany("DELETE FROM bands WHERE key = ? AND doc = ?", [(k, row[0]) for k in keys])
                    c.execute("DELETE FROM signatures WHERE doc = ?", (row[0],))
                    c.execute("DELETE FROM documents WHERE rowid = ?", (row[0],))
                    n += 1
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
        return n

    # -- reading --------------------------------------------------------------

    def __len__(self) -> int:
        with _translate_errors(self.path):
            return self._conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def __contains__(self, doc_id: object) -> bool:
        with _translate_errors(self.path):
            return self._conn.execute("SELECT 1 FROM documents WHERE id = ?", (str(doc_id),)).fetchone() is not None

    def get(self, doc_id: str) -> Document | None:
        """The stored document with this id, or None."""
        with _translate_errors(self.path):
            row = self._conn.execute(
                "SELECT rowid, id, url, text, added FROM documents WHERE id = ?", (str(doc_id),)
            ).fetchone()
        return None if row is None else Document(*row)

    def documents(self, rowids: Sequence[int]) -> list[Document]:
        """Documents by rowid, in the order asked (missing ones skipped)."""
        if not rowids:
            return []
        with _translate_errors(self.path):
            q = ",".join("?" * len(rowids))
            rows = self._conn.execute(
                f"SELECT rowid, id, url, text, added FROM documents WHERE rowid IN ({q})", list(rowids)
            ).fetchall()
        by_id = {r[0]: Document(*r) for r in rows}
        return [by_id[r] for r in rowids if r in by_id]

    def signatures(self, rowids: Sequence[int]) -> np.ndarray:
        """The stored signatures of these documents, one row each (``uint32[len(rowids), num_perm]``)."""
        if not rowids:
            return np.zeros((0, self.params.num_perm), dtype=np.uint32)
        with _translate_errors(self.path):
            q = ",".join("?" * len(rowids))
            rows = dict(
                self._conn.execute(f"SELECT doc, signature FROM signatures WHERE doc IN ({q})", list(rowids))
            )
        try:
            return np.stack([_sig_array(rows[r]) for r in rowids])
        except (KeyError, ValueError):
            raise IndexFormatError(f"{self.path}: damaged index (a signature is missing or malformed)") from None

    def candidates(self, keys: Sequence[int], limit: int = 50) -> list[tuple[int, int]]:
        """``(rowid, shared bands)`` of the documents sharing a band key, most shared first."""
        if not keys:
            return []
        with _translate_errors(self.path):
            q = ",".join("?" * len(keys))
            return self._conn.execute(
                f"SELECT doc, COUNT(*) AS n FROM bands WHERE key IN ({q}) GROUP BY doc ORDER BY n DESC, doc LIMIT ?",
                [*keys, limit],
            ).fetchall()

    def ids(self) -> Iterator[str]:
        with _translate_errors(self.path):
            for (i,) in self._conn.execute("SELECT id FROM documents ORDER BY rowid"):
                yield i

    def size_bytes(self) -> int:
        """Bytes on disk: the database file plus its write-ahead log."""
        return sum(os.path.getsize(p) for p in (self.path, self.path + "-wal") if os.path.exists(p))

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (after a large build)."""
        with _translate_errors(self.path):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


__all__ = ["AddStats", "Document", "FORMAT", "Index", "IndexFormatError", "SCHEMA_VERSION", "Source"]
