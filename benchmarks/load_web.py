"""Load check of the web API on loopback: concurrent clients against POST /v1/detect.

    .venv/bin/python benchmarks/load_web.py [--clients 8] [--duration 30] [--fast]
    .venv/bin/python benchmarks/load_web.py --url http://127.0.0.1:8000   # a running server

Without ``--url`` it starts ``unspin serve`` itself on a free port of
127.0.0.1 (``--fast``: the server's fast mode) and stops it at the end.
Only loopback addresses are accepted as targets.

Each client sends one request at a time, news-length articles in turn
(held-out test articles of at least ``--min-words`` words from the Lee news
corpus in the gensim wheel, spun by ``unspin.spin``; the seed article when
gensim is missing).  Clients stop sending when ``--duration`` seconds have
passed or ``--max-requests`` have been sent, then wait for their last
answer (at most ``--timeout`` seconds), so the run is bounded in time and
requests and stops by itself.  Meanwhile a prober times ``GET /healthz``
every half second: it should stay fast while the engine is busy.

Reported: requests, errors (any non-200 answer or failed request; must be
0), throughput (requests and words per second), latency p50/p90/p99/max,
and /healthz latency.  ``-o FILE`` also writes the figures as JSON.
"""
from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def articles(n: int, min_words: int) -> list[str]:
    """``n`` spun news-length articles (deterministic)."""
    from unspin.spin import spin
    from unspin.text import word_count

    try:
        from unspin.corpus import documents, split

        docs = [d.text for d in split(documents("news"), "test") if word_count(d.text) >= min_words]
    except Exception:  # gensim missing: the corpus is an optional extra
        docs = []
    if not docs:
        return [(ROOT / "examples" / "seed_spun_article.txt").read_text(encoding="utf-8")]
    return [spin(t, seed=i, rate=0.3).text for i, t in enumerate(docs[:n])]


def percentile(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def check_loopback(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if parts.scheme != "http" or not ok:
        raise SystemExit(f"load_web: only http:// on a loopback address is allowed, not {url!r}")
    return host, parts.port or 80


def start_server(fast: bool, timeout: float = 300) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "unspin.web.cli", "--port", "0", "--no-access-log"]
    if fast:
        cmd.append("--fast")
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(r"serving (http://\S+?)/ ", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, m.group(1)
    proc.kill()
    raise SystemExit("load_web: the server did not start:\n" + "".join(seen))


class Client(threading.Thread):
    def __init__(self, host, port, texts, start_at, stop_at, budget, timeout, results, lock):
        super().__init__(daemon=True)
        self.host, self.port = host, port
        self.texts = texts
        self.start_at, self.stop_at = start_at, stop_at
        self.budget = budget  # shared counter of requests left
        self.timeout = timeout
        self.results = results
        self.lock = lock

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        i = 0
        while time.monotonic() < self.stop_at:
            with self.lock:
                if self.budget[0] <= 0:
                    break
                self.budget[0] -= 1
            text = self.texts[i % len(self.texts)]
            i += 1
            body = json.dumps({"text": text}).encode("utf-8")
            t0 = time.perf_counter()
            status, err = 0, None
            try:
                conn.request("POST", "/v1/detect", body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                payload = resp.read()
                status = resp.status
                if status != 200:
                    err = f"HTTP {status}: {payload[:200]!r}"
                else:
                    words = json.loads(payload)["words"]
            except Exception as e:  # a failed request is counted, not fatal
                err = f"{type(e).__name__}: {e}"
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            dt = time.perf_counter() - t0
            with self.lock:
                self.results.append({"latency": dt, "error": err, "words": 0 if err else words, "end": time.monotonic()})
        conn.close()


def probe_health(host, port, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            out.append(time.perf_counter() - t0)
        except Exception:
            out.append(float("inf"))
        stop.wait(0.5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=None, help="a running server (loopback only); default: start one")
    ap.add_argument("--fast", action="store_true", help="start the server in fast mode (no language model)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=30.0, help="seconds during which requests are sent")
    ap.add_argument("--max-requests", type=int, default=5000, help="most requests sent in all")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a client waits for one answer")
    ap.add_argument("--articles", type=int, default=40, help="distinct articles cycled through")
    ap.add_argument("--min-words", type=int, default=250, help="shortest article used, in words")
    ap.add_argument("-o", "--output", default=None, help="also write the figures as JSON")
    args = ap.parse_args(argv)

    texts = articles(args.articles, args.min_words)
    from unspin.text import word_count

    lengths = [word_count(t) for t in texts]
    proc = None
    if args.url is None:
        print(f"load_web: starting unspin serve{' --fast' if args.fast else ''} ...", file=sys.stderr)
        proc, url = start_server(args.fast)
    else:
        url = args.url.rstrip("/")
    host, port = check_loopback(url)
    print(
        f"load_web: {args.clients} clients for {args.duration:.0f} s against {url}/v1/detect; "
        f"{len(texts)} articles of {min(lengths)}-{max(lengths)} words (mean {sum(lengths) / len(lengths):.0f})",
        file=sys.stderr,
    )

    results: list[dict] = []
    health: list[float] = []
    lock = threading.Lock()
    budget = [args.max_requests]
    t_start = time.monotonic()
    stop_at = t_start + args.duration
    clients = [
        Client(host, port, texts[k % len(texts):] + texts[: k % len(texts)], t_start, stop_at, budget, args.timeout, results, lock)
        for k in range(args.clients)
    ]
    stop = threading.Event()
    prober = threading.Thread(target=probe_health, args=(host, port, stop, health), daemon=True)
    prober.start()
    try:
        for c in clients:
            c.start()
        for c in clients:
            c.join(args.duration + args.timeout + 5)
    finally:
        stop.set()
        prober.join(15)
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    t_end = max((r["end"] for r in results), default=time.monotonic())
    wall = t_end - t_start

    ok = [r for r in results if not r["error"]]
    errors = [r["error"] for r in results if r["error"]]
    lat = [r["latency"] for r in ok]
    figures = {
        "url": url,
        "mode": "fast" if args.fast else ("lm" if args.url is None else "server default"),
        "clients": args.clients,
        "duration_s": args.duration,
        "wall_s": round(wall, 2),
        "requests": len(results),
        "ok": len(ok),
        "errors": len(errors),
        "error_samples": errors[:5],
        "throughput_rps": round(len(ok) / wall, 3) if wall > 0 else 0.0,
        "throughput_words_per_s": round(sum(r["words"] for r in ok) / wall, 1) if wall > 0 else 0.0,
        "mean_words": round(sum(lengths) / len(lengths), 1),
        "latency_s": {
            "p50": round(percentile(lat, 50), 3),
            "p90": round(percentile(lat, 90), 3),
            "p99": round(percentile(lat, 99), 3),
            "max": round(max(lat), 3),
        } if lat else None,
        "healthz_s": {
            "probes": len(health),
            "p50": round(percentile(health, 50), 4),
            "p99": round(percentile(health, 99), 4),
            "max": round(max(health), 4),
        } if health else None,
    }
    print(f"requests      {figures['requests']} ({figures['ok']} ok, {figures['errors']} errors) in {wall:.1f} s")
    print(f"throughput    {figures['throughput_rps']} requests/s, {figures['throughput_words_per_s']} words/s")
    if lat:
        L = figures["latency_s"]
        print(f"latency       p50 {L['p50']:.3f} s, p90 {L['p90']:.3f} s, p99 {L['p99']:.3f} s, max {L['max']:.3f} s")
    if health:
        H = figures["healthz_s"]
        print(f"/healthz      p50 {H['p50'] * 1000:.1f} ms, p99 {H['p99'] * 1000:.1f} ms, max {H['max'] * 1000:.1f} ms ({H['probes']} probes)")
    for e in figures["error_samples"]:
        print(f"error         {e}")
    if args.output:
        Path(args.output).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
