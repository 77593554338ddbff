"""The ``unspin learn`` command: propose a spinner's table from its output."""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Iterator

PROG = "unspin"


def _documents(paths: list[str], fmt: str | None, id_key: str, text_key: str, skipped: list[str]) -> Iterator[str]:
    """Every document of every input: a JSONL record's text, or a whole text/HTML file."""
    from .formats import iter_jsonl, read_text

    for path in paths:
        kind = fmt or ("jsonl" if path.endswith((".jsonl", ".ndjson")) else "text")
        if kind == "text":
            yield read_text(path)
            continue
        for rec in iter_jsonl(path, id_key, text_key):
            if rec.text is None:
                where = f"{'<stdin>' if path == '-' else path}: line {rec.line_no}"
                skipped.append(f"{where}: {rec.error}")
                continue
            yield rec.text


class _Progress:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.t0 = time.monotonic()

    def __call__(self, msg: str) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{PROG} learn: {msg} ({time.monotonic() - self.t0:.0f} s)\033[K")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def cmd_learn(args: argparse.Namespace) -> int:
    from .cli import UsageError, _same_file
    from .config import Config
    from .learn import LearnOptions, format_table, learn

    if not args.min_overrep > 1:
        raise UsageError(f"--min-overrep must be more than 1, not {args.min_overrep}")
    if args.suspects.count("-") + args.reference.count("-") > 1:
        raise UsageError("standard input can be read only once")
    for p in args.suspects + args.reference:
        if p != "-" and args.output != "-" and _same_file(args.output, p):
            raise UsageError(f"the output file {args.output!r} is an input file; write to a new file instead")
    options = LearnOptions(
        min_docs=args.min_docs,
        min_overrep=args.min_overrep,
        max_forms=args.max_forms,
        min_confidence=args.min_confidence,
        engine=Config(tables=tuple(args.tables), thesaurus=args.thesaurus, batch_size=args.batch_size),
    )
    skipped: list[str] = []
    progress = _Progress(sys.stderr.isatty() and not args.quiet)
    suspects = _documents(args.suspects, args.input_format, args.id_key, args.text_key, skipped)
    reference = (
        _documents(args.reference, args.input_format, args.id_key, args.text_key, skipped)
        if args.reference
        else None
    )
    result = learn(suspects, reference, options, progress=progress)
    progress.done()
    if result.documents == 0:
        raise ValueError("no documents to learn from")
    command = "unspin learn " + " ".join(os.path.basename(p) for p in args.suspects)
    table = format_table(result, command)
    if args.output == "-":
        sys.stdout.write(table)
    else:
        tmp = f"{args.output}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(table)
        os.replace(tmp, args.output)
    for s in skipped[:10]:
        print(f"{PROG} learn: skipped {s}", file=sys.stderr)
    if len(skipped) > 10:
        print(f"{PROG} learn: skipped {len(skipped) - 10} more records", file=sys.stderr)
    if not args.quiet:
        print(
            f"{PROG} learn: {len(result.entries)} entries from {result.documents:,} documents "
            f"({result.words:,} words) in {result.seconds:.0f} s",
            file=sys.stderr,
        )
    return 0


def register(sub) -> None:
    from .cli import _positive_int, _probability
    from .config import Config
    from .learn import LearnOptions

    p = sub.add_parser(
        "learn",
        help="propose a spinner's substitution table from its spun output",
        description="Read suspected spun documents and propose table entries 'spun form -> "
        "original', each with its count, documents, confidence, evidence and example contexts.  "
        "The output is a phrase table (the project's TSV format): review it, then pass it to "
        "detect, restore or scan with --table.  Candidate forms are word sequences far more "
        "frequent than in clean text; candidate originals come from the thesaurus and from the "
        "word sequences that went missing.  An entry is kept when the original has lost a fair "
        "share of its uses to the form and reads better in most of the form's contexts, by a "
        "wider margin when the counts or the thesaurus do not vouch for it.  Clean text teaches "
        "it (nearly) nothing.  Candidates are verified with the language model (about 350 "
        "words/s on 2 cores); there is no --fast mode, because bigram counts alone propose "
        "mostly wrong entries.",
        epilog="examples:\n  unspin learn farm-pages.jsonl -o learned.tsv\n"
        "  unspin learn spun/*.txt --reference clean.jsonl -o learned.tsv\n"
        "  unspin restore --table learned.tsv page.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("suspects", nargs="+", metavar="SUSPECTS", help="JSONL corpora or text/HTML files (- for stdin)")
    p.add_argument(
        "--reference",
        nargs="+",
        default=[],
        metavar="CLEAN",
        help="clean text of the same kind (JSONL or text files), for word rates; "
        "without it, built-in English frequencies are used",
    )
    p.add_argument("-o", "--output", default="-", metavar="TABLE.tsv", help="where to write the table (default: stdout)")
    p.add_argument(
        "--input-format", choices=("text", "jsonl"), default=None, help="default: jsonl for .jsonl files, else text"
    )
    p.add_argument("--id-key", default="id", metavar="KEY", help="JSONL id field (default: %(default)s)")
    p.add_argument("--text-key", default="text", metavar="KEY", help="JSONL text field (default: %(default)s)")
    p.add_argument(
        "--min-docs",
        type=_positive_int,
        default=LearnOptions.min_docs,
        metavar="N",
        help="a form must occur in at least N documents (default: %(default)s)",
    )
    p.add_argument(
        "--min-overrep",
        type=float,
        default=LearnOptions.min_overrep,
        metavar="X",
        help="a form must be X times more frequent than in clean text (default: %(default)s)",
    )
    p.add_argument(
        "--max-forms",
        type=_positive_int,
        default=LearnOptions.max_forms,
        metavar="N",
        help="examine at most N forms, those with the most excess occurrences first (default: %(default)s)",
    )
    p.add_argument(
        "--min-confidence",
        type=_probability,
        default=LearnOptions.min_confidence,
        metavar="P",
        help="propose entries of at least this confidence (default: %(default)s)",
    )
    p.add_argument(
        "--table",
        dest="tables",
        action="append",
        default=[],
        metavar="FILE",
        help="an extra table whose entries count as known candidates; repeatable",
    )
    p.add_argument(
        "--no-thesaurus", dest="thesaurus", action="store_false", help="do not draw candidates from the thesaurus"
    )
    p.add_argument(
        "--batch-size",
        type=_positive_int,
        default=Config.batch_size,
        metavar="N",
        help="sentences scored together by the language model (default: %(default)s)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or summary on stderr")
    p.set_defaults(func=cmd_learn)
