"""The band join: link every suspect document to the source it was spun from.

For a corpus where a per-query index lookup is the wrong shape (a crawl of
suspects against a crawl of sources), the LSH lookup becomes a join on band
keys, in pure stages that any engine can run:

1. :func:`signatures` - each record's band keys (``unspin.fingerprint``);
2. :func:`explode` - one row per (band key, side, id);
3. *group by band key* -> :func:`bucket_pairs`: every (suspect, source)
   pair sharing the bucket (buckets over ``max_bucket`` members are
   skipped and counted: a key that thousands of documents share is
   boilerplate, not evidence);
4. *group by suspect* -> :func:`top_candidates`: the sources sharing the most
   bands, at most ``TraceConfig.verify`` of them (ties by source id);
5. *group by source* -> :func:`attach_source`: the source's text joins its
   candidate rows (a reduce-side join: the texts travel once per candidate,
   never through the band stages);
6. *group by suspect* -> :func:`verify_group`: alignment
   (``unspin.trace.verify``, the same decision as ``unspin trace query``).

:func:`join` runs them with plain dictionaries (``engine="local"``) or on
Ray Data (``engine="ray"``, ``ray.init(num_cpus=...)`` on this machine unless
Ray is already initialised).  Every stage is a deterministic function of its
group, so both engines give the same output for the same input; a test says
so.  Results come in suspect input order.

On Ray, fingerprinting, the three shuffles and the alignments run as Ray
tasks; the records themselves are read on the driver and handed over with
``from_items``, which bounds a join by the driver's memory.  A reader
sharded by rank (``ray.data.read_json`` over many files) is the next step for
a multi-machine crawl.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator

from .fingerprint import DEFAULT_PARAMS, FingerprintParams, fingerprint
from .trace import DEFAULT_TRACE, Candidate, TraceConfig, verify

SUSPECT, SOURCE = "suspect", "source"

#: Buckets with more members than this are skipped (see the module docstring).
MAX_BUCKET = 1000

# Every row between stages has these fields, so that Ray can union and
# shuffle them under one schema ("" stands for "no url").
_ROW = {"kind": "", "suspect": "", "source": "", "text": "", "url": "", "shared": 0, "order": -1, "key": 0}


def _row(**fields: Any) -> dict[str, Any]:
    r = dict(_ROW)
    r.update(fields)
    return r


@dataclass
class JoinStats:
    """Counters of a join (not logs)."""

    suspects: int = 0
    sources: int = 0
    pairs: int = 0  # (suspect, source, band) hits
    skipped_buckets: int = 0
    matched: int = 0


# --------------------------------------------------------------------------
# Records


def parse_line(line: str | bytes) -> dict[str, Any] | None:
    """One JSONL line -> ``{"id", "text", "url"}``, or None if it is not a usable record.

    >>> parse_line('{"id": 7, "text": "Hello.", "url": "http://x"}')
    {'id': '7', 'text': 'Hello.', 'url': 'http://x'}
    >>> parse_line('not json') is None
    True
    """
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or obj.get("id") is None or not isinstance(obj.get("text"), str):
        return None
    url = obj.get("url")
    return {"id": str(obj["id"]), "text": obj["text"], "url": None if url in (None, "") else str(url)}


# --------------------------------------------------------------------------
# The stages


def signatures(records: Iterable[dict], side: str, params: FingerprintParams = DEFAULT_PARAMS) -> Iterator[dict]:
    """``{"side", "id", "keys"}`` for each record (``{"id", "text"}``)."""
    for r in records:
        yield {"side": side, "id": str(r["id"]), "keys": fingerprint(r["text"], params).keys}


def explode(rows: Iterable[dict]) -> Iterator[dict]:
    """One row per band key of each signature row."""
    for r in rows:
        for k in r["keys"]:
            yield _row(kind=r["side"], key=int(k), **{r["side"]: r["id"]})


def bucket_pairs(rows: list[dict], max_bucket: int = MAX_BUCKET) -> Iterator[dict]:
    """All (suspect, source) pairs among the rows of one band key."""
    if len(rows) > max_bucket:
        yield _row(kind="skipped", key=int(rows[0]["key"]))
        return
    sus = sorted({r["suspect"] for r in rows if r["kind"] == SUSPECT})
    src = sorted({r["source"] for r in rows if r["kind"] == SOURCE})
    for s in sus:
        for t in src:
            yield _row(kind="pair", suspect=s, source=t)


def top_candidates(rows: list[dict], limit: int = DEFAULT_TRACE.verify) -> Iterator[dict]:
    """The ``limit`` sources sharing most bands with one suspect (ties: source id)."""
    shared: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["kind"] == "pair":
            shared[r["source"]] += 1
    if not shared:
        return
    suspect = next(r["suspect"] for r in rows if r["kind"] == "pair")
    for src, n in sorted(shared.items(), key=lambda x: (-x[1], x[0]))[:limit]:
        yield _row(kind="candidate", suspect=suspect, source=src, shared=n)


def attach_source(rows: list[dict]) -> Iterator[dict]:
    """Rows of one source id: its document row and its candidate rows -> candidates with text."""
    doc = next((r for r in rows if r["kind"] == SOURCE), None)
    if doc is None:
        return
    for r in rows:
        if r["kind"] == "candidate":
            yield _row(kind="candidate", suspect=r["suspect"], source=r["source"], shared=r["shared"],
                       text=doc["text"], url=doc["url"] or "")


def verify_group(rows: list[dict], config: TraceConfig = DEFAULT_TRACE, top_k: int = 1) -> Iterator[dict]:
    """Rows of one suspect: its document row and its candidates with text -> the result row."""
    query = next((r for r in rows if r["kind"] == SUSPECT), None)
    if query is None:
        return
    cands = sorted((r for r in rows if r["kind"] == "candidate"), key=lambda r: (-r["shared"], r["source"]))
    candidates = [Candidate(c["source"], c["url"] or None, c["text"]) for c in cands]
    matches, _ = verify(query["text"], candidates, config, top_k)
    yield _row(kind="result", suspect=query["suspect"], order=query["order"],
               text=json.dumps([asdict(m) for m in matches], sort_keys=True))


def _result(row: dict) -> dict[str, Any]:
    return {"id": row["suspect"], "matches": json.loads(row["text"])}


# --------------------------------------------------------------------------
# Local executor


def _group(rows: Iterable[dict], field: str) -> Iterator[list[dict]]:
    groups: dict[Any, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r[field]].append(r)
    for k in sorted(groups):
        yield groups[k]


def _join_local(suspects, sources, params, config, top_k, max_bucket, stats):
    suspects = [dict(r, order=i) for i, r in enumerate(suspects)]
    sources = list(sources)
    stats.suspects, stats.sources = len(suspects), len(sources)
    rows = list(explode(signatures(suspects, SUSPECT, params))) + list(explode(signatures(sources, SOURCE, params)))
    pairs = [p for g in _group(rows, "key") for p in bucket_pairs(g, max_bucket)]
    stats.skipped_buckets = sum(p["kind"] == "skipped" for p in pairs)
    pairs = [p for p in pairs if p["kind"] == "pair"]
    stats.pairs = len(pairs)
    cands = [c for g in _group(pairs, "suspect") for c in top_candidates(g, max(config.verify, top_k))]
    src_rows = [_row(kind=SOURCE, source=r["id"], text=r["text"], url=r.get("url") or "") for r in sources]
    with_text = [c for g in _group(cands + src_rows, "source") for c in attach_source(g)]
    sus_rows = [_row(kind=SUSPECT, suspect=r["id"], text=r["text"], order=r["order"]) for r in suspects]
    results = [x for g in _group(with_text + sus_rows, "suspect") for x in verify_group(g, config, top_k)]
    results.sort(key=lambda r: r["order"])
    return [_result(r) for r in results]


# --------------------------------------------------------------------------
# Ray executor


def _ray_init(num_cpus: int) -> None:
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    try:
        # Task-based sort shuffle: on one machine it starts no aggregator
        # actors, which are most of the wall time of a small join (Ray 2.60:
        # 19 s instead of 29 s for the test corpus).
        from ray.data.context import ShuffleStrategy

        ctx.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    except (ImportError, AttributeError):  # older Ray: its default is sort-based
        pass


def _groupby(ds, key: str, partitions: int):
    try:
        return ds.groupby(key, num_partitions=partitions)
    except TypeError:  # Ray without num_partitions
        return ds.groupby(key)
    ctx.print_on_execution_start = False


def _frame(rows: list[dict]):
    import pandas as pd

    return pd.DataFrame(rows if rows else [], columns=list(_ROW))


def _arrow_dataset(rows: list[dict]):
    import pyarrow as pa
    import ray

    return ray.data.from_arrow(pa.Table.from_pandas(_frame(rows), preserve_index=False))


def _records(df) -> list[dict]:
    out = df.to_dict("records")
    for r in out:  # numpy scalars back to Python ones
        r["key"], r["shared"], r["order"] = int(r["key"]), int(r["shared"]), int(r["order"])
    return out


# Thin adapters: a pandas batch in, the pure stage, a pandas batch out.


def _ray_explode(df, side, params):
    recs = [{"id": r["id"], "text": r["text"]} for r in df.to_dict("records")]
    return _frame(list(explode(signatures(recs, side, params))))


def _ray_pairs(df, max_bucket):
    return _frame(list(bucket_pairs(_records(df), max_bucket)))


def _ray_top(df, limit):
    return _frame(list(top_candidates(_records(df), limit)))


def _ray_attach(df):
    return _frame(list(attach_source(_records(df))))


def _ray_verify(df, config, top_k):
    return _frame(list(verify_group(_records(df), config, top_k)))


def _ray_kind(df, kind):
    return df[df["kind"] == kind]


def _join_ray(suspects, sources, params, config, top_k, max_bucket, stats, num_cpus, partitions):
    import ray

    _ray_init(num_cpus)
    suspects = [dict(r, order=i) for i, r in enumerate(suspects)]
    sources = list(sources)
    stats.suspects, stats.sources = len(suspects), len(sources)
    if not suspects:
        return []
    ds_sus = ray.data.from_items([{"id": r["id"], "text": r["text"]} for r in suspects])
    ds_src = ray.data.from_items([{"id": r["id"], "text": r["text"]} for r in sources]) if sources else None
    keys = ds_sus.map_batches(_ray_explode, fn_kwargs={"side": SUSPECT, "params": params}, batch_format="pandas")
    if ds_src is not None:
        keys = keys.union(
            ds_src.map_batches(_ray_explode, fn_kwargs={"side": SOURCE, "params": params}, batch_format="pandas")
        )
    pairs = _groupby(keys, "key", partitions).map_groups(
        _ray_pairs, fn_kwargs={"max_bucket": max_bucket}, batch_format="pandas"
    )
    pairs = pairs.materialize()
    stats.skipped_buckets = pairs.map_batches(_ray_kind, fn_kwargs={"kind": "skipped"}, batch_format="pandas").count()
    pairs = pairs.map_batches(_ray_kind, fn_kwargs={"kind": "pair"}, batch_format="pandas")
    stats.pairs = pairs.count()
    cands = _groupby(pairs, "suspect", partitions).map_groups(
        _ray_top, fn_kwargs={"limit": max(config.verify, top_k)}, batch_format="pandas"
    )
    # Arrow blocks converted from pandas, like the stages' output, so that
    # every block has one type and schema.
    src_rows = _arrow_dataset(
        [_row(kind=SOURCE, source=r["id"], text=r["text"], url=r.get("url") or "") for r in sources]
    )
    with_text = _groupby(cands.union(src_rows), "source", partitions).map_groups(_ray_attach, batch_format="pandas")
    sus_rows = _arrow_dataset(
        [_row(kind=SUSPECT, suspect=r["id"], text=r["text"], order=r["order"]) for r in suspects]
    )
    results = _groupby(with_text.union(sus_rows), "suspect", partitions).map_groups(
        _ray_verify, fn_kwargs={"config": config, "top_k": top_k}, batch_format="pandas"
    )
    out = sorted(results.take_all(), key=lambda r: r["order"])
    return [_result(r) for r in out]


# --------------------------------------------------------------------------
# The entry point


def join(
    suspects: Iterable[dict],
    sources: Iterable[dict],
    *,
    engine: str = "local",
    params: FingerprintParams = DEFAULT_PARAMS,
    config: TraceConfig | None = None,
    top_k: int = 1,
    max_bucket: int = MAX_BUCKET,
    num_cpus: int = 2,
    partitions: int | None = None,
    stats: JoinStats | None = None,
) -> list[dict[str, Any]]:
    """``[{"id", "matches"}]`` for each suspect, in input order.

    ``suspects`` and ``sources`` are records ``{"id", "text"[, "url"]}``;
    ``matches`` are :class:`unspin.trace.Match` as dicts, best first, at most
    ``top_k``, empty when no source covers ``config.min_coverage`` of the
    suspect.  ``stats`` (a :class:`JoinStats`) receives the counters.
    ``num_cpus`` and ``partitions`` (shuffle partitions per group-by,
    default ``num_cpus``) apply to ``engine="ray"`` only.

    >>> src = [{"id": "a", "text": "The huge fire near Goulburn forced the closure of the Hume Highway "
    ...                            "on Monday, police said."}]
    >>> sus = [{"id": "q", "text": "The massive blaze near Goulburn forced the closure of the Hume Highway "
    ...                            "on Monday, cops said."}]
    >>> [(r["id"], [m["source_id"] for m in r["matches"]]) for r in join(sus, src)]
    [('q', ['a'])]
    """
    cfg = config or DEFAULT_TRACE
    st = stats if stats is not None else JoinStats()
    if engine == "local":
        out = _join_local(suspects, sources, params, cfg, top_k, max_bucket, st)
    elif engine == "ray":
        out = _join_ray(suspects, sources, params, cfg, top_k, max_bucket, st, num_cpus, partitions or num_cpus)
    else:
        raise ValueError(f"unknown engine {engine!r}: use 'local' or 'ray'")
    st.matched = sum(1 for r in out if r["matches"])
    return out


__all__ = [
    "JoinStats",
    "MAX_BUCKET",
    "attach_source",
    "bucket_pairs",
    "explode",
    "join",
    "parse_line",
    "signatures",
    "top_candidates",
    "verify_group",
]
