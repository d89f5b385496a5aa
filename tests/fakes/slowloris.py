"""A slow-loris HTTP server: a valid answer, sent one byte at a time.

Every read the client makes gets a byte before its per-read timeout, so only a deadline on the
whole request stops the client (issue 12: one byte every 0.5 s kept ``timeout=2`` calls alive
past 150 s). ``mode="headers"`` trickles the status line and headers too; ``mode="body"`` sends
the head at once and trickles the body. Any path and method get the same answer.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

__all__ = ["SlowLorisServer"]


class SlowLorisServer:
    """Serves on ``127.0.0.1:<ephemeral port>`` until :meth:`stop`; use as a context manager."""

    def __init__(self, interval: float = 0.1, mode: str = "headers", body: bytes = b"[]") -> None:
        if mode not in ("headers", "body"):
            raise ValueError("mode is 'headers' or 'body'")
        self.interval = interval
        self.mode = mode
        padding = b" " * 4000  # long enough that no client reads it all before its deadline
        self.body = body + padding
        self.connections = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> SlowLorisServer:
        """Accept connections in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and end every trickle."""
        self._stopped.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def __enter__(self) -> SlowLorisServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(self.body)}\r\n\r\n".encode()
        )
        try:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            if self.mode == "body":
                conn.sendall(head)
                payload = self.body
            else:
                payload = head + self.body
            for i in range(len(payload)):
                if self._stopped.is_set():
                    return
                conn.sendall(payload[i : i + 1])
                time.sleep(self.interval)
        except OSError:
            return  # the client gave up: what the tests want
        finally:
            conn.close()
