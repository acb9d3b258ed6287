"""``pulsewire broker``: the embedded Kafka-compatible broker on its own, for external producers
and consumers (an integrator's CRM or HR connector, a test of a consumer of ``alerts.*``)."""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
from pathlib import Path

import typer


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def register(app: typer.Typer) -> None:
    @app.command()
    def broker(
        port: int = typer.Option(0, "--port", min=0, max=65535, help="Kafka port; 0 picks a free one."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on and advertise to clients."),
        data_dir: Path = typer.Option(Path("pulsewire-broker"), "--data-dir",
                                      help="Where the broker keeps its topics (kept between runs) and broker.log."),
        as_json: bool = typer.Option(False, "--json", help="Print the ready line as one JSON object."),
    ):
        """Run the embedded Kafka-compatible broker (noida-db) in the foreground and print its address.

        Ctrl-C or SIGTERM stops it and the broker process it started (its data is saved). Point
        PULSEWIRE_BROKER_URL=kafka://ADDRESS at it to run 'pulsewire topics' and a worker, or any
        Kafka client. Consumers in a group must close() before they exit: noida-db 0.2.3 keeps a
        dead member in its group, which blocks the group until the broker restarts."""
        from pulsewire.infra.broker.embedded import BrokerError, EmbeddedBroker

        from .errors import EXIT_FAILED, fail, first_line

        if port and not _port_is_free(host, port):
            fail(f"port {port} on {host} is in use (or not an address of this machine): pass another "
                 f"--port, or --port 0 for a free one")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        embedded = EmbeddedBroker(data_dir, host=host, port=port or None, die_with_parent=True)
        try:
            bootstrap = embedded.start()
        except BrokerError as exc:
            fail(f"the broker did not start: {first_line(exc)} (see {data_dir / 'broker.log'})", EXIT_FAILED)
        ready = {"bootstrap": bootstrap, "broker_url": f"kafka://{bootstrap}", "pid": embedded.proc.pid,
                 "data_dir": str(data_dir.resolve())}
        if as_json:
            typer.echo(json.dumps(ready))
        else:
            typer.echo(f"broker ready on {bootstrap} (PULSEWIRE_BROKER_URL=kafka://{bootstrap}); "
                       f"pid {ready['pid']}, data in {ready['data_dir']}; Ctrl-C stops it")
        sys.stdout.flush()
        try:
            while not stop.wait(0.5):
                code = embedded.proc.poll()
                if code is not None:
                    embedded.stop()
                    fail(f"the broker exited by itself with status {code} (see {data_dir / 'broker.log'})",
                         EXIT_FAILED)
        finally:
            embedded.stop()
        typer.echo("broker stopped", err=True)
