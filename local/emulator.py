"""The local AWS emulator: moto's server app, one request at a time.

moto's threaded server lets two requests run inside a backend at once, so two concurrent
conditional writes (`attribute_not_exists`, `last_step < :step`) can both succeed, which
DynamoDB never allows. The security rules lean on exactly those writes (one use per code),
so every request here runs under one lock: the emulator is slower under load but its
conditional writes are atomic, as DynamoDB's are.

    python -m local.emulator --port 5000
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer

from local.serving import HOST, QuietRequestHandler, listen

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialisedApp:
    """WSGI wrapper that runs each request, body included, under one lock."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            if environ.get("PATH_INFO") == TEXTS_PATH:
                return _texts(start_response)
            result = self._app(environ, start_response)
            try:
                # Drain the iterable inside the lock: a lazy body could still be doing work.
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


# The texts SNS received, in the shape of `/moto-api/data.json`'s `sns.SMS` (which also dumps
# every DynamoDB item, and so takes seconds once the tables hold a few hundred accounts).
TEXTS_PATH = "/_emulator/sms.json"


def _texts(start_response: Callable[..., Any]) -> list[bytes]:
    import json

    from moto.sns.models import sns_backends

    texts = [{"message_id": message_id, "phone_number": number, "message": message}
             for _, _, backend in sns_backends.iter_backends()
             for message_id, (number, message) in backend.sms_messages.items()]
    body = json.dumps(texts).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class QuietMotoRequestHandler(MotoRequestHandler, QuietRequestHandler):
    """moto's request handler without the per-request access line."""


def make_emulator_app() -> SerialisedApp:
    return SerialisedApp(DomainDispatcherApplication(create_backend_app))


class Emulator:
    """moto server on 127.0.0.1:`port` in a background thread (port 0 picks a free one).

    `start()` raises OSError when the port is taken.
    """

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> "Emulator":
        self._server = listen(self._port, make_emulator_app(), QuietMotoRequestHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="moto-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        emulator = Emulator(args.port).start()
    except OSError as exc:
        print(f"emulator: cannot listen on {HOST}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"AWS emulator (moto, serialised) at {emulator.url}", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
