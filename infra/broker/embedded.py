"""Launch a Kafka-compatible broker from PyPI on loopback: the embedded default.

We use noida-db (one Rust binary speaking the Kafka protocol). Measured on
our machines it passes what the pipeline relies on: consumer-group commit and
resume, correct end offsets, idempotent producer, and Faust table recovery
after a worker restart (see docs/dependencies.md).

>>> broker = EmbeddedBroker(data_dir="/tmp/pw-doctest-broker")
>>> broker.bootstrap is None   # nothing starts until start()
True
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _binary() -> str:
    """The broker binary itself, not the ``noida-db`` console script: the script runs the
    binary as a child, and a signal to the script would leave the broker running."""
    try:
        import noida_db  # type: ignore

        cand = Path(noida_db.__file__).parent / "noida-db"
        if cand.exists():
            return str(cand)
    except ImportError:
        pass
    exe = shutil.which("noida-db")
    if exe:
        return exe
    raise BrokerError("noida-db is not installed: pip install noida-db==0.2.3")


class EmbeddedBroker:
    """Start/stop one broker process that we own; usable as a context manager."""

    def __init__(self, data_dir: str | Path, host: str = "127.0.0.1", port: int | None = None,
                 ready_timeout_s: float = 30.0, stop_timeout_s: float = 15.0, die_with_parent: bool = False):
        self.data_dir = Path(data_dir)
        # Linux: the kernel sends the broker SIGTERM when the thread that started it dies, even by
        # SIGKILL. Only for a launcher that starts it from its main thread and lives as long as it.
        self.die_with_parent = die_with_parent
        self.host = host
        self.port = port
        self.ready_timeout_s = ready_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.proc: subprocess.Popen | None = None
        self.bootstrap: str | None = None

    def start(self) -> str:
        if self.proc is not None:
            raise BrokerError("broker already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = self.port or free_port(self.host)
        log_path = self.data_dir / "broker.log"
        cmd = [_binary(), "start", "--data-dir", str(self.data_dir), "--host", self.host,
               "--only", "kafka", "--kafka-port", str(port)]
        with open(log_path, "ab") as logf:
            # own session: a Ctrl-C in the terminal reaches us, and we stop the broker in order
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True,
                                         preexec_fn=_terminate_with_parent if self.die_with_parent else None)
        self.port = port
        self.bootstrap = f"{self.host}:{port}"
        try:
            self._wait_ready(log_path)
        except Exception:
            self.stop()
            raise
        return self.bootstrap

    def _wait_ready(self, log_path: Path) -> None:
        from kafka import KafkaAdminClient

        from pulsewire.streams.kafka_security import KafkaConnection

        deadline = time.monotonic() + self.ready_timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise BrokerError(f"embedded broker exited with {self.proc.returncode}:\n{tail}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    pass
                admin = KafkaAdminClient(**KafkaConnection(self.bootstrap).kafka_python_kwargs(
                    request_timeout_ms=3000, client_id="pulsewire-ready-check"))
                admin.list_topics()
                admin.close()
                return
            except Exception as exc:
                last = exc
                time.sleep(0.2)
        raise BrokerError(f"embedded broker not ready on {self.bootstrap} after {self.ready_timeout_s}s: {last}")

    def stop(self) -> None:
        """Stop only the process we started; it saves its data on SIGTERM, so wait for it."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        # The broker runs in its own session (start_new_session): signal its whole process group,
        # so that nothing it started outlives it.
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("broker pid %s did not stop in %ss; killing it", proc.pid, self.stop_timeout_s)
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=5)
        _signal_group(proc, signal.SIGKILL)  # stragglers in the group, if any

    def __enter__(self) -> "EmbeddedBroker":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self):  # a forgotten broker must not outlive the interpreter
        if getattr(self, "proc", None) is not None:
            _signal_group(self.proc, signal.SIGKILL)


def _terminate_with_parent() -> None:
    """In the child before exec: ask Linux for SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's signal handlers are all there is
        pass


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
