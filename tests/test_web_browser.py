"""The page in a real browser: Playwright (Python) driving Debian's chromium.

Skipped, not failed, when ``/usr/bin/chromium`` or the ``playwright``
package is missing (CI installs both: ``apt-get install -y chromium`` and
``pip install playwright``; ``playwright install`` is not needed).

The server runs in this process (uvicorn on a thread, on a free loopback
port).  The seed-article test uses the language model (marked ``lm``) and
saves ``docs/screenshot.png`` for the README; the others use a fast-mode
server with a low span threshold and a small trace index, and check
messages, keyboard use, phone width, opening files, downloads, the sources
view and that nothing is fetched from outside this machine.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
pytest.importorskip("uvicorn")

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from unspin import Config  # noqa: E402
from unspin.spin import spin  # noqa: E402
from unspin.web.app import create_app  # noqa: E402

from test_web_api import SOURCES, build_index  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = ROOT / "examples" / "seed_spun_article.txt"
# The README's picture is rewritten only on request (UNSPIN_UPDATE_SCREENSHOT=1),
# so a plain test run leaves the work tree as it found it.
SCREENSHOT = ROOT / "docs" / "screenshot.png"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: How long the page may take to check the seed article with the language
#: model (about 15 s on two cores; more while other jobs share them).
LM_TIMEOUT_MS = 240_000
GERMAN = "Der Präsident besuchte gestern die Stadt und sprach mit den Bürgern über die Wirtschaft und die Zukunft des Landes."


class LiveServer:
    """uvicorn serving ``app`` on a thread, on a free 127.0.0.1 port."""

    def __init__(self, app, start_timeout: float = 300):
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.start_timeout = start_timeout

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory):
    index = build_index(tmp_path_factory.mktemp("index") / "sources.db")
    # A low span threshold, so that fast mode highlights spans in the seed article.
    with LiveServer(create_app(Config(fast=True, span_threshold=0.2), index_path=index)) as s:
        yield s


@pytest.fixture(scope="module")
def lm_server():
    with LiveServer(create_app(Config())) as s:
        yield s


class Page:
    """A fresh browser page that refuses, and records, any request off this machine."""

    def __init__(self, browser, width: int = 1280, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        self.context.grant_permissions(["clipboard-read", "clipboard-write"])
        self.external: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))

    def _route(self, route):
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()

    def open(self, url: str) -> None:
        """Load the page and wait until it has the server's settings."""
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready=true]")

    def check(self, text: str, timeout: float = 30_000):
        """Paste ``text``, press Check, return the /v1/restore answer."""
        page = self.page
        page.fill("#text", text)
        with page.expect_response(lambda r: r.url.endswith("/v1/restore"), timeout=timeout) as resp:
            page.click("#check")
        assert resp.value.status == 200, resp.value.text()
        expect(page.locator("#results")).to_be_visible()
        return resp.value.json()

    def text_of(self, selector: str) -> str:
        return self.page.eval_on_selector(selector, "el => el.textContent")


@pytest.fixture
def make_page(browser):
    pages: list[Page] = []

    def make(width: int = 1280, height: int = 900) -> Page:
        p = Page(browser, width, height)
        pages.append(p)
        return p

    yield make
    for p in pages:
        assert not p.external, f"the page fetched from outside this machine: {p.external}"
        assert not p.errors, f"errors in the page: {p.errors}"
        p.close()


def apply_edits(text: str, edits: list[dict]) -> str:
    out, pos = [], 0
    for e in sorted(edits, key=lambda e: e["start"]):
        out += [text[pos : e["start"]], e["after"]]
        pos = e["end"]
    return "".join(out) + text[pos:]


# --------------------------------------------------------------------------
# The seed article, with the language model


@pytest.mark.lm
def test_seed_article_review_and_screenshot(lm_server, make_page, tmp_path):
    seed = SEED_ARTICLE.read_text(encoding="utf-8")
    p = make_page(1280, 1000)
    page = p.page
    p.open(lm_server.url + "/")
    api = p.check(seed, timeout=LM_TIMEOUT_MS)

    # The verdict and every edit are drawn.
    det = api["detection"]
    expect(page.locator("#verdict-label")).to_have_text("Likely spun" if det["is_spun"] else "Probably not spun")
    expect(page.locator("#meter-value")).to_have_text(f"{round(det['spun_probability'] * 100)}%")
    subs = [e for e in api["edits"] if e["kind"] == "substitution"]
    assert subs, "the seed article should have suggestions"
    marks = page.locator("#doc mark.span")
    expect(marks).to_have_count(len(api["edits"]))
    sub_marks = page.locator("#doc mark.span:not(.boiler)")

    # Page debris is removed from the start; no suggestion is accepted yet.
    debris = [e for e in api["edits"] if e["kind"] == "boilerplate"]
    assert p.text_of("#restored") == apply_edits(seed, debris)

    # Hovering a span shows its suggestion, alternatives and evidence.
    first = sub_marks.first
    assert first.text_content() == subs[0]["before"]
    first.hover()
    pop = page.locator("#popover")
    expect(pop).to_be_visible()
    expect(page.locator("#popover .pop-after")).to_have_text(subs[0]["after"])
    expect(page.locator("#pop-evidence")).to_contain_text("LM gain")
    expect(page.locator("#pop-evidence")).to_contain_text(subs[0]["evidence"]["lexicon"])

    # Accept it: the restored text has exactly that change.
    first.click()
    page.click("#pop-accept")
    expect(first).to_have_class(_has("accepted"))
    expect(page.locator("#pop-state")).to_have_text("Accepted")
    assert p.text_of("#restored") == apply_edits(seed, [*debris, subs[0]])
    assert page.evaluate("window.unspinPage.restoredText()") == apply_edits(seed, [*debris, subs[0]])

    # The keyboard: focus the next span, A accepts, R rejects.
    page.keyboard.press("Escape")
    sub_marks.nth(1).focus()
    expect(pop).to_be_visible()
    page.keyboard.press("a")
    expect(sub_marks.nth(1)).to_have_class(_has("accepted"))
    assert p.text_of("#restored") == apply_edits(seed, [*debris, *subs[:2]])
    page.keyboard.press("r")
    expect(sub_marks.nth(1)).to_have_class(_has("rejected"))
    assert p.text_of("#restored") == apply_edits(seed, [*debris, subs[0]])

    # The diff view shows the accepted change.
    page.click("#tab-diff")
    expect(page.locator("#diff ins")).to_have_count(1)
    expect(page.locator("#diff ins")).to_have_text(subs[0]["after"])
    expect(page.locator("#diff del:not(.boiler)")).to_have_text(subs[0]["before"])
    expect(page.locator("#diff del.boiler")).to_have_count(len(debris))
    page.click("#tab-text")

    # Accept all: the page's text is the server's restoration.
    page.click("#accept-all")
    assert p.text_of("#restored") == api["restored"]
    expect(page.locator("#accept-count")).to_contain_text(f"{len(subs)} of {len(subs)} suggestions accepted")

    # The screenshot for the README: a few suggestions accepted, the next
    # one (one with alternatives, if any is near) open.
    page.click("#reject-all")
    n_accept = min(3, len(subs) - 1)
    for i in range(n_accept):
        sub_marks.nth(i).focus()
        page.keyboard.press("a")
    page.keyboard.press("Escape")
    near = range(n_accept, min(n_accept + 4, len(subs)))
    chosen = next((i for i in near if subs[i]["evidence"].get("alternatives")), n_accept)
    page.evaluate("window.scrollTo(0, 0); document.getElementById('doc').scrollTop = 0")
    sub_marks.nth(chosen).click()
    expect(pop).to_be_visible()
    page.mouse.move(5, 5)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT if os.environ.get("UNSPIN_UPDATE_SCREENSHOT") else tmp_path / "screenshot.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert SCREENSHOT.stat().st_size > 10_000


# --------------------------------------------------------------------------
# Fast-mode server: messages, keyboard, phone width, files, sources


def _has(cls: str):
    import re

    return re.compile(rf"(^|\s){cls}(\s|$)")


def test_messages_for_empty_too_long_and_non_english(fast_server, make_page):
    p = make_page()
    page = p.page
    p.open(fast_server.url + "/")
    expect(page.locator("#char-count")).to_contain_text("50,000")

    page.click("#check")  # empty
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).to_contain_text("no text to check")

    page.fill("#text", "x" * 50_001)  # too long: said before anything is sent
    expect(page.locator("#char-count")).to_have_class(_has("over"))
    page.click("#check")
    expect(page.locator("#message")).to_contain_text("the limit is 50,000")

    p.check(GERMAN)  # not English
    expect(page.locator("#message")).to_be_hidden()
    expect(page.locator("#verdict-label")).to_have_text("Not English")
    expect(page.locator("#verdict-sub")).to_contain_text("only checks English")
    expect(page.locator("#doc mark.span")).to_have_count(0)


def test_server_errors_are_shown(fast_server, make_page):
    p = make_page()
    page = p.page
    p.open(fast_server.url + "/")
    # The server's own check (the page's limit is bypassed here).
    page.evaluate("window.unspinPage.state.server.limits.max_text_chars = 1e9")
    page.fill("#text", "word " * 10_001)
    page.click("#check")
    expect(page.locator("#message")).to_contain_text("The text has 50,005 characters; the limit is 50,000")
    p.errors.clear()  # the browser logs the 422 itself


def test_keyboard_and_phone_width(fast_server, make_page):
    seed = SEED_ARTICLE.read_text(encoding="utf-8")
    p = make_page(390, 844)
    page = p.page
    p.open(fast_server.url + "/")
    api = p.check(seed)
    subs = [e for e in api["edits"] if e["kind"] == "substitution"]
    debris = [e for e in api["edits"] if e["kind"] == "boilerplate"]
    assert len(subs) >= 3
    # Readable at phone width: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    sub_marks = page.locator("#doc mark.span:not(.boiler)")

    # Tab reaches the spans from the buttons above them.
    page.focus("#reject-all")
    page.keyboard.press("Tab")
    first_id = page.evaluate("document.activeElement.dataset.id")
    assert first_id is not None and page.evaluate("document.activeElement.tagName") == "MARK"
    # The popover is a bottom sheet at this width.
    expect(page.locator("#popover")).to_be_visible()
    expect(page.locator("#popover")).to_have_class(_has("sheet"))

    sub_marks.first.focus()
    page.keyboard.press("a")
    expect(sub_marks.first).to_have_class(_has("accepted"))
    second_id = sub_marks.nth(1).get_attribute("data-id")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.id") == second_id
    page.keyboard.press("r")
    expect(sub_marks.nth(1)).to_have_class(_has("rejected"))
    page.keyboard.press("Enter")  # into the popover
    assert page.evaluate("document.activeElement.id") == "pop-accept"
    page.keyboard.press("Enter")  # accept from the popover
    expect(sub_marks.nth(1)).to_have_class(_has("accepted"))
    page.keyboard.press("Escape")  # closes, and focus goes back to the span
    expect(page.locator("#popover")).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.id") == second_id
    assert p.text_of("#restored") == apply_edits(seed, [*debris, *subs[:2]])

    # Choosing an alternative, where one exists.
    with_alts = [i for i, e in enumerate(subs) if e["evidence"].get("alternatives")]
    if with_alts:
        i = with_alts[0]
        sub_marks.nth(i).click()
        alt = subs[i]["evidence"]["alternatives"][0]
        page.locator("#pop-alts .chip", has_text=alt).first.click()
        expect(sub_marks.nth(i)).to_have_class(_has("accepted"))
        accepted = {0: subs[0], 1: subs[1], i: dict(subs[i], after=alt)}
        assert p.text_of("#restored") == apply_edits(seed, [*debris, *accepted.values()])


def test_copy_and_download(fast_server, make_page):
    seed = SEED_ARTICLE.read_text(encoding="utf-8")
    p = make_page()
    page = p.page
    p.open(fast_server.url + "/")
    api = p.check(seed)
    page.click("#accept-all")
    with page.expect_download() as d:
        page.click("#download")
    assert Path(d.value.path()).read_text(encoding="utf-8") == api["restored"]
    assert d.value.suggested_filename == "restored.txt"

    import json

    from unspin import apply_plan

    with page.expect_download() as d:
        page.click("#download-plan")
    plan = json.loads(Path(d.value.path()).read_text(encoding="utf-8"))
    assert apply_plan(seed, plan["edits"]) == api["restored"]  # replays with unspin apply

    page.click("#copy")
    expect(page.locator("#toast")).to_contain_text("copied")
    assert page.evaluate("navigator.clipboard.readText()") == api["restored"]


def test_offsets_past_characters_outside_the_bmp(fast_server, make_page):
    # The server counts code points, JavaScript UTF-16 units: an emoji is one
    # and two.  The highlights and the restored text must still line up.
    text = "🙂🙂 Putin is anticipated to go to Kazakhstan for an official go to. 🇰🇿 The economic system at all times comes first."
    p = make_page()
    page = p.page
    p.open(fast_server.url + "/")
    api = p.check(text)
    subs = [e for e in api["edits"] if e["kind"] == "substitution"]
    assert subs
    marks = page.locator("#doc mark.span")
    for i, e in enumerate(api["edits"]):
        assert marks.nth(i).text_content() == e["before"]
    page.click("#accept-all")
    assert p.text_of("#restored") == api["restored"]


def test_open_html_file(fast_server, make_page):
    p = make_page()
    page = p.page
    p.open(fast_server.url + "/")
    html = (
        "<!doctype html><html><head><title>Page</title><script>track()</script></head><body>"
        "<nav>Home | News</nav><h1>Visit</h1><p>Putin is anticipated to <b>go to</b> Kazakhstan.</p>"
        "<footer>(c) 2023</footer></body></html>"
    )
    page.set_input_files("#file-input", files=[{"name": "page.html", "mimeType": "text/html", "buffer": html.encode()}])
    expect(page.locator("#text")).to_have_value("Visit\n\nPutin is anticipated to go to Kazakhstan.")
    page.set_input_files("#file-input", files=[{"name": "a.txt", "mimeType": "text/plain", "buffer": "Plain text.\n".encode()}])
    expect(page.locator("#text")).to_have_value("Plain text.\n")


def test_sources_side_by_side(fast_server, make_page):
    src = SOURCES[0]
    spun = spin(src["text"], seed=3, rate=0.3).text
    p = make_page()
    page = p.page
    p.open(fast_server.url + "/")
    expect(page.locator("#server-mode")).to_contain_text("3 documents")
    p.check(spun)
    expect(page.locator("#matches li").first).to_contain_text(src["id"])
    expect(page.locator("#matches li").first.locator("a")).to_have_attribute("href", src["url"])
    expect(page.locator("#compare")).to_be_visible()
    expect(page.locator("#cmp-source")).to_have_text(src["text"])
    expect(page.locator("#cmp-query")).to_have_text(spun)
    n_subs = page.locator("#cmp-query mark.sub").count()
    assert n_subs > 0 and n_subs == page.locator("#cmp-source mark.sub").count()
    first = page.locator("#cmp-query mark.sub").first
    pair = first.get_attribute("data-sub")
    first.hover()
    expect(page.locator(f'#cmp-source mark.sub[data-sub="{pair}"]')).to_have_class(_has("hot"))


def test_unrelated_text_has_no_source(fast_server, make_page):
    p = make_page()
    page = p.page
    p.open(fast_server.url + "/")
    p.check(SEED_ARTICLE.read_text(encoding="utf-8"))
    expect(page.locator("#sources-empty")).to_contain_text("No indexed source")
    expect(page.locator("#matches li")).to_have_count(0)


def test_api_docs_work_offline(fast_server, make_page):
    pytest.importorskip("fastapi_offline", reason="without fastapi-offline, /docs loads Swagger UI from a CDN")
    p = make_page()
    page = p.page
    page.goto(fast_server.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("unspin")
    expect(page.locator(".opblock-summary-path", has_text="/v1/restore")).to_be_visible()
