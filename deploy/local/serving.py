"""A socket server run in a background thread, started and stopped with the local cloud."""

from __future__ import annotations

import socketserver
import threading


class BackgroundServer:
    def __init__(self, server: socketserver.BaseServer) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()  # release the port
        self._thread.join(timeout=5)
