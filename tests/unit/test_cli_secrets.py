"""No secret reaches any output of any ``pulsewire`` command: stdout, stderr, or a file it writes.

Each command runs as a user would, with a canary in every place a secret can come from (the
password inside the store URL, ``PULSEWIRE_STORE_PASSWORD``, the pseudonym key, Grafana's token, a
webhook's secret, the Kafka SASL password), on success paths and on the error paths that name the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pulsewire.infra.broker.embedded import free_port

from .test_cli_user_errors import pulsewire

CANARIES = {
    "url": "CanaryUrlPw9f3e",
    "password": "CanaryStorePw51c",
    "key": "CanaryPseudonymKey7d2a0b",
    "grafana": "CanaryGrafanaTok44",
    "webhook": "CanaryWebhookSecret0e",
    "kafka": "CanaryKafkaSaslPw3b",
}


def _env(store_url: str) -> dict:
    return {"PULSEWIRE_STORE_URL": store_url, "PULSEWIRE_STORE_PASSWORD": CANARIES["password"],
            "PULSEWIRE_PSEUDONYM_KEY": CANARIES["key"], "GRAFANA_TOKEN": CANARIES["grafana"],
            "FD_TOKEN": CANARIES["webhook"], "PULSEWIRE_BROKER_SASL_MECHANISM": "SCRAM-SHA-512",
            "PULSEWIRE_BROKER_SASL_USERNAME": "pulse", "PULSEWIRE_BROKER_SASL_PASSWORD": CANARIES["kafka"]}


def _leaks(res, root: Path) -> list[str]:
    """Every (canary, place) where a secret shows up: the command's output and every file under root."""
    places = {"stdout": res.stdout, "stderr": res.stderr}
    for p in root.rglob("*"):
        if p.is_file() and "clickhouse" not in p.parts:  # the store's own files are not output
            places[str(p.relative_to(root))] = p.read_bytes().decode("utf-8", "replace")
    return [f"{name} in {where}" for where, text in places.items() for name, c in CANARIES.items() if c in text]


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("secrets") / "clickhouse"
    make = "import sys; from pulsewire.streams.store import open_store\nopen_store(sys.argv[1]).close()"
    subprocess.run([sys.executable, "-c", make, f"chdb://{root}"], check=True, timeout=120)
    return root


def test_no_command_prints_or_writes_a_secret(tmp_path, store_path):
    dead = f"http://pulse:{CANARIES['url']}@127.0.0.1:{free_port()}/pulsewire"
    # a chDB URL may carry user info too (it is ignored): the board renders whatever URL it read
    with_userinfo = f"chdb://pulse:{CANARIES['url']}@{store_path}"
    (tmp_path / "hook.toml").write_text('[[routes]]\nprovider = "freshdesk"\n')
    (tmp_path / "hook_ok.toml").write_text('port = 1\n[[routes]]\nprovider = "freshdesk"\nsecret_env = "FD_TOKEN"\n')
    runs = [
        (["summary"], dead),
        (["-v", "summary", "--json"], dead),
        (["board", "-o", "dead.html"], dead),
        (["board", "--store-url", dead, "-o", "dead2.html"], dead),
        (["board", "--store-url", with_userinfo, "-o", "board.html"], dead),
        (["board", "--store-url", with_userinfo, "-o", "board2.html", "--json"], dead),
        (["summary"], with_userinfo),
        (["grafana", "export", "--root", "export"], dead),
        (["grafana", "sync", "--url", f"http://127.0.0.1:{free_port()}"], dead),
        (["connect", "webhook", "--config", "hook.toml"], dead),
        (["score"], dead),
        (["notice"], dead),
        (["notice", "--format", "html", "-o", "notice.html"], dead),
        (["export", "--customer", "cus-1"], dead),
        (["export", "--employee", "emp-0001", "--store-url", with_userinfo, "-o", "export.json"], dead),
    ]
    (tmp_path / "export" / "dashboards").mkdir(parents=True)
    leaks, outcomes = [], []
    for args, url in runs:
        res = pulsewire(*args, cwd=tmp_path, env=_env(url), stdin="a lovely day\n")
        assert "Traceback" not in res.stderr, (args, res.stderr)
        outcomes.append((args, res.returncode))
        leaks += [f"{' '.join(args)}: {leak}" for leak in _leaks(res, tmp_path)]
    assert (tmp_path / "board.html").stat().st_size > 10_000  # the board was rendered, not refused
    assert dict((tuple(a), rc) for a, rc in outcomes)[("board", "--store-url", with_userinfo, "-o", "board.html")] == 0
    assert (tmp_path / "notice.html").stat().st_size > 5_000
    assert dict((tuple(a), rc) for a, rc in outcomes)[("export", "--employee", "emp-0001", "--store-url", with_userinfo,
                                                       "-o", "export.json")] == 3  # looked up, nothing held
    assert leaks == []
