"""Data-driven restoration cases from tests/cases/restore.json."""
import json
from pathlib import Path

import pytest

from unspin import Config, apply_plan, restore_and_explain

CASES = json.loads((Path(__file__).parent / "cases" / "restore.json").read_text(encoding="utf-8"))["cases"]


def _params():
    for c in CASES:
        marks = [pytest.mark.lm] if c.get("mode", "lm") == "lm" else []
        if c["kind"] == "known-failure":
            marks.append(pytest.mark.xfail(strict=True, reason="known failure: see tests/cases/restore.json"))
        yield pytest.param(c, id=f'{c["kind"]}:{c["name"]}', marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_case(case):
    cfg = Config(fast=case.get("mode") == "fast")
    r = restore_and_explain(case["input"], cfg)
    assert apply_plan(case["input"], r.edits) == r.text
    if "expected" in case:
        assert r.text == case["expected"], [e.to_dict() for e in r.edits]
    for s in case.get("contains", []):
        assert s in r.text, (s, r.text)
    for s in case.get("absent", []):
        assert s not in r.text, (s, r.text)
    if "spun" in case:
        assert r.detection.is_spun == case["spun"], r.detection.spun_probability
