"""`make run`: the whole product on this machine.

Starts the AWS emulator, deploys infra/template.yaml into it, points every AWS client at
it, then serves the app and the front end through the local gateway:

    python -m local.run          # TWOSTEP_PORT (8000), TWOSTEP_MOTO_PORT (5000)

Ctrl-C or SIGTERM stops both servers and exits 0; a port in use exits 1.
"""
from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from werkzeug.serving import BaseWSGIServer

from local import stack
from local.emulator import Emulator
from local.serving import HOST, listen

log = logging.getLogger("local.run")


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"{name} must be a port number, not {raw!r}")
    return int(raw)


def _starting(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers while the stack deploys, so early requests get 503 rather than hang."""
    start_response("503 Service Unavailable", [("Content-Type", "application/json")])
    return [b'{"error":{"code":"unavailable","message":"Starting."}}']


def _pin_environment(values: dict[str, str]) -> None:
    for name in stack.REMOVED_ENV:
        os.environ.pop(name, None)
    os.environ.update(values)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # A signal during start-up is honoured once start-up is done, then everything stops.
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    app_port = _port("TWOSTEP_PORT", 8000)
    moto_port = _port("TWOSTEP_MOTO_PORT", 5000)

    # Bind both ports before doing any work, so a clash fails at once and clearly.
    try:
        server: BaseWSGIServer = listen(app_port, _starting)
    except OSError as exc:
        print(f"error: cannot listen on {HOST}:{app_port} (TWOSTEP_PORT): {exc.strerror}", file=sys.stderr)
        return 1
    try:
        emulator = Emulator(moto_port).start()
    except OSError as exc:
        server.server_close()
        print(f"error: cannot listen on {HOST}:{moto_port} (TWOSTEP_MOTO_PORT): {exc.strerror}", file=sys.stderr)
        return 1

    serving = threading.Thread(target=server.serve_forever, name="gateway", daemon=True)
    serving.start()
    try:
        started = time.perf_counter()
        _pin_environment(stack.aws_env(emulator.url))
        outputs = stack.deploy(emulator.url)
        stack.configure_sms(emulator.url)
        _pin_environment(outputs)
        log.info("stack deployed into the emulator in %.2fs", time.perf_counter() - started)

        # Only now: the app may read its settings or build clients when imported.
        from local.gateway import make_app

        chalice_app = importlib.import_module("app").app
        server.app = make_app(chalice_app, stack.REPO_ROOT / "frontend", local=True)
    except BaseException:
        server.shutdown()
        server.server_close()
        emulator.stop()
        raise

    print(f"twostep:      http://{HOST}:{app_port}", flush=True)
    print(f"              http://localhost:{app_port} for security keys and passkeys "
          "(browsers refuse them on an IP address)", flush=True)
    print(f"AWS emulator: {emulator.url}", flush=True)
    print("Ctrl-C to stop.", flush=True)

    stopping.wait()
    print("stopping...", flush=True)
    server.shutdown()
    server.server_close()
    serving.join(timeout=5)
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
