"""A TCP relay from a loopback port to a real server: a service that comes up, or whose
connections are cut or go silent, mid-test."""

import contextlib
import socket
import threading


class TcpRelay:
    """Accepts on 127.0.0.1:`port` and forwards each connection to `target` until closed."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", port))
        self.sockets: list[socket.socket] = [self.listener]
        # One per connection, set once it is silenced; new ones answer unless `_silent_new`.
        self._silenced: list[threading.Event] = []
        self._silent_new = False
        # Accepted sockets that their client has not closed yet.
        self._open: set[socket.socket] = set()
        # Set: what the server sends is swallowed, on every connection (`drop_replies`).
        self._replies_dropped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.sockets.append(client)
            self._open.add(client)
            silenced = threading.Event()
            self._silenced.append(silenced)
            if self._silent_new:
                # Accepted by the kernel, never answered: a hung server, a black-holed route.
                silenced.set()
                threading.Thread(
                    target=self._from_client, args=(client, None, silenced), daemon=True
                ).start()
                continue
            server = socket.create_connection(self.target)
            self.sockets.append(server)
            threading.Thread(
                target=self._from_client, args=(client, server, silenced), daemon=True
            ).start()
            threading.Thread(
                target=self._pump,
                args=(server, client, silenced, self._replies_dropped),
                daemon=True,
            ).start()

    def _from_client(
        self, client: socket.socket, server: socket.socket | None, silenced: threading.Event
    ) -> None:
        self._pump(client, server, silenced)
        self._open.discard(client)

    @staticmethod
    def _pump(
        source: socket.socket,
        sink: socket.socket | None,
        silenced: threading.Event,
        dropped: threading.Event | None = None,
    ) -> None:
        """Forward until `source` closes; once `silenced` (or while `dropped` is set), swallow
        what it sends instead."""
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                swallowed = silenced.is_set() or (dropped is not None and dropped.is_set())
                if sink is not None and not swallowed:
                    sink.sendall(data)
        if sink is not None and not silenced.is_set():
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def silence(self, *, new_connections: bool = True) -> None:
        """From now on swallow what either side sends on the connections made so far, closing
        nothing (the server hangs, or the route to it drops every packet); with
        `new_connections`, accept later ones too but answer nothing on them."""
        self._silent_new = new_connections
        for silenced in self._silenced:
            silenced.set()

    def drop_replies(self) -> None:
        """Pass the client's commands on, but swallow what the server answers, on every
        connection, until `forward_replies`: the server runs a command whose reply never comes."""
        self._replies_dropped.set()

    def forward_replies(self) -> None:
        self._replies_dropped.clear()

    def answer_new_connections(self) -> None:
        """Forward the connections accepted from now on (the server is back); those silenced
        stay silent, as a client's connections across a restart or a partition do."""
        self._silent_new = False

    @property
    def accepted_connections(self) -> int:
        """Connections accepted so far."""
        return len(self._silenced)

    @property
    def open_connections(self) -> int:
        """Accepted connections that their client has not closed yet."""
        return len(self._open)

    def close(self) -> None:
        """Cut every connection and stop listening: the port is free again when this returns."""
        for sock in self.sockets:
            # shutdown() first: close() alone neither wakes a thread blocked in accept() or
            # recv() nor frees the port while one is.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
