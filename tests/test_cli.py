"""End-to-end tests of the ``unspin`` command, run as a subprocess.

Most runs use ``--fast`` (no language model) so the file stays quick; the
runs that need the model are marked ``lm``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = ROOT / "examples" / "seed_spun_article.txt"
SPUN = "Putin is anticipated to go to Kazakhstan for an official go to. The economic system at all times comes first."
CLEAN = "The committee met on Tuesday and approved the budget for next year."
PROSE = (
    "Russian President Vladimir Putin is expected to visit Kazakhstan on November 9 for an official "
    "visit. The two leaders planned to hold talks on bilateral issues and their strategic partnership. "
    "The economy always comes first; politics come later, he said. As Kazakhstan continues to walk the "
    "tightrope between Russia and the West, visits such as this one will be watched carefully.\n"
)


def unspin(*args: str, input: bytes | str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m unspin ARGS`` and return the finished process (bytes out)."""
    if isinstance(input, str):
        input = input.encode("utf-8")
    env = dict(os.environ, PYTHONIOENCODING="", LC_ALL="C.UTF-8")
    return subprocess.run(
        [sys.executable, "-m", "unspin", *args],
        input=input if input is not None else b"",
        capture_output=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=600,
    )


def out(p: subprocess.CompletedProcess) -> str:
    return p.stdout.decode("utf-8")


def err(p: subprocess.CompletedProcess) -> str:
    return p.stderr.decode("utf-8")


def assert_one_line_error(p: subprocess.CompletedProcess, status: int) -> str:
    """Exit ``status``, nothing on stdout, exactly one ``unspin: error:`` line on stderr."""
    e = err(p)
    assert p.returncode == status, (p.returncode, e)
    assert "Traceback" not in e
    assert e.endswith("\n") and e.count("\n") == 1, repr(e)
    assert e.startswith("unspin: error: "), e
    assert p.stdout == b""
    return e


# --------------------------------------------------------------------------
# Help, version, usage errors


def test_help_lists_every_command():
    p = unspin("--help")
    assert p.returncode == 0, err(p)
    for command in ("detect", "restore", "apply", "spin", "scan", "bench", "version"):
        assert command in out(p)


@pytest.mark.parametrize("command", ["detect", "restore", "apply", "spin", "scan", "bench", "version"])
def test_each_command_has_help(command):
    p = unspin(command, "--help")
    assert p.returncode == 0, err(p)
    assert f"unspin {command}" in out(p)
    assert err(p) == ""


def test_version_flag_and_command_agree():
    a, b = unspin("--version"), unspin("version")
    assert a.returncode == b.returncode == 0
    assert out(a).startswith("unspin ")
    assert out(a) == out(b)
    assert out(a).split()[1][0].isdigit()


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("unspin")
    if not script.exists():
        pytest.skip("the console script is not installed (pip install -e .)")
    p = subprocess.run([str(script), "--version"], capture_output=True)
    assert p.returncode == 0
    assert p.stdout.decode().startswith("unspin ")


@pytest.mark.parametrize(
    "args",
    [
        (),  # no command
        ("frobnicate",),
        ("restore", "--no-such-option"),
        ("detect", "--doc-threshold", "2"),
        ("scan", "--batch-size", "0"),
        ("spin", "--style", "sentence"),
        ("scan", "--strict", "--keep-going"),
        ("scan", "--jobs", "0"),
    ],
)
def test_usage_error_is_one_line_exit_2(args):
    p = unspin(*args)
    e = err(p)
    assert p.returncode == 2, e
    assert e.count("\n") == 1 and e.startswith("unspin"), repr(e)
    assert "error" in e
    assert "Traceback" not in e


def test_output_file_same_as_input_is_refused(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text(SPUN)
    p = unspin("restore", "--fast", str(f), "-o", str(f))
    assert_one_line_error(p, 2)
    assert f.read_text() == SPUN


# --------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("command", ["restore", "detect", "spin", "scan"])
def test_missing_file_is_one_line_exit_1(tmp_path, command):
    missing = tmp_path / "nope.txt"
    e = assert_one_line_error(unspin(command, "--fast" if command != "spin" else "--seed=1", str(missing)), 1)
    assert "nope.txt" in e


def test_directory_as_input_is_one_line_exit_1(tmp_path):
    assert_one_line_error(unspin("restore", "--fast", str(tmp_path)), 1)


def test_binary_input_is_one_line_exit_1(tmp_path):
    f = tmp_path / "image.png"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)))
    assert_one_line_error(unspin("restore", "--fast", str(f)), 1)
    assert_one_line_error(unspin("restore", "--fast", input=f.read_bytes()), 1)


def test_invalid_utf8_is_one_line_exit_1(tmp_path):
    data = "Caf\u00e9 society".encode("latin-1")  # \xe9 alone is not UTF-8
    f = tmp_path / "latin1.txt"
    f.write_bytes(data)
    assert_one_line_error(unspin("detect", "--fast", str(f)), 1)
    assert_one_line_error(unspin("restore", "--fast", input=data), 1)


def test_missing_table_is_one_line_exit_1(tmp_path):
    p = unspin("restore", "--fast", "--table", str(tmp_path / "no-table.tsv"), input=SPUN)
    assert_one_line_error(p, 1)


@pytest.mark.parametrize("data", [b"", b"\n", b"  \n\t\n"])
def test_empty_input_is_a_clean_no_op(data):
    p = unspin("restore", "--fast", input=data)
    assert p.returncode == 0, err(p)
    assert p.stdout == data
    assert err(p) == ""


def test_empty_input_for_spin_and_scan(tmp_path):
    p = unspin("spin", "--seed", "1", input=b"")
    assert (p.returncode, p.stdout, err(p)) == (0, b"", "")
    f = tmp_path / "empty.jsonl"
    f.write_bytes(b"")
    p = unspin("scan", "--fast", str(f))
    assert (p.returncode, p.stdout, err(p)) == (0, b"", "")


def test_broken_pipe_is_quiet(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("All quiet on the western front. " * 100_000)  # 3 MB, far over a pipe buffer
    plan = tmp_path / "plan.json"
    plan.write_text("[]")
    proc = subprocess.Popen(
        [sys.executable, "-m", "unspin", "apply", str(plan), str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout.read(10) == b"All quiet "
    proc.stdout.close()  # the reader goes away, like `| head -c 10`
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert proc.returncode == 0


# --------------------------------------------------------------------------
# detect and restore (fast mode)


def library_restore(text: str) -> str:
    """What the library gives for ``text`` in fast mode: the CLI must print exactly this."""
    from unspin.config import Config
    from unspin.restore import restore_text

    return restore_text(text, Config(fast=True))


def test_restore_is_a_filter():
    p = unspin("restore", "--fast", input=SPUN + "\n")
    assert p.returncode == 0, err(p)
    assert out(p) == library_restore(SPUN + "\n")
    assert "economy" in out(p) and out(p).endswith("first.\n")
    assert err(p) == ""


def test_restore_leaves_clean_text_alone(tmp_path):
    f = tmp_path / "clean.txt"
    f.write_text(CLEAN + "\n")
    p = unspin("restore", "--fast", str(f))
    assert p.returncode == 0, err(p)
    assert out(p) == CLEAN + "\n"


def test_restore_writes_output_file(tmp_path):
    o = tmp_path / "out.txt"
    text = "[ad_1]\nThe economic system at all times comes first."
    p = unspin("restore", "--fast", "-o", str(o), input=text)
    assert p.returncode == 0, err(p)
    assert p.stdout == b""
    assert o.read_text(encoding="utf-8") == library_restore(text)
    assert "[ad_1]" not in library_restore(text)


def test_restore_explain_lists_edits_then_text():
    given = "[ad_1]\nThe economic system at all times comes first."
    p = unspin("restore", "--fast", "--explain", input=given)
    assert p.returncode == 0, err(p)
    report, sep, text = out(p).partition("--- restored text ---\n")
    assert sep
    assert text == library_restore(given) + "\n"  # the report ends with a line break
    assert "'economic system' -> 'economy'" in report
    assert "'[ad_1]" in report and "boilerplate" in report
    assert "2:5" in report  # line:column of "economic system"
    assert report.splitlines()[0].startswith(("spun", "not spun"))


def test_restore_explain_says_why_wording_is_kept():
    p = unspin("restore", "--fast", "--explain", "--restore-threshold", "1", input=SPUN)
    assert p.returncode == 0, err(p)
    head = out(p).split("--- restored text ---")[0]
    assert head.startswith("spun: probability") and "; 0 edits" in head
    assert "wording kept" in head and "--restore-threshold 1" in head


def test_restore_json_and_apply_replay(tmp_path):
    article = tmp_path / "article.txt"
    article.write_text("[ad_1]\n" + SPUN + "\nSource link", encoding="utf-8")
    p = unspin("restore", "--fast", "--json", str(article))
    assert p.returncode == 0, err(p)
    result = json.loads(out(p))
    assert set(result) == {"restored", "edits", "detection"}
    assert result["edits"], "the fast engine should edit this text"
    plan = tmp_path / "plan.json"
    plan.write_text(out(p), encoding="utf-8")

    # The whole Restoration JSON, and the bare list of edits, both replay.
    p = unspin("apply", str(plan), str(article))
    assert p.returncode == 0, err(p)
    assert out(p) == result["restored"]
    edits_only = tmp_path / "edits.json"
    edits_only.write_text(json.dumps(result["edits"]), encoding="utf-8")
    p = unspin("apply", str(edits_only), input=article.read_bytes())
    assert p.returncode == 0, err(p)
    assert out(p) == result["restored"]

    # The plan does not fit another text: one line, exit 1.
    other = tmp_path / "other.txt"
    other.write_text(CLEAN)
    assert_one_line_error(unspin("apply", str(plan), str(other)), 1)


@pytest.mark.parametrize("content", ["{not json", '{"no_edits": []}', '[{"start": "x"}]', "42"])
def test_apply_rejects_bad_plans(tmp_path, content):
    plan = tmp_path / "plan.json"
    plan.write_text(content)
    assert_one_line_error(unspin("apply", str(plan), input=CLEAN), 1)


def test_apply_cannot_read_both_from_stdin():
    assert_one_line_error(unspin("apply", "-", "-", input=CLEAN), 2)


def test_detect_report_and_json():
    p = unspin("detect", "--fast", input=SPUN)
    assert p.returncode == 0, err(p)
    lines = out(p).splitlines()
    assert lines[0].startswith(("spun: probability", "not spun: probability"))
    span_lines = [ln for ln in lines[1:] if "->" in ln]
    assert any("'economic system' -> 'economy'" in ln and "(confidence " in ln for ln in span_lines)
    s, e = next(ln for ln in span_lines if "economic system" in ln).split()[0].split("-")
    assert SPUN[int(s) : int(e)] == "economic system"

    p = unspin("detect", "--fast", "--json", input=SPUN)
    d = json.loads(out(p))
    assert {"spun_probability", "is_spun", "spans", "words", "language"} <= set(d)
    for span in d["spans"]:
        assert SPUN[span["start"] : span["end"]] == span["text"]


def test_detect_says_when_text_is_not_english():
    german = (
        "Der russische Präsident wird am Donnerstag zu einem offiziellen Besuch in Kasachstan "
        "erwartet. Die beiden Staatschefs wollen über die bilateralen Beziehungen sprechen."
    )
    p = unspin("detect", "--fast", input=german)
    assert p.returncode == 0, err(p)
    assert out(p).count("\n") == 1
    assert "not English" in out(p)
    p = unspin("restore", "--fast", input=german)
    assert out(p) == german


# --------------------------------------------------------------------------
# scan

GOOD_1 = {"id": "a", "text": SPUN, "url": "http://example.com/a", "n": 1}
GOOD_2 = {"id": "g", "text": "The economic system at all times comes first."}


def _scan_input() -> bytes:
    lines = [
        json.dumps(GOOD_1).encode(),  # 1 good
        b'{"id": "b", "text": "unterminated',  # 2 bad JSON
        json.dumps({"id": "c", "body": "no text key"}).encode(),  # 3 missing text key
        json.dumps({"id": "d", "text": 42}).encode(),  # 4 text is not a string
        b'{"id": "e", "text": "caf\xe9"}',  # 5 invalid UTF-8
        b"",  # 6 blank: skipped
        json.dumps(GOOD_2, ensure_ascii=False).encode(),  # 7 good
        b"[1, 2, 3]",  # 8 JSON, but not an object
        json.dumps({"id": "i", "text": ""}).encode(),  # 9 empty text: fine, nothing to do
    ]
    return b"\n".join(lines) + b"\n"


def _check_scan_output(text: str) -> list[dict]:
    rows = [json.loads(ln) for ln in text.splitlines()]
    assert len(rows) == 8  # every non-blank line, once
    good1, bad_json, no_text, not_str, bad_utf8, good2, not_obj, empty = rows

    for row, original in ((good1, GOOD_1), (good2, GOOD_2)):
        assert "error" not in row, row
        for k, v in original.items():
            assert row[k] == v  # original fields kept
        assert isinstance(row["spun_probability"], float) and 0 <= row["spun_probability"] <= 1
        assert isinstance(row["is_spun"], bool)
        assert isinstance(row["restored"], str)
        assert isinstance(row["spans"], list)
        for s in row["spans"]:
            assert original["text"][s["start"] : s["end"]] == s["text"]
    assert "economy" in good2["restored"]

    assert set(bad_json) == {"line", "error"} and bad_json["line"] == 2
    assert no_text["id"] == "c" and no_text["body"] == "no text key" and "text" in no_text["error"]
    assert not_str["id"] == "d" and not_str["text"] == 42 and not_str["error"]
    assert set(bad_utf8) == {"line", "error"} and bad_utf8["line"] == 5
    assert set(not_obj) == {"line", "error"} and not_obj["line"] == 8
    assert empty["id"] == "i" and "error" not in empty and empty["restored"] == ""
    for row in (no_text, not_str):
        assert "restored" not in row
    return rows


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_keeps_every_record_in_order(tmp_path, jobs):
    f = tmp_path / "in.jsonl"
    f.write_bytes(_scan_input())
    p = unspin("scan", "--fast", "--jobs", jobs, str(f))
    assert p.returncode == 0, err(p)
    assert err(p) == ""  # stderr is not a terminal: no progress, no summary
    _check_scan_output(out(p))


def test_scan_from_stdin_to_file_with_summary(tmp_path):
    o = tmp_path / "out.jsonl"
    p = unspin("scan", "--fast", "-o", str(o), "--summary", input=_scan_input())
    assert p.returncode == 0, err(p)
    assert p.stdout == b""
    _check_scan_output(o.read_text(encoding="utf-8"))
    summary = err(p)
    assert summary.count("\n") == 1
    assert "8 records" in summary and "5 errors" in summary


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_many_records_cross_batches(tmp_path, jobs):
    # More records than one batch (two workers' batches at -j 2), with bad
    # ones between: order is kept.
    lines = []
    for i in range(70):
        if i % 7 == 3:
            lines.append(b"{oops")
        else:
            lines.append(json.dumps({"id": i, "text": f"Record {i}. " + GOOD_2["text"]}).encode())
    f = tmp_path / "in.jsonl"
    f.write_bytes(b"\n".join(lines))  # no final newline
    p = unspin("scan", "--fast", "-j", jobs, "--id-key", "id", str(f))
    assert p.returncode == 0, err(p)
    rows = [json.loads(ln) for ln in out(p).splitlines()]
    assert len(rows) == 70
    for i, row in enumerate(rows):
        if i % 7 == 3:
            assert row == {"line": i + 1, "error": row["error"]}
        else:
            assert row["id"] == i and row["restored"].startswith(f"Record {i}. ")


def test_scan_text_key(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"doc": 1, "content": GOOD_2["text"]}) + "\n")
    p = unspin("scan", "--fast", "--text-key", "content", str(f))
    assert p.returncode == 0, err(p)
    row = json.loads(out(p))
    assert row["content"] == GOOD_2["text"] and "economy" in row["restored"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_scan_strict_stops_at_first_bad_record(tmp_path, jobs):
    f = tmp_path / "in.jsonl"
    f.write_bytes(_scan_input())
    p = unspin("scan", "--fast", "--strict", "-j", jobs, str(f))
    assert p.returncode == 1
    e = err(p)
    assert e.startswith("unspin: error: ") and "in.jsonl: line 2: " in e and e.count("\n") == 1, e
    rows = [json.loads(ln) for ln in out(p).splitlines()]
    assert [r["id"] for r in rows] == ["a"]  # what came before it is written


def test_scan_strict_names_the_record(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps(GOOD_2) + "\n" + json.dumps({"id": "x7", "body": "no text"}) + "\n")
    p = unspin("scan", "--fast", "--strict", str(f))
    assert p.returncode == 1
    assert err(p) == f"unspin: error: {f}: line 2 (id 'x7'): no 'text' field\n"
    assert len(out(p).splitlines()) == 1


def test_scan_engine_failure_costs_only_that_record(tmp_path, flaky_engine):
    # In process, with an engine that fails on one document: the batch is
    # redone one by one and only that record carries an error.
    from unspin import cli

    f, o = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    texts = [f"Doc {i}. The economic system at all times comes first." for i in range(5)]
    texts[2] = "BOOM " + texts[2]
    f.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)))
    assert cli.main(["scan", "--fast", str(f), "-o", str(o)]) == 0
    rows = [json.loads(ln) for ln in o.read_text().splitlines()]
    assert [r["id"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[2]["error"] == "RuntimeError: engine exploded" and "restored" not in rows[2]
    assert all("error" not in r and "economy" in r["restored"] for i, r in enumerate(rows) if i != 2)


def test_scan_exit_3_when_every_record_fails(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(json.dumps({"body": GOOD_2["text"]}) for _ in range(3)) + "\n")
    p = unspin("scan", "--fast", str(f))
    assert p.returncode == 3
    assert len(out(p).splitlines()) == 3
    assert "--text-key" in err(p) and "Traceback" not in err(p)


# --------------------------------------------------------------------------
# spin


def test_spin_is_deterministic_per_seed(tmp_path):
    f = tmp_path / "clean.txt"
    f.write_text(PROSE, encoding="utf-8")
    a = unspin("spin", "--seed", "7", str(f))
    b = unspin("spin", "--seed", "7", str(f))
    c = unspin("spin", "--seed", "8", str(f))
    assert a.returncode == b.returncode == c.returncode == 0, err(a)
    assert a.stdout == b.stdout
    assert a.stdout != f.read_bytes()
    assert a.stdout != c.stdout


def test_spin_jsonl_output_carries_ground_truth():
    p = unspin("spin", "--seed", "3", "--style", "phrase", "--rate", "0.8", "--jsonl", input=CLEAN)
    assert p.returncode == 0, err(p)
    lines = out(p).splitlines()
    assert len(lines) == 1
    d = json.loads(lines[0])
    assert {"text", "spun", "edits", "seed", "style", "rate"} <= set(d)
    assert d["text"] == CLEAN and d["seed"] == 3 and d["style"] == "phrase" and d["rate"] == 0.8


def test_spin_jsonl_input_one_record_per_record(tmp_path):
    f = tmp_path / "docs.jsonl"
    f.write_bytes(
        json.dumps({"id": 1, "body": CLEAN}).encode()
        + b"\n{broken\n\n"
        + json.dumps({"id": 3, "body": GOOD_2["text"]}).encode()
        + b"\n"
    )
    args = ("spin", "--seed", "5", "--text-key", "body", str(f))
    p = unspin(*args)
    assert p.returncode == 0, err(p)
    rows = [json.loads(ln) for ln in out(p).splitlines()]
    assert len(rows) == 3
    assert rows[0]["id"] == 1 and rows[0]["body"] == CLEAN and "spun" in rows[0] and "edits" in rows[0]
    assert rows[1]["line"] == 2 and rows[1]["error"]
    assert rows[2]["id"] == 3 and rows[2]["seed"] == 5
    assert unspin(*args).stdout == p.stdout


# --------------------------------------------------------------------------
# bench


def test_bench_fast_small(tmp_path):
    o = tmp_path / "figures" / "bench.json"
    p = unspin("bench", "--fast", "--limit", "2", "--quiet", "-o", str(o), "--real-dev", str(tmp_path))
    assert p.returncode == 0, err(p)
    assert "benchmark" in out(p).splitlines()[0]  # the table, on stdout
    assert "Traceback" not in err(p)
    figures = json.loads(o.read_text(encoding="utf-8"))
    assert figures["mode"] == "fast" and "synthetic" in figures and "throughput" in figures
    # The one-process figure is the median of three timed passes over the same texts.
    tp = figures["throughput"]
    assert len(tp["runs"]) == 3 and tp["words_per_second"] == sorted(tp["runs"])[1]
    assert tp["texts"] == 6 and tp["words"] > 0
    assert "median of 3 timed passes" in out(p)
    short = figures["short"]["buckets"]
    assert figures["short"]["texts"] == 2 * short["all"]["clean"] > 0
    assert "short texts" in out(p)
    # Two documents make no group of LONG_JOIN: the section is there, empty.
    assert figures["long"]["texts"] == 0 and "long texts (3 joined)" in out(p)


def test_bench_real_dev_must_be_a_directory(tmp_path):
    assert_one_line_error(unspin("bench", "--fast", "--real-dev", str(tmp_path / "nope")), 1)


# --------------------------------------------------------------------------
# With the language model


@pytest.mark.lm
def test_restore_explain_seed_article():
    p = unspin("restore", "--explain", str(SEED_ARTICLE))
    assert p.returncode == 0, err(p)
    report, sep, restored = out(p).partition("--- restored text ---\n")
    assert sep, out(p)
    assert report.startswith("spun: probability")
    assert "'[ad_1]" in report  # the removal is explained...
    assert "[ad_1]" not in restored and "[ad_2]" not in restored  # ...and done
    assert "Source link" not in restored
    assert "visit" in restored
    assert "LM gain" in report


@pytest.mark.lm
def test_detect_seed_article_with_model():
    p = unspin("detect", str(SEED_ARTICLE))
    assert p.returncode == 0, err(p)
    assert out(p).startswith("spun: probability")
    assert "-> 'visit'" in out(p)


@pytest.mark.lm
def test_scan_with_model_matches_restore(tmp_path):
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"id": "seed", "text": text}) + "\n" + json.dumps({"id": "clean", "text": CLEAN}) + "\n")
    p = unspin("scan", str(f))
    assert p.returncode == 0, err(p)
    seed, clean = [json.loads(ln) for ln in out(p).splitlines()]
    assert seed["is_spun"] and not clean["is_spun"]
    assert clean["restored"] == CLEAN
    # A document restores the same alone as in a batch.
    alone = unspin("restore", str(SEED_ARTICLE))
    assert seed["restored"] == out(alone)
