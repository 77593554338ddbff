"""``unspin serve``: the web app and HTTP API under uvicorn.

:func:`register` adds the subcommand to the ``unspin`` parser; run without
it as ``python -m unspin.web.cli [--port N] ...``.

The server binds to 127.0.0.1 unless told otherwise.  It checks what it can
before it starts (the extra is installed, the index opens, the port is
free), so that a mistake is one ``unspin: error:`` line, not a traceback.
The language model loads before the first connection is accepted: once the
"serving" line is printed, requests are answered at full speed.
"""
from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import socket
import sys
from typing import Any

PROG = "unspin"

_DESCRIPTION = """\
Serve the web page and the HTTP API: paste an article, see its suspicious
spans with their evidence, accept or reject each suggestion, and (with
--index) find the source it was spun from.  The API (POST /v1/detect,
/v1/restore, /v1/trace; GET /healthz, /version) is described at /docs.

The language model loads once, at start-up (skipped with --fast).  Requests
are answered one at a time by the engine; others wait in a queue."""

_EPILOG = """\
examples:
  unspin serve                       # then open http://127.0.0.1:8000/
  unspin serve --port 9000 --index sources.db
  curl -s localhost:8000/v1/detect -H 'content-type: application/json' \\
       -d '{"text": "The economic system at all times comes first."}'"""


def _port(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {s!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {n}")
    return n


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only; "
        "0.0.0.0 exposes the unauthenticated API to the network)",
    )
    p.add_argument("--port", type=_port, default=8000, help="port to listen on; 0 picks a free one (default: %(default)s)")
    p.add_argument(
        "--index",
        default=None,
        metavar="DB",
        help="a source index (made with 'unspin trace index') to enable tracing: POST /v1/trace and the page's sources view",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="default to fast mode (no language model; it is not loaded at start-up, "
        "but a request that asks for it still gets it)",
    )
    p.add_argument("--log-level", choices=("error", "warning", "info", "debug"), default="info", help="server log detail (default: %(default)s)")
    p.add_argument("--no-access-log", dest="access_log", action="store_false", help="do not log each request")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to ``unspin``'s subcommands; it sets ``func=cmd_serve``."""
    p = subparsers.add_parser(
        "serve",
        help="run the web page and HTTP API on this machine",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(func=cmd_serve)
    return p


def _require_web_extra() -> None:
    for mod in ("fastapi", "uvicorn"):
        try:
            __import__(mod)
        except ModuleNotFoundError:
            raise ModuleNotFoundError(
                f"the web app needs {mod}: pip install 'unspin[web]'", name=mod
            ) from None


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, so that a busy port is an error before any loading."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ValueError(f"cannot listen on {host!r}: {e.strerror}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ValueError(f"port {port} on {host} is already in use; choose another with --port") from None
        raise ValueError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    _require_web_extra()
    import uvicorn

    from ..config import Config
    from .app import create_app

    if args.index is not None:
        from ..index import Index

        Index.open(args.index, readonly=True).close()  # a missing or foreign file fails here, in one line

    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"

    logging.basicConfig(format=f"{PROG}: %(message)s", level=getattr(logging, args.log_level.upper()), stream=sys.stderr)
    log = logging.getLogger("unspin.web")
    if args.log_level == "info":
        # uvicorn's own start-up chatter; the access log and ours stay.
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    if not _is_loopback(args.host):
        log.warning("warning: listening on %s: anyone who can reach this machine can use the API (no authentication)", args.host)

    app = create_app(Config(fast=args.fast), index_path=args.index)

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if not self.should_exit:
                print(f"{PROG}: serving {url} (API docs at {url}docs); Ctrl-C to stop", file=sys.stderr, flush=True)

    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        access_log=args.access_log,
        log_config=None,  # keep the logging set up above: one "unspin:" prefix
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shut down gracefully, then re-raised the Ctrl-C.
        print(f"{PROG}: stopped", file=sys.stderr)
        return 130
    finally:
        sock.close()
    return 0 if server.started else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m unspin.web.cli``: ``unspin serve`` before it is registered."""
    parser = argparse.ArgumentParser(prog=f"{PROG} serve", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_serve(args)
    except (ValueError, OSError, ModuleNotFoundError) as e:
        msg = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) and e.filename and e.strerror else str(e)
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
