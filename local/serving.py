"""A threaded werkzeug server that reports a taken port as OSError.

werkzeug's `make_server` prints its own message and calls `sys.exit(1)` when the port is
taken; binding the socket here first lets callers say which setting to change.
"""
from __future__ import annotations

import socket
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

HOST = "127.0.0.1"


class QuietRequestHandler(WSGIRequestHandler):
    """No werkzeug access line per request (it would print query strings); errors still log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def listen(
    port: int, app: Any, request_handler: type[WSGIRequestHandler] = QuietRequestHandler
) -> BaseWSGIServer:
    """Bind 127.0.0.1:`port` (0 picks a free port) and wrap it in a threaded server.

    Raises OSError when the port cannot be bound. Call `serve_forever()` to serve.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)
        return make_server(
            HOST, sock.getsockname()[1], app,
            threaded=True, request_handler=request_handler, fd=sock.fileno(),
        )
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor
