"""``unspin bench learn``: how well ``unspin learn`` recovers a hidden spinner's table.

Parts (each a section of the returned dict and of the JSON file):

``hidden``
    The project's phrase table is split in two by a salted hash of each row's
    original (:func:`hidden_split`).  One half is the *hidden spinner*: it
    spins (``word`` style, :data:`RATE`) the non-test documents of the sample
    corpus, cut in two at a sentence boundary so that there are more than
    2,000 of them (:func:`learning_documents`).  The engine and the learner
    never see that half: it is withheld from the engine's lexicon, phrase
    table and filtered thesaurus alike (``Config.withhold``).  The learner
    still reads the full Moby thesaurus as a general source of related words
    (it is not the spinner's table, and a user has it too).  ``unspin learn``
    reads the spun output alone, with clean text of the same kind as
    reference (test-split documents not used for the recovery figures), and
    its entries are scored against the spinner's ground truth:

    * coverage (recall): the share of the spinner's edits that a learned
      entry reproduces: its form occurs in the edit's spun words and putting
      its original there gives the edit's original words ("stated" -> "said"
      covers the edit "he stated" -> "he said");
    * precision: the share of learned entries that reproduce some edit of
      the spinner, weighted by how often the entry's form occurs in the
      learning corpus (how often a user applying the table meets it); the
      unweighted share is given too;
    * recovery on held-out spun text (the test split, spun by the same hidden
      spinner): restoration with the withheld lexicon, then with the learned
      table added; the lift is the difference.

``clean``
    The same documents unspun: how many entries the learner proposes from
    clean text alone, per 1,000 documents.

``tortured``
    Half of a tortured-phrase list (``--tortured FILE``, e.g. the
    paper-screening snapshot) is held out from every lexicon; each held-out
    phrase is put into :data:`TEMPLATES` sentences.  The learner reads one set
    of such "papers"; detection with the learned table is scored on a second
    set built from other templates: span precision / recall against the
    planted phrases and how often the suggestion equals the expected phrase.

The salt decides the split: development used ``dev``; the README reports
``test`` (the default), which nothing was tuned on.
"""
from __future__ import annotations

import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from .config import Config
from .lexicon import PHRASES_PATH, TABLE_FORMAT, Lexicon, Row, read_table, rows_to_entries
from .text import norm, sentences, word_count

#: Share of replaceable places the hidden spinner rewrites.
RATE = 0.5
SEED = 11

#: Sentences for planted tortured phrases: scientific prose with a noun-phrase slot.
TEMPLATES = (
    "In this paper, we propose a novel approach based on {} to improve the accuracy of the model.",
    "Recent studies have shown that {} plays an important role in modern systems.",
    "The results demonstrate that {} can significantly reduce the computational cost.",
    "We evaluate the performance of {} on three benchmark datasets.",
    "A comprehensive review of {} is presented in the second section.",
    "The proposed framework combines {} with a lightweight optimization strategy.",
    "Experimental results indicate that {} outperforms the baseline methods.",
    "Several researchers have investigated {} in the context of industrial applications.",
    "This study examines the impact of {} on the overall efficiency of the process.",
    "Our analysis reveals that {} is sensitive to the choice of parameters.",
    "The main contribution of this work is a new method for {} in large networks.",
    "Finally, we discuss the limitations of {} and outline directions for future research.",
)

#: Templates used for learning; the others are kept for scoring detection.
LEARN_TEMPLATES = 8


def _hash(salt: str, s: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}|{norm(s)}".encode()).digest()[:8], "big")


def hidden_split(salt: str = "test") -> tuple[list[Row], list[Row]]:
    """(hidden rows, visible rows) of the project's phrase table, by original."""
    hidden, visible = [], []
    for r in read_table(PHRASES_PATH):
        (hidden if _hash(salt, r.original) % 2 == 0 else visible).append(r)
    return hidden, visible


def write_table(rows: Iterable[Row], path: Path, source: str) -> Path:
    lines = [f"# format: {TABLE_FORMAT}", f"# source: {source}", "spun\toriginal\tpos\tsource"]
    lines += [f"{r.spun}\t{r.original}\t{r.pos}\t{r.source}" for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def learning_documents(part: str = "learn") -> list[tuple[str, str]]:
    """(id, text): the non-test documents cut in two (``learn``) or the test
    documents whole (``test``)."""
    from . import corpus

    docs = corpus.documents()
    if part == "test":
        return [(d.id, d.text) for d in corpus.split(docs, "test")]
    out = []
    for d in docs:
        if corpus.split_of(d.id) == "test":
            continue
        cuts = [e for _, e in sentences(d.text)]
        mid = next((e for e in cuts if word_count(d.text[:e]) >= word_count(d.text) / 2), None)
        if mid is None or word_count(d.text) < 80 or mid >= len(d.text.rstrip()):
            out.append((d.id, d.text))
            continue
        out.append((d.id + "/a", d.text[:mid].strip()))
        out.append((d.id + "/b", d.text[mid:].strip()))
    return out


# --------------------------------------------------------------------------
# Scoring learned entries against the spinner's edits


def _words(s: str) -> list[str]:
    return norm(s).split(" ")


def _reproduces(spun: str, original: str, e_spun: str, e_orig: str) -> bool:
    """The entry makes the edit: putting ``original`` for ``spun`` somewhere
    in the edit's spun words gives the edit's original words, or the entry is
    the edit with the same words around it on both sides."""
    S, O, s = _words(e_spun), _words(e_orig), _words(spun)
    o = _words(original)
    for i in range(len(S) - len(s) + 1):
        if S[i : i + len(s)] == s and S[:i] + o + S[i + len(s) :] == O:
            return True
    # Or the entry is the edit with unchanged words around it ("the
    # predominant" -> "the main" for the edit "predominant" -> "main").
    for i in range(len(s) - len(S) + 1):
        if s[i : i + len(S)] == S and s[:i] + O + s[i + len(S) :] == o:
            return True
    return False


def score_entries(entries: list[Any], edits: dict[tuple[str, str], int]) -> dict[str, Any]:
    """Coverage and precision of learned entries against counted spinner edits."""
    by_word: dict[str, list[Any]] = {}
    for e in entries:
        for w in _words(e.spun):
            by_word.setdefault(w, []).append(e)
    correct: set[tuple[str, str]] = set()
    covered = 0
    total = sum(edits.values())
    for (es, eo), n in edits.items():
        hit = False
        for w in set(_words(es)):
            for e in by_word.get(w, ()):
                if _reproduces(e.spun, e.original, es, eo):
                    correct.add((e.spun, e.original))
                    hit = True
        if hit:
            covered += n
    w_all = sum(e.count for e in entries)
    w_ok = sum(e.count for e in entries if (e.spun, e.original) in correct)
    return {
        "entries": len(entries),
        "correct_entries": len(correct),
        "spinner_edits": total,
        "covered_edits": covered,
        "coverage": covered / total if total else None,
        "precision_weighted": w_ok / w_all if w_all else None,
        "precision_entries": len(correct) / len(entries) if entries else None,
        "wrong": [f"{e.spun} -> {e.original}" for e in entries if (e.spun, e.original) not in correct][:40],
        # Every entry, most used first: spun, original, count, right.
        "learned": sorted(
            ([e.spun, e.original, e.count, (e.spun, e.original) in correct] for e in entries),
            key=lambda r: (-r[2], r[0]),
        ),
    }


def _recovery(texts: list[tuple[str, str]], config: Config) -> dict[str, Any]:
    from .metrics import word_edits
    from .restore import restore_many

    e_spun = e_rest = n = 0
    for (spun, orig), r in zip(texts, restore_many([s for s, _ in texts], config)):
        e_spun += word_edits(spun, orig)[0]
        e_rest += word_edits(r.text, orig)[0]
        n += 1
    return {"docs": n, "recovery": 1 - e_rest / max(e_spun, 1), "errors_spun": e_spun, "errors_restored": e_rest}


# --------------------------------------------------------------------------
# Tortured phrases


def _tortured_docs(pairs: list[tuple[str, str]], templates: tuple[str, ...], rng: random.Random, per_doc: int = 4):
    """Documents of ``per_doc`` sentences, one planted phrase each; with the
    planted spans (offsets, spun, expected)."""
    docs = []
    order = [(t, p) for p in pairs for t in templates]
    rng.shuffle(order)
    for k in range(0, len(order), per_doc):
        text, planted = "", []
        for tpl, (sp, ex) in order[k : k + per_doc]:
            a = len(text) + tpl.index("{}")
            text += tpl.format(sp) + " "
            planted.append((a, a + len(sp), sp, ex))
        docs.append((text.strip(), planted))
    return docs


def run_tortured(path: str, options, salt: str, limit: int, log) -> dict[str, Any]:
    from .detect import detect_many
    from .learn import learn
    from .lexicon import read_tortured

    rows = read_tortured(path)
    held = [r for r in rows if _hash(salt, r.spun) % 2 == 0 and len(r.spun.split()) <= options.max_n]
    held = [r for r in held if " " in r.spun][:limit]
    with tempfile.TemporaryDirectory(prefix="unspin-bench-") as tmp:
        hold = write_table(held, Path(tmp) / "held-out.tsv", f"held-out half of {Path(path).name}")
        engine = options.engine.with_(withhold=options.engine.withhold + (str(hold),))
        pairs = [(r.spun, r.original) for r in held]
        rng = random.Random(SEED)
        learn_docs = _tortured_docs(pairs, TEMPLATES[:LEARN_TEMPLATES], rng)
        test_docs = _tortured_docs(pairs, TEMPLATES[LEARN_TEMPLATES:], rng)
        log(f"tortured: {len(held)} held-out phrases, {len(learn_docs)} learning documents")
        opts = _replace(options, engine=engine)
        res = learn([t for t, _ in learn_docs], options=opts)
        table = Path(tmp) / "learned.tsv"
        from .learn import format_table

        table.write_text(format_table(res), encoding="utf-8")
        cfg = engine.with_(tables=engine.tables + (str(table),))
        tp = fp = fn = exact = 0
        for (text, planted), det in zip(test_docs, detect_many([t for t, _ in test_docs], cfg)):
            spans = [(s.start, s.end, s.suggestion) for s in det.spans]
            for a, b, sp, ex in planted:
                hit = [s for s in spans if s[0] < b and a < s[1]]
                if hit:
                    tp += 1
                    exact += any(norm(s[2]) == norm(ex) for s in hit)
                else:
                    fn += 1
            fp += sum(1 for s in spans if not any(s[0] < b and a < s[1] for a, b, _, _ in planted))
        return {
            "list": Path(path).name,
            "held_out_phrases": len(held),
            "learning_documents": len(learn_docs),
            "test_documents": len(test_docs),
            "learned_entries": len(res.entries),
            "span_precision": tp / (tp + fp) if tp + fp else None,
            "span_recall": tp / (tp + fn) if tp + fn else None,
            "suggestion_exact": exact / tp if tp else None,
            "anchor": "masked-LM method (2024): recall 0.87 at precision 0.61",
        }


def _replace(options, **kw):
    from dataclasses import replace

    return replace(options, **kw)


# --------------------------------------------------------------------------
# The run


def run_learn_bench(
    options,
    salt: str = "test",
    limit_test: int | None = 100,
    tortured: str | None = None,
    tortured_limit: int = 200,
    out_path: str | Path | None = None,
    progress: bool = True,
    learned_out: str | Path | None = None,
) -> dict[str, Any]:
    from . import __version__
    from .bench import _machine, _peak_rss_mb
    from .learn import format_table, learn
    from .spin import spin

    def log(msg: str) -> None:
        if progress:
            print(f"bench learn: {msg}", file=sys.stderr, flush=True)

    t0 = time.monotonic()
    hidden, visible = hidden_split(salt)
    spinner = Lexicon(rows_to_entries(hidden, "phrases"))
    result: dict[str, Any] = {
        "unspin_version": __version__,
        "mode": "fast" if options.fast else "accurate",
        "salt": salt,
        "spinner": {"rows": len(hidden), "style": "word", "rate": RATE, "seed": SEED},
        "options": {k: v for k, v in options.__dict__.items() if k != "engine"},
    }
    with tempfile.TemporaryDirectory(prefix="unspin-bench-") as tmp:
        hold = write_table(hidden, Path(tmp) / "hidden.tsv", f"hidden half (salt {salt}) of the phrase table")
        engine = options.engine.with_(withhold=(str(hold),))
        opts = _replace(options, engine=engine)

        docs = learning_documents("learn")
        spun, edits = [], {}
        for _, text in docs:
            r = spin(text, seed=SEED, style="word", rate=RATE, lexicon=spinner)
            spun.append(r.text)
            for e in r.edits:
                k = (norm(e["spun"]), norm(e["original"]))
                edits[k] = edits.get(k, 0) + 1
        log(f"{len(docs)} learning documents, {sum(edits.values())} spinner edits")

        test = learning_documents("test")
        recovery_docs = test[:limit_test] if limit_test else test[: len(test) // 3]
        reference = [t for _, t in test[len(recovery_docs) :]]
        t = time.monotonic()
        res = learn(spun, reference, options=opts, progress=(lambda m: log(m)) if progress else None)
        learn_seconds = time.monotonic() - t
        table = Path(tmp) / "learned.tsv"
        table.write_text(format_table(res, "unspin bench learn"), encoding="utf-8")
        if learned_out:
            Path(learned_out).write_text(table.read_text(encoding="utf-8"), encoding="utf-8")
        scored = score_entries(res.entries, edits)
        result["hidden"] = {
            "documents": res.documents,
            "reference_documents": res.reference_documents,
            "words": res.words,
            "learn_seconds": round(learn_seconds, 1),
            "words_per_second": round(res.words / learn_seconds) if learn_seconds else None,
            # The process's peak so far: counting, the spinner and learning.
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            **scored,
        }
        log(f"coverage {scored['coverage']:.3f}, precision {scored['precision_weighted']}")

        held_out = [
            (spin(t, seed=SEED + 1, style="word", rate=RATE, lexicon=spinner).text, t) for _, t in recovery_docs
        ]
        log(f"recovery on {len(held_out)} held-out spun documents, before and after")
        before = _recovery(held_out, engine)
        after = _recovery(held_out, engine.with_(tables=engine.tables + (str(table),)))
        result["recovery"] = {
            "before": before["recovery"],
            "after": after["recovery"],
            "lift": after["recovery"] - before["recovery"],
            "docs": before["docs"],
        }

        log("clean control: the same documents unspun")
        clean = learn([t for _, t in docs], reference, options=opts)
        result["clean"] = {
            "documents": clean.documents,
            "entries": len(clean.entries),
            "entries_per_1000_docs": 1000 * len(clean.entries) / max(clean.documents, 1),
            "examples": [f"{e.spun} -> {e.original}" for e in clean.entries[:20]],
        }
        if tortured:
            result["tortured"] = run_tortured(tortured, opts, salt, tortured_limit, log)
    result["seconds"] = round(time.monotonic() - t0, 1)
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    result["machine"] = _machine()
    if not options.fast:
        from .lm import get_scorer

        result["lm_dtype"] = get_scorer().dtype_name
    if out_path:
        Path(out_path).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(format_learn_table(result))
    return result


def _f(x: Any) -> str:
    return "-" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))


def format_learn_table(r: dict[str, Any]) -> str:
    from .bench import _fmt

    h, rec, c = r["hidden"], r["recovery"], r["clean"]
    lines = [
        f"unspin bench learn ({r['mode']}, split salt {r['salt']!r})",
        f"  hidden spinner: {r['spinner']['rows']} phrase-table rows, rate {r['spinner']['rate']}",
        f"  learning corpus: {h['documents']:,} documents, {h['words']:,} words, {h['spinner_edits']:,} spinner edits",
        f"  learned entries: {h['entries']} ({h['correct_entries']} correct)",
        f"  coverage of the spinner's edits: {_f(h['coverage'])}",
        f"  precision (weighted by use): {_f(h['precision_weighted'])}   (by entry: {_f(h['precision_entries'])})",
        f"  learning time: {h['learn_seconds']} s ({_f(h['words_per_second'])} words/s), "
        f"peak memory {_fmt(h.get('peak_rss_mb'), 0)} MB",
        f"  recovery on {rec['docs']} held-out documents: {_f(rec['before'])} -> {_f(rec['after'])} "
        f"(lift {_f(rec['lift'])})",
        f"  clean input: {c['entries']} entries from {c['documents']:,} documents "
        f"({_f(c['entries_per_1000_docs'])} per 1,000)",
    ]
    t = r.get("tortured")
    if t:
        lines.append(
            f"  tortured phrases ({t['held_out_phrases']} held out of {t['list']}): span precision "
            f"{_f(t['span_precision'])}, recall {_f(t['span_recall'])}, suggestion exact {_f(t['suggestion_exact'])}"
        )
    if "seconds" in r:
        lines.append(f"  whole run: {r['seconds']} s, peak memory {_fmt(r.get('peak_rss_mb'), 0)} MB")
    return "\n".join(lines)
