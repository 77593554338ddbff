"""``unspin trace``: index sources, find the source of spun text, join corpora.

    unspin trace index DB SOURCES...          add documents to the index at DB
    unspin trace query DB QUERIES.jsonl -o OUT.jsonl
    unspin trace query DB -                   one document on stdin: a report
    unspin trace join --engine local|ray SUSPECTS.jsonl SOURCES.jsonl -o OUT.jsonl

:func:`register` adds the ``trace`` command to the main parser's
subcommands; ``python -m unspin.trace_cli`` runs the same three commands on
their own.  Each command sets ``func(args) -> exit status``.  Errors raise
(``ValueError``, ``OSError``, :class:`unspin.index.IndexFormatError`) and the
main program turns them into one line on stderr.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Iterator

from .cli import _positive_int, _probability

PROG = "unspin"

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.txt")


def _is_jsonl(path: str) -> bool:
    return path.lower().endswith(_JSONL_SUFFIXES)


def _say(msg: str) -> None:
    print(f"{PROG}: {msg}", file=sys.stderr)


def _trace_config(args: argparse.Namespace):
    from .trace import DEFAULT_TRACE

    return DEFAULT_TRACE.with_(min_coverage=args.min_coverage)


def _records(path: str, args: argparse.Namespace, what: str) -> Iterator[dict[str, Any]]:
    """``{"id", "text", "url"}`` from a JSONL file; a bad line is reported and skipped (or, with --strict, fatal)."""
    from .formats import iter_jsonl

    for rec in iter_jsonl(path, args.id_key, args.text_key):
        name = "<stdin>" if path == "-" else path
        if rec.error is None and rec.id is None:
            rec = rec._replace(error=f"no {args.id_key!r} field")
        if rec.error is not None:
            msg = f"{name}:{rec.line_no}: {what} skipped: {rec.error}"
            if getattr(args, "strict", False):
                raise ValueError(msg)
            _say(msg)
            continue
        url = (rec.raw or {}).get(args.url_key)
        yield {"id": str(rec.id), "text": rec.text, "url": None if url in (None, "") else str(url)}


# --------------------------------------------------------------------------
# trace index


def _sources(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    from .formats import read_text

    for path in args.sources:
        if path == "-" or _is_jsonl(path):
            yield from _records(path, args, "record")
        else:
            # A plain text or HTML file is one document; its path is its id.
            yield {"id": path, "text": read_text(path), "url": None}


def cmd_index(args: argparse.Namespace) -> int:
    from .index import Index

    for p in args.sources:
        if p != "-" and not os.path.exists(p):
            raise FileNotFoundError(2, "No such file or directory", p)
    t0 = time.monotonic()
    with Index.open(args.db, create=True) as ix:
        stats = ix.add(_sources(args), batch_size=args.batch_size)
        ix.checkpoint()
        n, size = len(ix), ix.size_bytes()
    secs = time.monotonic() - t0
    if not args.quiet:
        _say(
            f"indexed {stats.total:,} documents in {secs:.1f} s ({stats.added:,} new, {stats.updated:,} updated, "
            f"{stats.unchanged:,} unchanged); {args.db} holds {n:,} documents, {size / 1e6:.1f} MB"
        )
    return 0


# --------------------------------------------------------------------------
# trace query


def _normalizer(args: argparse.Namespace):
    from .trace import fast_restore

    return fast_restore if args.restore else None


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"{line}:{col}"


def _short(s: str, n: int = 60) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def format_report(text: str, result, min_coverage: float, max_subs: int = 8) -> str:
    """The human-readable report of :func:`unspin.trace.trace` for one text."""
    out = []
    if not result.matches:
        if result.candidates:
            out.append(
                f"no match: no indexed source covers {min_coverage:.0%} of this text "
                f"(best of {result.candidates} candidates: {result.best_coverage:.0%})"
            )
        else:
            out.append("no match: no indexed source shares this text's fingerprint")
        return "\n".join(out) + "\n"
    for n, m in enumerate(result.matches, 1):
        where = f"  {m.url}" if m.url else ""
        out.append(
            f"{n}. {m.source_id}{where}\n"
            f"   score {m.score:.3f}; covers {m.coverage:.0%} of this text ({m.identical:.0%} word for word), "
            f"{m.source_coverage:.0%} of the source"
        )
        for sp in m.alignment:
            subs = sp.substitutions
            out.append(
                f"   text {_line_col(text, sp.query_start)}-{_line_col(text, sp.query_end)} = source chars "
                f"{sp.source_start}-{sp.source_end}: {len(subs)} substitution{'s' if len(subs) != 1 else ''}"
            )
            for s in subs[:max_subs]:
                out.append(
                    f"     {_line_col(text, s['query_start']):>7}  {_short(s['query'], 40)!r} <- "
                    f"{_short(s['source'], 40)!r}"
                )
            if len(subs) > max_subs:
                out.append(f"     ... and {len(subs) - max_subs} more")
    return "\n".join(out) + "\n"


def cmd_query(args: argparse.Namespace) -> int:
    from .formats import iter_jsonl, read_text, write_jsonl
    from .index import Index
    from .trace import trace

    cfg = _trace_config(args)
    norm = _normalizer(args)
    fmt = args.input_format or ("jsonl" if _is_jsonl(args.queries) else "text")
    with Index.open(args.db) as ix:
        if ix.vocabulary_changed:
            _say(f"warning: {args.db} was built with another lexicon; rebuild it ('trace index') for full recall")
            ix.vocabulary_warned = True  # said here; trace() need not warn again
        if fmt == "text":
            text = read_text(args.queries)
            result = trace(text, ix, config=cfg, top_k=args.top_k, normalize=norm)
            if args.json:
                import json

                body = json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"
            else:
                body = format_report(text, result, cfg.min_coverage)
            if args.output == "-":
                sys.stdout.write(body)
            else:
                with open(args.output, "w", encoding="utf-8") as f:
                    f.write(body)
            return 0

        def results() -> Iterator[dict[str, Any]]:
            for rec in iter_jsonl(args.queries, args.id_key, args.text_key):
                if rec.error is not None:
                    if args.strict:
                        raise ValueError(f"{args.queries}:{rec.line_no}: {rec.error}")
                    yield {"id": rec.id, "line": rec.line_no, "error": rec.error}
                    continue
                r = trace(rec.text, ix, config=cfg, top_k=args.top_k, normalize=norm)
                yield {"id": rec.id, "matches": [m.to_dict() for m in r.matches]}

        write_jsonl(results(), args.output)
    return 0


# --------------------------------------------------------------------------
# trace join


def cmd_join(args: argparse.Namespace) -> int:
    from .formats import write_jsonl
    from .join import JoinStats, join

    if args.engine == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ModuleNotFoundError(
                "the Ray engine needs Ray: pip install 'unspin[ray]' (or use --engine local)", name="ray"
            ) from None
    suspects = list(_records(args.suspects, args, "suspect"))
    sources = list(_records(args.sources, args, "source"))
    stats = JoinStats()
    t0 = time.monotonic()
    out = join(
        suspects,
        sources,
        engine=args.engine,
        config=_trace_config(args),
        top_k=args.top_k,
        num_cpus=args.num_cpus,
        stats=stats,
    )
    write_jsonl(out, args.output)
    if not args.quiet:
        _say(
            f"joined {stats.suspects:,} suspects with {stats.sources:,} sources in {time.monotonic() - t0:.1f} s "
            f"({args.engine}): {stats.matched:,} matched, {stats.pairs:,} band hits, "
            f"{stats.skipped_buckets:,} oversized buckets skipped"
        )
    return 0


# --------------------------------------------------------------------------
# The parser


def _jsonl_keys(p: argparse.ArgumentParser, url: bool = True) -> None:
    p.add_argument("--id-key", default="id", metavar="KEY", help="field holding a record's id (default: %(default)s)")
    p.add_argument(
        "--text-key", default="text", metavar="KEY", help="field holding a record's text (default: %(default)s)"
    )
    if url:
        p.add_argument(
            "--url-key", default="url", metavar="KEY", help="field holding a record's URL (default: %(default)s)"
        )


def _matching(p: argparse.ArgumentParser, top_k: int) -> None:
    from .trace import DEFAULT_TRACE

    p.add_argument(
        "--min-coverage",
        type=_probability,
        default=DEFAULT_TRACE.min_coverage,
        metavar="C",
        help="report a source only if it covers this share of the text (default: %(default)s)",
    )
    p.add_argument(
        "--top-k", type=_positive_int, default=top_k, metavar="K", help="at most K sources per text (default: %(default)s)"
    )


def add_commands(sub) -> None:
    """Add ``index``, ``query`` and ``join`` to an argparse subparsers object."""
    p = sub.add_parser(
        "index",
        help="add source documents to an index (created if missing)",
        description="Add source documents to the trace index DB (one SQLite file, created if "
        "missing).  SOURCES are JSONL files (.jsonl: one record a line with an id, a text and "
        "optionally a url; '-' reads JSONL from stdin) or text/HTML files (one document each, "
        "its path as id).  Adding an id again replaces its text; documents are committed in "
        "batches, so an interrupted run leaves a usable index.",
    )
    p.add_argument("db", metavar="DB", help="the index file")
    p.add_argument("sources", nargs="+", metavar="SOURCES", help="JSONL, text or HTML files ('-': JSONL on stdin)")
    _jsonl_keys(p)
    p.add_argument(
        "--batch-size", type=_positive_int, default=1000, metavar="N", help="documents a transaction (default: %(default)s)"
    )
    p.add_argument("--strict", action="store_true", help="stop at the first bad JSONL record (exit 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser(
        "query",
        help="find the indexed source a spun text was made from",
        description="Find the source of each query in the index DB.  A JSONL file (.jsonl) "
        "gives one output line per record: its id and 'matches', a ranked list of "
        "{source_id, url, score, coverage, alignment}; a bad record gives {id, line, error}.  "
        "A text file or '-' (stdin) is one document and gets a readable report (or JSON with "
        "--json).  A text no source covers well enough gets no match rather than a wrong one.",
    )
    p.add_argument("db", metavar="DB", help="the index file")
    p.add_argument("queries", metavar="QUERIES", help="JSONL queries, or one text document ('-': stdin)")
    p.add_argument("-o", "--output", default="-", metavar="OUT", help="where to write (default: -, standard output)")
    p.add_argument(
        "--input-format", choices=("text", "jsonl"), default=None, help="default: jsonl for .jsonl files, else text"
    )
    p.add_argument("--json", action="store_true", help="one document: print the result as JSON, not a report")
    p.add_argument(
        "--no-restore",
        dest="restore",
        action="store_false",
        help="fingerprint the query as it is, without the fast lexicon restoration first",
    )
    p.add_argument("--strict", action="store_true", help="stop at the first bad JSONL record (exit 1)")
    _matching(p, top_k=5)
    _jsonl_keys(p, url=False)
    p.set_defaults(func=cmd_query)

    p = sub.add_parser(
        "join",
        help="link every suspect document to its source (band join, local or Ray)",
        description="Link each suspect (JSONL) to the source (JSONL) it was spun from by a join "
        "on fingerprint band keys, then alignment.  Writes one line per suspect, in input "
        "order: its id and 'matches'.  --engine ray runs the same stages on Ray Data "
        "(pip install 'unspin[ray]'); the output is the same as --engine local.",
    )
    p.add_argument("suspects", metavar="SUSPECTS", help="JSONL suspects ('-': stdin)")
    p.add_argument("sources", metavar="SOURCES", help="JSONL sources")
    p.add_argument("-o", "--output", default="-", metavar="OUT", help="where to write (default: -, standard output)")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="default: %(default)s")
    p.add_argument(
        "--num-cpus", type=_positive_int, default=2, metavar="N", help="Ray: CPUs to start Ray with (default: %(default)s)"
    )
    p.add_argument("--strict", action="store_true", help="stop at the first bad JSONL record (exit 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    _matching(p, top_k=1)
    _jsonl_keys(p)
    p.set_defaults(func=cmd_join)


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``trace`` (with ``index``, ``query``, ``join``) to the main parser's subcommands."""
    p = subparsers.add_parser(
        "trace",
        help="find the article a spun text was made from (index, query, join)",
        description="Source tracing: index source articles, then find the one a spun text was "
        "made from, or link a whole corpus of suspects to its sources.",
    )
    sub = p.add_subparsers(dest="trace_command", metavar="COMMAND", title="commands", required=True)
    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m unspin.trace_cli COMMAND ...``: the trace commands on their own."""
    parser = argparse.ArgumentParser(prog=f"{PROG} trace", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="trace_command", metavar="COMMAND", required=True)
    add_commands(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        msg = f"{e.filename}: {e.strerror}" if e.filename is not None and e.strerror else str(e)
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 1
    except (ValueError, ModuleNotFoundError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
