#!/usr/bin/env python3
"""Readiness probe for infra/kafka/kafka.sh (standard library only: runs before any venv exists).

    python3 probe.py HOST PORT [TIMEOUT_S]

Sends ApiVersions, then a Metadata request (a non-flexible version, v4..v8, that the broker
advertises) and exits 0 when the broker answers with at least one live broker; otherwise 1.
Prints "cluster_id=... brokers=N" on success.
"""
from __future__ import annotations

import socket
import struct
import sys

API_METADATA = 3
API_VERSIONS = 18


def _request(sock: socket.socket, api_key: int, version: int, corr: int, body: bytes) -> bytes:
    client_id = b"pulsewire-probe"
    header = struct.pack(">hhih", api_key, version, corr, len(client_id)) + client_id
    msg = header + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    size = struct.unpack(">i", _recv(sock, 4))[0]
    payload = _recv(sock, size)
    (got,) = struct.unpack(">i", payload[:4])
    if got != corr:
        raise RuntimeError(f"correlation id {got} != {corr}")
    return payload[4:]


def _recv(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def probe(host: str, port: int, timeout: float) -> str:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        body = _request(sock, API_VERSIONS, 0, 1, b"")
        err, n = struct.unpack(">hi", body[:6])
        ranges = {}
        off = 6
        for _ in range(n):
            key, lo, hi = struct.unpack(">hhh", body[off:off + 6])
            ranges[key] = (lo, hi)
            off += 6
        if err not in (0, 35):  # 35 = UNSUPPORTED_VERSION still lists the ranges
            raise RuntimeError(f"ApiVersions error {err}")
        lo, hi = ranges.get(API_METADATA, (0, 0))
        candidates = [v for v in range(4, 9) if lo <= v <= hi]
        if not candidates:
            raise RuntimeError(f"no non-flexible Metadata version in broker range {lo}..{hi}")
        version = candidates[-1]
        req = struct.pack(">i", 0) + b"\x00"  # no topics, allow_auto_topic_creation=false
        if version >= 8:
            req += b"\x00\x00"  # include cluster/topic authorized operations = false
        resp = _request(sock, API_METADATA, version, 2, req)
        off = 4  # throttle_time_ms
        (n_brokers,) = struct.unpack(">i", resp[off:off + 4])
        off += 4
        for _ in range(n_brokers):
            off += 4  # node_id
            (hl,) = struct.unpack(">h", resp[off:off + 2])
            off += 2 + hl + 4  # host, port
            (rl,) = struct.unpack(">h", resp[off:off + 2])
            off += 2 + max(rl, 0)
        (cl,) = struct.unpack(">h", resp[off:off + 2])
        cluster = resp[off + 2:off + 2 + cl].decode() if cl >= 0 else None
        if n_brokers < 1:
            raise RuntimeError("metadata lists no brokers yet")
        return f"cluster_id={cluster} brokers={n_brokers}"


def main(argv: list[str]) -> int:
    host, port = argv[1], int(argv[2])
    timeout = float(argv[3]) if len(argv) > 3 else 2.0
    try:
        print(probe(host, port, timeout))
        return 0
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        print(f"not ready: {exc!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
