"""The ``unspin`` command: a Unix filter over the library's verbs.

Every subcommand reads a file or standard input (``-``, the default) and
writes standard output (or ``-o FILE``).  Errors are one line on stderr,
``unspin: error: ...``; nothing a user can cause prints a traceback.

Exit status: 0 success, 1 an error (unreadable or invalid input, a plan that
does not fit, a missing model), 2 a usage error, 3 ``scan`` found that every
record failed (usually a wrong ``--text-key``), 130 interrupted (Ctrl-C).

Heavy modules (the engine, the language model) are imported inside the
commands, so ``unspin --help`` answers at once.
"""
from __future__ import annotations

import argparse
import bisect
import json
import os
import sys
import time
from typing import Any, Callable, Iterator, TextIO

from .config import Config

PROG = "unspin"

#: Documents handed to ``restore_many`` at a time by ``scan`` and the JSONL
#: mode of ``spin``.  Enough to fill the LM's sentence batches across
#: documents (passes 2 and 3 score only the sentences with proposals, from
#: their first change on, so a small pool makes small batches); small enough
#: that one failing batch is cheap to redo one by one.  ``scan`` of 60 test
#: records (14,849 words), end to end: 16 -> 65.7 s, 64 -> 53.0 s, 128 -> 51.0 s.
DOCS_PER_BATCH = 64


def docs_per_batch(jobs: int) -> int:
    """Records per batch for ``scan --jobs``: smaller with several workers,
    so that each has work (``bench`` times its --jobs figure the same way)."""
    return max(DOCS_PER_BATCH // jobs, 8)

#: Exit status when ``scan`` read records and every one of them failed.
EXIT_ALL_FAILED = 3


class UsageError(Exception):
    """A command line that cannot be run as given (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _version() -> str:
    from . import __version__

    return __version__


# --------------------------------------------------------------------------
# Input and output


def _read_text(path: str) -> str:
    from .formats import read_text

    if path == "-" and sys.stdin.isatty():
        print(f"{PROG}: reading text from standard input (end it with Ctrl-D)", file=sys.stderr)
    return read_text(path)


def _name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _check_not_same(output: str, input: str) -> None:
    if _same_file(output, input):
        raise UsageError(f"the output file {output!r} is the input file; write to a new file instead")


def _same_file(a: str, b: str) -> bool:
    if a == "-" or b == "-":
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


class _Output:
    """Standard output (``-``) or a UTF-8 file, opened on first use.

    Opening late means a command that fails on its input leaves no empty
    output file behind.
    """

    def __init__(self, path: str, input_path: str | None = None):
        if input_path is not None:
            _check_not_same(path, input_path)
        self.path = path
        self._f: TextIO | None = None

    def _file(self) -> TextIO:
        if self._f is None:
            if self.path == "-":
                # UTF-8 whatever the locale; no newline translation.
                sys.stdout.reconfigure(encoding="utf-8", newline="")  # type: ignore[union-attr]
                self._f = sys.stdout
            else:
                self._f = open(self.path, "w", encoding="utf-8", newline="")
        return self._f

    def write(self, s: str) -> None:
        self._file().write(s)

    def flush(self) -> None:
        if self._f is not None:
            self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.flush()
            if self._f is not sys.stdout:
                self._f.close()
        elif self.path != "-":
            # Nothing was written (empty input): still leave an empty file,
            # as a filter would.
            open(self.path, "w", encoding="utf-8").close()

    def __enter__(self) -> "_Output":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _dumps(obj: Any, indent: int | None = None) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent)


# --------------------------------------------------------------------------
# Argument types


def _probability(s: str) -> float:
    try:
        x = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {s!r}") from None
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {s}")
    return x


def _positive_int(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {s!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {s}")
    return n


# --------------------------------------------------------------------------
# Readable reports


def _q(s: str) -> str:
    """Quote a span of text for a one-line report (newlines escaped)."""
    return repr(s)


def _verdict(det: Any) -> str:
    if det.language != "en":
        return (
            f"not English: unspin only checks English text, so nothing was flagged "
            f"({det.words} words)"
        )
    label = "spun" if det.is_spun else "not spun"
    return f"{label}: probability {det.spun_probability:.2f} ({det.words} words)"


class _LineIndex:
    """Character offset -> ``line:column`` (both from 1) in the original text.

    >>> pos = _LineIndex("[ad_1]\\nPutin will go to Astana.")
    >>> pos(0), pos(18)
    ('1:1', '2:12')
    """

    def __init__(self, text: str):
        self._starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def __call__(self, offset: int) -> str:
        line = bisect.bisect_right(self._starts, offset) - 1
        return f"{line + 1}:{offset - self._starts[line] + 1}"


def _edit_note(edit: Any) -> str:
    ev = edit.evidence or {}
    if edit.kind != "substitution":
        what = ev.get("rule") or ev.get("pattern") or ""
        return f"{edit.kind}; {what}" if what else edit.kind
    parts = [f"confidence {edit.confidence:.2f}"]
    if ev.get("source"):
        parts.append(str(ev["source"]))
    for key, label in (("lm_gain", "LM gain"), ("ngram_gain", "n-gram gain")):
        if isinstance(ev.get(key), (int, float)):
            parts.append(f"{label} {ev[key]:+.1f}")
    return "; ".join(parts)


def _format_detection(det: Any) -> str:
    lines = [_verdict(det)]
    if det.language == "en":
        if not det.spans:
            lines.append("  no suspicious spans")
        for s in det.spans:
            lines.append(
                f"  {s.start}-{s.end}  {_q(s.text)} -> {_q(s.suggestion)}  (confidence {s.confidence:.2f})"
            )
    return "\n".join(lines) + "\n"


def _format_explanation(text: str, r: Any, config: Config) -> str:
    pos = _LineIndex(text)
    n = len(r.edits)
    lines = [f"{_verdict(r.detection)}; {n} edit{'' if n == 1 else 's'}"]
    det = r.detection
    if det.is_spun and det.spans and det.spun_probability < config.restore_threshold:
        lines.append(
            f"  wording kept: {len(det.spans)} suspicious span{'' if len(det.spans) == 1 else 's'}, but the "
            f"probability is under --restore-threshold {config.restore_threshold:g} (see 'unspin detect')"
        )
    for e in r.edits:
        lines.append(f"  {pos(e.start)}  {_q(e.before)} -> {_q(e.after)}  ({_edit_note(e)})")
    lines.append("--- restored text ---")
    out = "\n".join(lines) + "\n" + r.text
    return out if out.endswith("\n") else out + "\n"


# --------------------------------------------------------------------------
# Commands


def _config(args: argparse.Namespace) -> Config:
    return Config(
        fast=args.fast,
        doc_threshold=args.doc_threshold,
        restore_threshold=args.restore_threshold,
        span_threshold=args.span_threshold,
        clean_boilerplate=args.clean_boilerplate,
        tables=tuple(args.tables),
        batch_size=args.batch_size,
        max_words=args.max_words,
        thesaurus=args.thesaurus,
    )


def cmd_detect(args: argparse.Namespace) -> int:
    from .detect import detect

    out = _Output(args.output, args.input)
    text = _read_text(args.input)
    det = detect(text, _config(args))
    with out:
        out.write(_dumps(det.to_dict(), indent=2) + "\n" if args.json else _format_detection(det))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    if args.json and args.explain:
        raise UsageError("--json and --explain are alternatives: the JSON already holds the explanation")
    out = _Output(args.output, args.input)
    text = _read_text(args.input)
    if not (args.json or args.explain) and not text.strip():
        # Nothing to restore: pass the input through without loading anything.
        result = text
    else:
        from .restore import restore_and_explain

        config = _config(args)
        r = restore_and_explain(text, config)
        if args.json:
            result = _dumps(r.to_dict(), indent=2) + "\n"
        elif args.explain:
            result = _format_explanation(text, r, config)
        else:
            result = r.text
    with out:
        out.write(result)
    return 0


def _load_plan(path: str) -> list[Any]:
    from .records import Edit

    raw = _read_text(path)
    try:
        plan = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    if isinstance(plan, dict):
        if "edits" not in plan:
            raise ValueError(f"{path}: a plan is a list of edits or an object with an 'edits' list")
        plan = plan["edits"]
    if not isinstance(plan, list):
        raise ValueError(f"{path}: a plan is a list of edits or an object with an 'edits' list")
    edits = []
    for i, d in enumerate(plan):
        if not isinstance(d, dict):
            raise ValueError(f"{path}: edit {i + 1} is not an object")
        try:
            edits.append(Edit.from_dict(d))
        except ValueError:
            raise ValueError(
                f"{path}: edit {i + 1} needs integer 'start' and 'end' and string 'before' and 'after'"
            ) from None
    return edits


def cmd_apply(args: argparse.Namespace) -> int:
    from .restore import apply_plan

    if args.plan == "-" and args.input == "-":
        raise UsageError("the plan and the text cannot both come from standard input")
    out = _Output(args.output, args.input)
    edits = _load_plan(args.plan)
    text = _read_text(args.input)
    try:
        restored = apply_plan(text, edits)
    except ValueError as e:
        raise ValueError(f"the plan does not fit this text: {e}") from None
    with out:
        out.write(restored)
    return 0


def _spin_record(spin: Callable[..., Any], text: str, args: argparse.Namespace) -> dict[str, Any]:
    """The spun text and its ground truth, with the settings that made it."""
    r = spin(text, seed=args.seed, style=args.style, rate=args.rate)
    return {"spun": r.text, "edits": r.edits, "seed": args.seed, "style": args.style, "rate": args.rate}


def _is_jsonl_path(path: str) -> bool:
    return path.endswith((".jsonl", ".ndjson", ".jsonl.txt"))


def _where(path: str, rec: Any) -> str:
    """Where a record is, for an error message: file, line and id."""
    at = f"{_name(path)}: line {rec.line_no}"
    return f"{at} (id {rec.id!r})" if rec.id is not None else at


def _error_record(rec: Any, message: str) -> dict[str, Any]:
    if isinstance(rec.raw, dict):
        d = dict(rec.raw)
        d["error"] = message
        return d
    return {"line": rec.line_no, "error": message}


def cmd_spin(args: argparse.Namespace) -> int:
    from .spin import spin

    fmt = args.input_format or ("jsonl" if _is_jsonl_path(args.input) else "text")
    if fmt == "text":
        out = _Output(args.output, args.input)
        text = _read_text(args.input)
        if not text.strip() and not args.jsonl:
            result = text
        elif args.jsonl:
            result = _dumps({"text": text, **_spin_record(spin, text, args)}) + "\n"
        else:
            result = spin(text, seed=args.seed, style=args.style, rate=args.rate).text
        with out:
            out.write(result)
        return 0

    from .formats import iter_jsonl, write_jsonl

    _check_not_same(args.output, args.input)

    def rows() -> Iterator[dict[str, Any]]:
        for rec in iter_jsonl(args.input, args.id_key, args.text_key):
            if rec.error:
                if args.strict:
                    raise ValueError(f"{_where(args.input, rec)}: {rec.error}")
                yield _error_record(rec, rec.error)
                continue
            d = dict(rec.raw)
            d.update(_spin_record(spin, rec.text, args))
            yield d

    write_jsonl(rows(), args.output)
    return 0


class _Progress:
    """A counter line on stderr, redrawn in place; silent unless a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.t0 = time.monotonic()
        self.last = 0.0
        self.records = self.words = self.spun = self.errors = 0

    def update(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.25:
            return
        self.last = now
        rate = self.words / max(now - self.t0, 1e-9)
        sys.stderr.write(
            f"\r{PROG}: {self.records:,} records, {self.spun:,} spun, "
            f"{self.errors:,} errors, {rate:,.0f} words/s\033[K"
        )
        sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled and self.last:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def summary(self) -> str:
        secs = time.monotonic() - self.t0
        return (
            f"{PROG}: scanned {self.records:,} records in {secs:.1f} s: "
            f"{self.spun:,} spun, {self.errors:,} errors"
        )


def cmd_scan(args: argparse.Namespace) -> int:
    from .formats import iter_jsonl, write_jsonl
    from .parallel import restore_batches

    _check_not_same(args.output, args.input)
    config = _config(args)
    tty = sys.stderr.isatty()
    progress = _Progress(tty)
    per_batch = docs_per_batch(args.jobs)

    def fail(rec: Any, message: str) -> dict[str, Any]:
        progress.records += 1
        progress.errors += 1
        if args.strict:
            raise ValueError(f"{_where(args.input, rec)}: {message}")
        return _error_record(rec, message)

    def done(rec: Any, r: Any) -> dict[str, Any]:
        det = r.detection
        d = dict(rec.raw)
        d["spun_probability"] = det.spun_probability
        d["is_spun"] = det.is_spun
        d["restored"] = r.text
        d["spans"] = [s.to_dict() for s in det.spans]
        progress.records += 1
        progress.spun += bool(det.is_spun)
        progress.words += det.words
        return d

    def batches() -> Iterator[list[Any]]:
        """Records in input order, cut after every ``per_batch`` good ones."""
        pending: list[Any] = []
        n_good = 0
        for rec in iter_jsonl(args.input, args.id_key, args.text_key):
            if rec.error and args.strict:
                if pending:
                    yield pending  # what came before the bad record is written
                    pending, n_good = [], 0
                fail(rec, rec.error)
            pending.append(rec)
            n_good += not rec.error
            if n_good >= per_batch:
                yield pending
                pending, n_good = [], 0
        if pending:
            yield pending

    def rows() -> Iterator[dict[str, Any]]:
        """The output rows, bad records included, in input order."""
        texts_of = lambda pending: [rec.text for rec in pending if not rec.error]  # noqa: E731
        for pending, outcomes in restore_batches(batches(), texts_of, config, args.jobs):
            results = iter(outcomes)
            for rec in pending:
                if rec.error:
                    yield fail(rec, rec.error)
                    continue
                r, err = next(results)
                yield fail(rec, err) if err is not None else done(rec, r)
            progress.update()

    try:
        write_jsonl(rows(), args.output)
    finally:
        progress.clear()
    if tty or args.summary:
        print(progress.summary(), file=sys.stderr)
    if progress.records and progress.errors == progress.records:
        print(
            f"{PROG}: error: every record failed (is the text under --text-key {args.text_key!r}?)",
            file=sys.stderr,
        )
        return EXIT_ALL_FAILED
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    if args.suite == "learn":
        if args.fast:
            raise UsageError("bench learn measures the learner, which needs the language model: drop --fast")
        from .learn import LearnOptions
        from .learn_bench import run_learn_bench

        run_learn_bench(
            LearnOptions(engine=_config(args)),
            salt=args.salt,
            limit_test=args.limit or 100,
            tortured=args.tortured,
            out_path=args.output,
            progress=not args.quiet,
        )
        return 0
    if args.real_dev is not None and not os.path.isdir(args.real_dev):
        raise ValueError(f"{args.real_dev}: not a directory")
    # run_bench prints the table on stdout, progress lines on stderr, and
    # writes the full figures to out_path.
    run_bench(
        _config(args),
        out_path=args.output,
        limit_docs=args.limit,
        real_dev_dir=args.real_dev,
        progress=not args.quiet,
    )
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    print(f"{PROG} {_version()}")
    return 0


# --------------------------------------------------------------------------
# The parser

_DESCRIPTION = """\
Find and undo article spinning: text run through a synonym spinner
("go to" for "visit", "economic system" for "economy").

Each command reads a file, or standard input when the file is - or left out,
and writes standard output unless -o is given.  The first run with the
language model takes a few seconds more while the model loads; --fast skips
the model (much quicker, lower recall)."""

_EPILOG = """\
examples:
  unspin restore page.txt > page.restored.txt
  curl -s URL | unspin detect
  unspin restore --explain article.txt | less
  unspin restore --json article.txt > plan.json && unspin apply plan.json article.txt
  unspin scan corpus.jsonl -o scored.jsonl --fast --summary
  unspin spin clean.txt --seed 1 > spun.txt

exit status: 0 ok, 1 error, 2 bad command line, 3 scan: every record failed,
130 interrupted.  Run 'unspin COMMAND --help' for a command's options."""


def _engine_options() -> argparse.ArgumentParser:
    p = _Parser(add_help=False)
    g = p.add_argument_group("engine options")
    g.add_argument(
        "--fast",
        action="store_true",
        help="use word statistics only, no language model: about 100x faster, lower recall",
    )
    g.add_argument(
        "--doc-threshold",
        type=_probability,
        default=Config.doc_threshold,
        metavar="P",
        help="call a document spun when its probability reaches P (default: %(default)s)",
    )
    g.add_argument(
        "--restore-threshold",
        type=_probability,
        default=Config.restore_threshold,
        metavar="P",
        help="edit the wording of a document called spun only when its probability also reaches P; "
        "below it, spans are reported and the words kept (default: %(default)s)",
    )
    g.add_argument(
        "--span-threshold",
        type=_probability,
        default=Config.span_threshold,
        metavar="P",
        help="report and restore a span when its confidence reaches P (default: %(default)s)",
    )
    g.add_argument(
        "--no-clean",
        dest="clean_boilerplate",
        action="store_false",
        help="keep page boilerplate such as [ad_1], 'Source link' and spintax braces",
    )
    g.add_argument(
        "--table",
        dest="tables",
        action="append",
        default=[],
        metavar="FILE",
        help="an extra phrase table (TSV) or tortured-phrase list (CSV/JSON) to use; repeatable",
    )
    g.add_argument(
        "--no-thesaurus",
        dest="thesaurus",
        action="store_false",
        help="use only the phrase tables, not the thesaurus-derived word lexicon",
    )
    g.add_argument(
        "--batch-size",
        type=_positive_int,
        default=Config.batch_size,
        metavar="N",
        help="the most sentences the language model scores at once (default: %(default)s)",
    )
    g.add_argument(
        "--max-words",
        type=_positive_int,
        default=Config.max_words,
        metavar="N",
        help="score sentences longer than N words in windows of N words (default: %(default)s)",
    )
    return p


_TEXT_INPUT = "the text, UTF-8; an HTML page is turned into text first"


def _input_arg(p: argparse.ArgumentParser, what: str = _TEXT_INPUT) -> None:
    p.add_argument(
        "input",
        nargs="?",
        default="-",
        metavar="FILE",
        help=f"{what} (default: -, standard input)",
    )


def _output_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="OUT",
        help="where to write the result (default: -, standard output)",
    )


def _jsonl_keys(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--id-key",
        default="id",
        metavar="KEY",
        help="field holding a record's id, named in error messages (default: %(default)s)",
    )
    p.add_argument(
        "--text-key", default="text", metavar="KEY", help="field holding a record's text (default: %(default)s)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    engine = _engine_options()

    p = sub.add_parser(
        "detect",
        parents=[engine],
        help="say whether a text is spun and point at the suspicious words",
        description="Say whether a text looks spun (a calibrated probability) and list the "
        "suspicious spans with the wording they probably replaced.  Offsets are character "
        "positions in the input, end exclusive.  Non-English text is reported as such and "
        "not checked.",
    )
    _input_arg(p)
    _output_arg(p)
    p.add_argument("--json", action="store_true", help="print the detection as JSON instead of a report")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser(
        "restore",
        parents=[engine],
        help="put the original wording back (prints the restored text)",
        description="Put the original wording back into spun text and remove page "
        "boilerplate.  By default only the restored text is printed, so this works as a "
        "filter; text that is not spun comes back unchanged.",
    )
    _input_arg(p)
    _output_arg(p)
    p.add_argument(
        "--explain",
        action="store_true",
        help="print the verdict and every edit (line:column, before -> after, evidence) before the text",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print restored text, edits and detection as JSON; the edits replay with 'unspin apply'",
    )
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "apply",
        help="replay a saved plan of edits on a text",
        description="Replay a plan on the text it was made for: the JSON from 'unspin restore "
        "--json', or just its list of edits.  Fails, changing nothing, if the plan does not "
        "fit the text.",
    )
    p.add_argument("plan", metavar="PLAN.json", help="the plan: a restore --json result or a list of edits")
    _input_arg(p, "the text the plan was made for, read as 'restore' read it")
    _output_arg(p)
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser(
        "spin",
        help="make spun test text with a known original (for benchmarks)",
        description="Spin clean text the way content farms do, deterministically for a given "
        "seed, and optionally keep the ground truth (every replacement made).  Reads plain "
        "text, or JSONL with one record per line (--input-format jsonl, automatic for .jsonl "
        "files): then every record comes out with 'spun', 'edits', 'seed', 'style' and 'rate' added.",
    )
    _input_arg(p, "the clean text, UTF-8, or JSON lines (see --input-format)")
    _output_arg(p)
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed; same seed, same output (default: 0)")
    p.add_argument(
        "--style",
        choices=("word", "phrase"),
        default="word",
        help="word: mostly single words, like the seed article; phrase: heavier, long phrases "
        "first (default: %(default)s)",
    )
    p.add_argument(
        "--rate",
        type=_probability,
        default=0.3,
        metavar="R",
        help="share of the replaceable places that get replaced, 0 to 1 (default: %(default)s)",
    )
    p.add_argument(
        "--jsonl",
        action="store_true",
        help="for text input: print one JSON object with text, spun text and edits instead of the spun text",
    )
    p.add_argument(
        "--input-format",
        choices=("text", "jsonl"),
        default=None,
        help="plain text or JSON lines (default: jsonl for .jsonl files, else text)",
    )
    _jsonl_keys(p)
    p.add_argument("--strict", action="store_true", help="JSONL: stop at the first bad record (exit 1)")
    p.set_defaults(func=cmd_spin)

    p = sub.add_parser(
        "scan",
        parents=[engine],
        help="detect and restore every record of a JSONL corpus",
        description="Detect and restore a corpus of JSON lines.  Every record comes out once, "
        "in order, with all its fields and 'spun_probability', 'is_spun', 'restored' and "
        "'spans' added.  A record that cannot be processed (bad JSON, no text, text that is "
        "not a string, invalid UTF-8) comes out with an 'error' field instead (lines that "
        "are not JSON objects as {\"line\": N, \"error\": ...}) and the scan goes on; blank "
        "lines are skipped.  The model loads once.",
        epilog="exit status: 0 when the scan finished, even with error records; 1 on an "
        "error (or, with --strict, the first bad record); 3 when every record failed, which "
        "usually means a wrong --text-key.  Progress and a summary go to stderr when it is "
        "a terminal.",
    )
    _input_arg(p, "the corpus: JSON lines, one object a line, UTF-8")
    _output_arg(p)
    _jsonl_keys(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--keep-going",
        dest="strict",
        action="store_false",
        help="write bad records with an 'error' field and go on (the default)",
    )
    mode.add_argument("--strict", dest="strict", action="store_true", help="stop at the first bad record (exit 1)")
    p.add_argument(
        "--summary",
        action="store_true",
        help="print the one-line summary on stderr even when it is not a terminal",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="restore batches of records on N worker processes, at most one per core; "
        "output order is unchanged, memory grows with N (default: %(default)s)",
    )
    p.set_defaults(func=cmd_scan, strict=False)

    p = sub.add_parser(
        "bench",
        parents=[engine],
        help="measure detection and restoration on the benchmark",
        description="Run the benchmark: the held-out test documents, each scored clean and "
        "spun by 'unspin spin', and the real pages where present.  Prints a table of "
        "detection (AUC, F1), span and restoration scores, false edits on clean text and "
        "throughput; -o also saves every figure as JSON.",
    )
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="OUT.json",
        help="also write every figure as JSON to this file",
    )
    p.add_argument(
        "--limit", type=_positive_int, default=None, metavar="N", help="use only the first N test documents"
    )
    p.add_argument(
        "--real-dev",
        default=None,
        metavar="DIR",
        help="the folder of real pages (spun_pages.jsonl, clean_pages.jsonl) "
        "(default: ../shared/data/real-dev, skipped if absent)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument(
        "suite",
        nargs="?",
        choices=("engine", "learn"),
        default="engine",
        help="engine: detection and restoration (the default); learn: how well 'unspin learn' "
        "recovers a hidden spinner's table (--limit then counts held-out recovery documents)",
    )
    p.add_argument(
        "--salt",
        default="test",
        help="learn: the salt that splits the phrase table into hidden and visible halves (default: %(default)s)",
    )
    p.add_argument(
        "--tortured",
        default=None,
        metavar="FILE",
        help="learn: also score unseen tortured phrases from this list (CSV or JSON), half held out",
    )
    p.set_defaults(func=cmd_bench)

    # Source tracing and the web service register their own subcommands; their
    # heavy dependencies load only when those commands run.
    from .learn_cli import register as register_learn
    from .trace_cli import register as register_trace
    from .web.cli import register as register_serve

    register_learn(sub)
    register_trace(sub)
    register_serve(sub)

    p = sub.add_parser("version", help="print the version", description="Print unspin's version.")
    p.set_defaults(func=cmd_version)
    return parser


def _os_error(e: OSError) -> str:
    if e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return str(e) or type(e).__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("missing command: one of detect, restore, apply, spin, scan, learn, bench, trace, serve, version")
    try:
        from .formats import InputError
    except ImportError:  # only while formats.py is being written
        InputError = ValueError  # type: ignore[misc,assignment]

    def error(message: str, status: int = 1) -> int:
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return status

    try:
        return args.func(args)
    except UsageError as e:
        return error(f"{e} (see '{PROG} {args.command} --help')", 2)
    except BrokenPipeError:
        # The reader went away (| head): stop quietly.  Point stdout at
        # /dev/null so the interpreter's final flush does not complain.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except InputError as e:
        return error(str(e))
    except OSError as e:
        return error(_os_error(e))
    except ValueError as e:
        return error(str(e))
    except ModuleNotFoundError as e:
        return error(f"a required module is not installed: {e.name} ({e})")
    except RuntimeError as e:
        from .lm import ModelUnavailable

        if isinstance(e, ModelUnavailable):
            return error(str(e))
        raise  # a bug: the traceback is what a report needs


if __name__ == "__main__":
    sys.exit(main())
