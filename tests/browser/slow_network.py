"""A TCP relay in front of the live server that passes uploads on slowly, like a slow uplink.

Chrome's own network throttling delays a request but reports its upload progress as done at
once, so a test that wants to watch an upload bar move needs the bytes to really go slowly. The
first few megabytes still go at once, into socket buffers: the file must be larger than that."""

import contextlib
import socket
import threading
import time

CHUNK = 16 * 1024


class SlowUplink:
    def __init__(self, target_port: int, *, bytes_per_second: int) -> None:
        self.target_port = target_port
        self.bytes_per_second = bytes_per_second
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.closing = threading.Event()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while not self.closing.is_set():
            try:
                browser_side, _ = self.listener.accept()
            except OSError:
                return
            server_side = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self.pump, args=(browser_side, server_side, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(server_side, browser_side, False), daemon=True).start()

    def pump(self, source: socket.socket, sink: socket.socket, is_upload: bool) -> None:
        try:
            while data := source.recv(CHUNK):
                sink.sendall(data)
                if is_upload:
                    time.sleep(len(data) / self.bytes_per_second)
        except OSError:
            pass
        finally:
            for side in (source, sink):
                with contextlib.suppress(OSError):
                    side.shutdown(socket.SHUT_RDWR)
                side.close()

    def close(self) -> None:
        self.closing.set()
        self.listener.close()

    def __enter__(self) -> "SlowUplink":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
