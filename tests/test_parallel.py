"""Restoring batches on worker processes (``unspin.parallel``, ``scan --jobs``)."""
from __future__ import annotations

import os

import pytest

from unspin import Config, parallel, restore_many

FAST = Config(fast=True)

TEXTS = [
    "The economic system at all times comes first.",
    "Putin is anticipated to go to Kazakhstan for an official go to.",
    "",
    "The two presidents met in Astana last month and discussed trade.",
    "Officials stated the treaty shall be watched fastidiously.",
    "He visited the capital for three days.",
    "The financial institution reported its earnings for the 12 months.",
]


def _batches(texts, size):
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def _same(a, b):
    assert a.text == b.text
    assert a.edits == b.edits
    assert a.detection == b.detection


@pytest.mark.parametrize("jobs", [1, 2])
def test_outcomes_come_back_once_in_order(jobs):
    batches = _batches(TEXTS, 2)
    got = list(parallel.restore_batches(batches, list, FAST, jobs))
    assert [b for b, _ in got] == batches  # every batch once, in order
    alone = list(restore_many(TEXTS, FAST))
    outcomes = [o for _, outs in got for o in outs]
    assert len(outcomes) == len(TEXTS)
    for (r, err), want in zip(outcomes, alone):
        assert err is None
        _same(r, want)
    assert outcomes[0][0].text == "The economy always comes first."


def test_batches_are_given_back_before_the_input_error():
    def batches():
        yield from _batches(TEXTS[:4], 1)
        raise ValueError("line 5: bad record")

    seen = []
    with pytest.raises(ValueError, match="line 5"):
        for b, outs in parallel.restore_batches(batches(), list, FAST, 2):
            seen.append(b)
    assert seen == _batches(TEXTS[:4], 1)


def test_jobs_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        list(parallel.restore_batches([["x"]], list, FAST, 0))


_REAL_BATCH = parallel.restore_batch


def _die(texts, config):
    """A worker that is killed while restoring (as by the OOM killer).
    Module level, so that the worker finds it by name."""
    if any("DIE" in t for t in texts):
        os._exit(9)
    return _REAL_BATCH(texts, config)


def test_a_dead_worker_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(parallel, "restore_batch", _die)
    batches = [["One text."], ["DIE here."], ["Another."]]
    seen = []
    with pytest.raises(parallel.WorkerDied, match="worker process died"):
        for b, _ in parallel.restore_batches(batches, list, FAST, 2):
            seen.append(b)
    assert seen == batches[: len(seen)] and len(seen) <= 1


def test_one_failing_text_costs_only_itself(flaky_engine):
    outs = parallel.restore_batch(["The economic system at all times comes first.", "BOOM", ""], FAST)
    assert [e for _, e in outs] == [None, "RuntimeError: engine exploded", None]
    assert outs[0][0].text == "The economy always comes first." and outs[1][0] is None


@pytest.mark.lm
def test_language_model_works_in_forked_workers():
    # Workers fork after the parent has loaded (and used) the model and give
    # each of them its share of torch's threads.
    spun = "Putin is anticipated to go to Kazakhstan for an official go to. The economic system at all times comes first."
    batches = [[spun], ["The two presidents met in Astana last month."]]
    got = list(parallel.restore_batches(batches, list, Config(), 2))
    want = list(restore_many([spun], Config()))[0]
    (r, err) = got[0][1][0]
    assert err is None
    assert r.text == want.text
    # The first "go to" is a close call (its gain is near 0 in round 2) that
    # float32 and bfloat16 scoring decide differently; the rest is not.
    assert r.text.startswith("Putin is expected to ")
    assert r.text.endswith(" Kazakhstan for an official visit. The economy always comes first.")
    assert [(e.start, e.after) for e in r.edits] == [(e.start, e.after) for e in want.edits]
