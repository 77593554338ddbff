"""The HTTP API and the page, as one FastAPI application.

:func:`create_app` builds it; ``unspin serve`` runs it under uvicorn.

Design
------
* **Same fields as the library.**  Responses are the library's records
  (:class:`~unspin.records.Detection`, ``Restoration.to_dict()``,
  :class:`~unspin.trace.TraceResult`), used as the OpenAPI schemas
  themselves, so the API cannot drift from the Python API and the CLI's
  JSONL.  Request options are :class:`~unspin.config.Config` field names
  (``fast``, ``doc_threshold``, ``restore_threshold``, ``span_threshold``,
  ``clean_boilerplate``);
  an option left out takes the server's value.
* **One engine thread.**  The engine is CPU-bound and its language model is
  not safe to call from two threads at once, so every engine call runs on a
  single dedicated worker thread (:class:`_Engine`).  Concurrent requests
  wait their turn in its queue (at most :data:`MAX_QUEUE`, then 503), while
  the event loop stays free: ``/healthz`` answers during a long request.
  The trace index (an SQLite connection, which belongs to the thread that
  opened it) is opened on that same thread.
* **Loaded once.**  The lifespan warms the engine up on the worker thread
  before the server accepts connections: the lexicon, and the language model
  unless the server runs in ``fast`` mode (``unspin.lm.get_scorer()`` is a
  process-wide singleton, shared by every request).
* **Every error is JSON** ``{"error": CODE, "message": TEXT}`` (422s add
  ``detail``, the fields at fault): malformed JSON and invalid fields 422,
  a body over :data:`MAX_BODY_BYTES` 413, no index configured 404, queue
  full or model missing 503.
* **Offline.**  The page's assets are local files under ``static/`` and are
  served with a ``default-src 'self'`` content security policy.  ``/docs``
  serves Swagger UI from the ``fastapi-offline`` package's copy when it is
  installed (it is in the ``web`` extra); without it FastAPI's default page
  loads Swagger UI from a CDN, and only ``/docs`` is affected.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import queue
import threading
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..config import DEFAULT, Config
from ..records import Detection, Edit
from ..trace import TraceResult

log = logging.getLogger("unspin.web")

STATIC_DIR = Path(__file__).with_name("static")

#: Largest request body accepted, in bytes (413 above it).  A news article is
#: 5-20 kB of JSON; 1 MB leaves room for long reports and HTML pages.
MAX_BODY_BYTES = 1_000_000

#: Longest text accepted, in characters (422 above it): about 8,000 words,
#: a dozen long news articles.  The engine takes roughly 20 ms a word with
#: the language model on two cores (the seed article, 627 words, in about
#: 13 s), so this bounds one request to a few minutes of the engine thread.
MAX_TEXT_CHARS = 50_000

#: Requests waiting for (or holding) the engine thread before new ones get
#: 503.  Eight clients sending one request at a time never reach it.
MAX_QUEUE = 32

#: Most matches a trace request may ask for.
MAX_TOP_K = 20

API_VERSION = "1"

T = TypeVar("T")


# --------------------------------------------------------------------------
# Errors


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": message}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


def _loc(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def _validation_message(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """(code, one readable line) for pydantic's list of errors."""
    for e in errors:
        if e.get("type") == "json_invalid":
            why = (e.get("ctx") or {}).get("error", "")
            at = e["loc"][-1] if e.get("loc") and isinstance(e["loc"][-1], int) else None
            where = f" at character {at}" if at is not None else ""
            return "invalid_json", f"the request body is not valid JSON{where}" + (f": {why}" if why else "")
    msgs = []
    for e in errors[:5]:
        loc = _loc(e.get("loc", ()))
        if e.get("type") == "model_attributes_type" or (e.get("type") == "dict_type" and loc == "body"):
            msgs.append('the request body must be a JSON object, e.g. {"text": "..."}')
        elif e.get("type") == "missing":
            msgs.append(f"{loc}: required")
        elif e.get("type") == "extra_forbidden":
            msgs.append(f"{loc}: unknown field")
        else:
            msgs.append(f"{loc}: {e.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid_request", "; ".join(msgs) + more


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        code, message = _validation_message(errors)
        # The offending input is left out: it may be the whole text.
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
        return _error(422, code, message, detail=detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path} (the API is described at /docs)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return _error(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), message, exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, "internal", f"internal error: {type(exc).__name__} (see the server log)")


# --------------------------------------------------------------------------
# Body-size cap (an ASGI middleware: it runs before the body is parsed)


class BodySizeLimit:
    """Answer 413 to a request whose body exceeds ``max_bytes``.

    The declared ``Content-Length`` is checked first; a chunked body is
    counted as it arrives.  The body (at most ``max_bytes``) is buffered and
    then handed to the app, so the app never sees a truncated body.
    """

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES, max_chars: int = MAX_TEXT_CHARS):
        self.app = app
        self.max_bytes = max_bytes
        self.max_chars = max_chars

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    return await self._too_large(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await self._too_large(scope, receive, send)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send):
        response = _error(
            413,
            "too_large",
            f"the request body is over the limit of {self.max_bytes:,} bytes; "
            f"send texts of at most {self.max_chars:,} characters",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


# --------------------------------------------------------------------------
# The engine thread


class _Worker:
    """One daemon thread running submitted calls in order.

    Like ``ThreadPoolExecutor(max_workers=1)``, but the thread is a daemon,
    so stopping the server never waits for a long engine call to finish, and
    a call whose request was cancelled while it waited is skipped.
    """

    def __init__(self, name: str = "unspin-engine"):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], *args) -> "Future[T]":
        fut: Future = Future()
        self._queue.put((fut, fn, args))
        return fut

    def stop(self) -> None:
        self._queue.put(None)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fut, fn, args = item
            if not fut.set_running_or_notify_cancel():
                continue  # cancelled while it waited
            try:
                result = fn(*args)
            except BaseException as e:  # handed to the awaiting request
                fut.set_exception(e)
            else:
                fut.set_result(result)


class _Engine:
    """Runs engine calls one at a time on a dedicated thread.

    ``waiting`` counts requests queued or running; above ``max_queue`` a new
    one is refused with 503 rather than queued without bound.
    """

    def __init__(self, config: Config, index_path: str | None, max_queue: int = MAX_QUEUE):
        self.config = config
        self.index_path = index_path
        self.max_queue = max_queue
        self.waiting = 0
        self.busy_since: float | None = None
        self.model_loaded = False
        self.index_documents: int | None = None
        self.requests = 0
        self._worker: _Worker | None = None
        self._index = None  # opened on the engine thread, used only there

    def start(self) -> None:
        if self._worker is None:
            self._worker = _Worker()

    def stop(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            if self._index is not None:
                worker.submit(self._close_index)
            worker.stop()

    async def run(self, fn: Callable[..., T], *args) -> T:
        if self._worker is None:
            raise ApiError(503, "not_ready", "the server is starting or stopping; try again in a moment")
        if self.waiting >= self.max_queue:
            raise ApiError(
                503,
                "busy",
                f"{self.waiting} requests are already waiting for the engine; try again shortly",
                {"Retry-After": "5"},
            )
        self.waiting += 1
        try:
            return await asyncio.wrap_future(self._worker.submit(self._timed, fn, *args))
        finally:
            self.waiting -= 1

    def _timed(self, fn: Callable[..., T], *args) -> T:
        self.busy_since = time.monotonic()
        try:
            return fn(*args)
        finally:
            self.busy_since = None
            self.requests += 1

    # -- on the engine thread ------------------------------------------------

    def warm_up(self) -> None:
        """Load the lexicon, and the language model unless the server is fast."""
        from ..restore import restore_and_explain

        if not self.config.fast:
            from ..lm import get_scorer

            get_scorer()
            self.model_loaded = True
        restore_and_explain("The economic system at all times comes first.", self.config)
        if self.index_path is not None:
            self.index_documents = len(self.index())

    def index(self):
        if self._index is None:
            from ..index import Index

            self._index = Index.open(self.index_path, readonly=True)
        return self._index

    def _close_index(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def restore(self, text: str, config: Config):
        from ..restore import restore_and_explain

        r = restore_and_explain(text, config)
        if not config.fast:
            self.model_loaded = True  # get_scorer() loaded it, if it was not yet
        return r

    def trace(self, text: str, top_k: int) -> TraceResult:
        from ..trace import trace

        return trace(text, self.index(), top_k=top_k)

    def source(self, source_id: str):
        return self.index().get(source_id)


# --------------------------------------------------------------------------
# Request and response models


class EngineOptions(BaseModel):
    """Engine options: the :class:`~unspin.config.Config` fields a request may set.

    An option left out (or null) takes the server's setting.
    """

    model_config = ConfigDict(extra="forbid")

    fast: Optional[bool] = Field(
        None, description="Lexicon and word statistics only, no language model: about 100x faster, lower recall."
    )
    doc_threshold: Optional[float] = Field(
        None, ge=0.0, le=1.0, description="A document is called spun when its probability reaches this."
    )
    restore_threshold: Optional[float] = Field(
        None,
        ge=0.0,
        le=1.0,
        description="A document called spun is restored (its wording edited) only when its probability also "
        "reaches this; below it, its spans are reported and its words kept.",
    )
    span_threshold: Optional[float] = Field(
        None, ge=0.0, le=1.0, description="A span is reported (and, in a document restored, edited) when its confidence reaches this."
    )
    clean_boilerplate: Optional[bool] = Field(
        None, description='Remove page boilerplate ("[ad_1]", "Source link", spintax braces).'
    )

    def apply_to(self, config: Config) -> Config:
        changes = {k: getattr(self, k) for k in _CONFIG_FIELDS if getattr(self, k) is not None}
        return config.with_(**changes) if changes else config


_CONFIG_FIELDS = ("fast", "doc_threshold", "restore_threshold", "span_threshold", "clean_boilerplate")

_TEXT_DESCRIPTION = (
    f"The text, UTF-8; at most {MAX_TEXT_CHARS:,} characters.  Offsets in the answer are "
    "character (code point) offsets into it, end exclusive."
)


class DetectRequest(EngineOptions):
    text: str = Field(..., description=_TEXT_DESCRIPTION)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Putin is anticipated to go to Kazakhstan for an official go to."}]},
    )


class RestoreRequest(DetectRequest):
    explain: bool = Field(
        False, description="Also return the edits, each with its evidence (they replay with `unspin apply`)."
    )


class TraceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(..., description=_TEXT_DESCRIPTION)
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="Most matches returned, best first.")


class ExtractRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    html: str = Field(..., description="An HTML page.")


class ExtractResponse(BaseModel):
    text: str = Field(..., description="The page's visible text, one paragraph a line, as `unspin` reads .html files.")


class RestoreResponse(BaseModel):
    """``Restoration.to_dict()``: the restored text, the verdict, and with ``explain`` the edits."""

    restored: str
    edits: Optional[list[Edit]] = Field(None, description="Present when `explain` is true.")
    detection: Detection


class SourceDocument(BaseModel):
    id: str
    url: Optional[str]
    text: str
    added: str


class Health(BaseModel):
    status: str = Field(..., description='"ok" once the engine is warm.')
    model_loaded: bool = Field(..., description="Whether the language model is in memory.")
    fast: bool = Field(..., description="The server's default mode.")
    trace: bool = Field(..., description="Whether /v1/trace is available (an index is configured).")
    queued: int = Field(..., description="Requests waiting for, or holding, the engine.")
    busy_seconds: Optional[float] = Field(None, description="How long the running request has held the engine.")


class Limits(BaseModel):
    max_body_bytes: int
    max_text_chars: int
    max_queue: int
    max_top_k: int


class VersionInfo(BaseModel):
    unspin: str
    api: str
    lexicon: str
    model: Optional[str] = Field(None, description="The language model's file, when one is used.")
    config: dict[str, Any] = Field(..., description="The server's engine settings (request defaults).")
    trace: bool
    index_documents: Optional[int] = None
    limits: Limits


class ErrorBody(BaseModel):
    error: str = Field(..., description="A short machine-readable code, e.g. `invalid_json`, `text_too_long`.")
    message: str = Field(..., description="One line for a person.")
    detail: Optional[list[dict[str, Any]]] = Field(None, description="422 only: the fields at fault.")


_ERRORS = {
    413: {"model": ErrorBody, "description": f"Body over {MAX_BODY_BYTES:,} bytes."},
    422: {"model": ErrorBody, "description": "Malformed JSON, an invalid field, empty or too long text."},
    503: {"model": ErrorBody, "description": "Queue full, or the language model is not installed."},
}


# --------------------------------------------------------------------------
# The app


def _check_text(text: str, max_chars: int) -> None:
    if not text.strip():
        raise ApiError(422, "empty_text", "the text is empty: paste an article or open a .txt or .html file")
    if len(text) > max_chars:
        raise ApiError(
            422,
            "text_too_long",
            f"the text has {len(text):,} characters; the limit is {max_chars:,} "
            "(split it, or use the `unspin scan` command for large corpora)",
        )


def _static_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _fastapi_class():
    """FastAPIOffline (Swagger UI from local files) when installed, else FastAPI."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:
        return FastAPI, {}
    return FastAPIOffline, {"static_url": "/docs-assets"}


def create_app(
    config: Config = DEFAULT,
    index_path: str | None = None,
    *,
    max_chars: int = MAX_TEXT_CHARS,
    max_body: int = MAX_BODY_BYTES,
    max_queue: int = MAX_QUEUE,
) -> FastAPI:
    """The web app: HTTP API under ``/v1``, the page at ``/``, docs at ``/docs``.

    ``config`` gives the defaults for request options (and ``config.fast``
    skips loading the language model at start-up); ``index_path`` is a trace
    index (``unspin.index``) to enable ``/v1/trace``.  The engine warms up
    when the app starts (the lifespan), so use it under a server or
    ``with TestClient(app)``.
    """
    engine = _Engine(config, str(index_path) if index_path is not None else None, max_queue)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine.start()
        t0 = time.perf_counter()
        log.info("warming up the engine%s", "" if config.fast else " (loading the language model)")
        await engine.run(engine.warm_up)
        log.info("engine ready in %.1f s", time.perf_counter() - t0)
        try:
            yield
        finally:
            engine.stop()

    cls, extra = _fastapi_class()
    app = cls(
        title="unspin",
        version=__version__,
        summary="Find, undo and trace article spinning.",
        description=(
            "Detect spun text (content-farm articles run through a synonym spinner), restore its "
            "original wording edit by edit, and trace it to its source.\n\n"
            "Request options are the engine's configuration fields; responses carry the same fields as "
            "the Python API's records and the CLI's JSONL.  Offsets are character (code point) offsets "
            "into the request's text, end exclusive.  Every error is a JSON object with `error` (a code) "
            f"and `message`.  Limits: request bodies up to {max_body:,} bytes, texts up to "
            f"{max_chars:,} characters.  Engine calls run one at a time; concurrent requests queue."
        ),
        lifespan=lifespan,
        # No validator badge: Swagger UI would fetch it from the internet.
        swagger_ui_parameters={"validatorUrl": None},
        **extra,
    )
    app.state.engine = engine
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body, max_chars=max_chars)

    async def restoration(req: DetectRequest):
        _check_text(req.text, max_chars)
        cfg = req.apply_to(config)
        try:
            return await engine.run(engine.restore, req.text, cfg)
        except RuntimeError as e:
            from ..lm import ModelUnavailable

            if isinstance(e, ModelUnavailable):
                raise ApiError(503, "model_unavailable", f"{e} (or send \"fast\": true)") from None
            raise

    # -- API ------------------------------------------------------------------

    @app.post(
        "/v1/detect",
        response_model=Detection,
        responses=_ERRORS,
        tags=["engine"],
        summary="Is this text spun, and where?",
    )
    async def detect(req: DetectRequest):
        """The calibrated probability that the text is spun, and its suspicious spans.

        Non-English text gets `language: "non-en"`, probability 0 and no spans.
        The same record as `unspin.detect()` and `unspin detect --json`.
        """
        return (await restoration(req)).detection

    @app.post(
        "/v1/restore",
        response_model=RestoreResponse,
        response_model_exclude_unset=True,
        responses=_ERRORS,
        tags=["engine"],
        summary="Put the original wording back",
    )
    async def restore(req: RestoreRequest):
        """The restored text and the verdict; with `explain`, also every edit and its evidence.

        The same fields as `unspin.restore_and_explain(text).to_dict()` and
        `unspin restore --json`; the edits replay with `unspin.apply_plan`.
        """
        r = await restoration(req)
        d = r.to_dict()
        if not req.explain:
            del d["edits"]
        return d

    @app.post(
        "/v1/trace",
        response_model=TraceResult,
        responses={
            404: {"model": ErrorBody, "description": "No index is configured (start with --index)."},
            **_ERRORS,
        },
        tags=["trace"],
        summary="Find the source a text was spun from",
    )
    async def trace(req: TraceRequest):
        """The indexed sources the text was most likely spun from, best first, each with
        its aligned passages.  Needs an index: `unspin serve --index DB`.

        The same record as `unspin.trace(text, index)`; an empty `matches`
        list means no source covers enough of the text.
        """
        _need_index()
        _check_text(req.text, max_chars)
        return await engine.run(engine.trace, req.text, req.top_k)

    @app.get(
        "/v1/sources/{source_id:path}",
        response_model=SourceDocument,
        responses={
            404: {"model": ErrorBody, "description": "No index, or no such source."},
            422: {"model": ErrorBody, "description": "An invalid request."},
        },
        tags=["trace"],
        summary="One indexed source document",
    )
    async def source(source_id: str):
        """The stored text of an indexed source (for the side-by-side view of a trace match)."""
        _need_index()
        doc = await engine.run(engine.source, source_id)
        if doc is None:
            raise ApiError(404, "no_such_source", f"the index has no source with id {source_id!r}")
        return {"id": doc.id, "url": doc.url, "text": doc.text, "added": doc.added}

    def _need_index() -> None:
        if engine.index_path is None:
            raise ApiError(
                404,
                "no_index",
                "tracing needs a source index: start the server with 'unspin serve --index DB'",
            )

    @app.post(
        "/v1/extract",
        response_model=ExtractResponse,
        responses={413: _ERRORS[413], 422: _ERRORS[422]},
        tags=["engine"],
        summary="HTML page to text",
    )
    async def extract(req: ExtractRequest):
        """The visible text of an HTML page, as `unspin` reads a .html file
        (scripts, navigation, headers and footers dropped)."""
        from ..formats import html_to_text

        return {"text": html_to_text(req.html)}

    @app.head("/healthz", include_in_schema=False)
    async def healthz_head():
        return Response(status_code=200)

    @app.get("/healthz", response_model=Health, tags=["service"], summary="Liveness and queue")
    async def healthz():
        """Answers at once, even while a long request holds the engine."""
        busy = engine.busy_since
        return {
            "status": "ok",
            "model_loaded": engine.model_loaded,
            "fast": config.fast,
            "trace": engine.index_path is not None,
            "queued": engine.waiting,
            "busy_seconds": round(time.monotonic() - busy, 3) if busy is not None else None,
        }

    @app.get("/version", response_model=VersionInfo, tags=["service"], summary="Versions, settings and limits")
    async def version():
        from ..lexicon import LEXICON_VERSION

        model = None
        if not config.fast:
            from ..lm import GGUF_FILE

            model = GGUF_FILE
        return {
            "unspin": __version__,
            "api": API_VERSION,
            "lexicon": LEXICON_VERSION,
            "model": model,
            "config": {k: getattr(config, k) for k in _CONFIG_FIELDS},
            "trace": engine.index_path is not None,
            "index_documents": engine.index_documents,
            "limits": {
                "max_body_bytes": max_body,
                "max_text_chars": max_chars,
                "max_queue": engine.max_queue,
                "max_top_k": MAX_TOP_K,
            },
        }

    # -- the page -------------------------------------------------------------

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page():
        return _static_headers(FileResponse(STATIC_DIR / "index.html", media_type="text/html"))

    app.mount("/static", _SecureStatic(directory=STATIC_DIR), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        return _static_headers(FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml"))

    return app


class _SecureStatic(StaticFiles):
    async def get_response(self, path: str, scope) -> Response:
        return _static_headers(await super().get_response(path, scope))


def openapi_json(app: FastAPI) -> str:
    """The OpenAPI document as stable, pretty JSON (the snapshot test's form)."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


__all__ = ["MAX_BODY_BYTES", "MAX_QUEUE", "MAX_TEXT_CHARS", "create_app", "openapi_json"]
