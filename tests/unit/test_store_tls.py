"""ClickHouse over https: the server's certificate is verified, against PULSEWIRE_STORE_CA_FILE when set.

No ClickHouse server runs here, so a small https server stands in for one: what matters is whether
clickhouse-connect, built with our arguments, completes the TLS handshake and sends its first query."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pulsewire.streams.store import StoreError, http_client_args, open_store

from ..tls import make_ca
from .test_cli_user_errors import assert_user_error, pulsewire


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def https_server(ca):
    """An https endpoint with a certificate our test CA signed; records the requests that got through TLS."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append(self.path)
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"Code: 999. not a ClickHouse server")

        do_GET = do_POST

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(ca.cert_file, ca.key_file)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_https_urls_verify_the_server_against_the_ca_file(ca):
    args = http_client_args("https://ch.internal/analytics", user="pulsewire", password="pw", ca_file=ca.ca_file)
    assert (args["secure"], args["verify"], args["ca_cert"], args["port"]) == (True, True, str(ca.ca_file), 8443)
    plain = http_client_args("http://clickhouse:8123")
    assert plain["secure"] is False and "ca_cert" not in plain


def test_a_ca_file_with_an_http_url_or_a_missing_file_is_refused(ca, tmp_path):
    with pytest.raises(StoreError, match="use https://"):
        http_client_args("http://clickhouse:8123", ca_file=ca.ca_file)
    with pytest.raises(StoreError, match="no such file"):
        http_client_args("https://clickhouse:8443", ca_file=tmp_path / "missing.pem")


def test_the_client_trusts_the_server_through_the_ca_file_only(https_server, ca):
    url, seen = https_server
    with pytest.raises(Exception) as without_ca:  # the system CAs do not know our test CA
        open_store(url, migrate=False)
    assert "CERTIFICATE_VERIFY_FAILED" in str(without_ca.value) or "certificate verify failed" in str(without_ca.value)
    assert seen == []
    with pytest.raises(Exception) as with_ca:  # TLS passes; the stand-in then answers like no ClickHouse
        open_store(url, migrate=False, ca_file=ca.ca_file)
    assert "certificate" not in str(with_ca.value).lower()
    assert seen, "the query never reached the server through TLS"


def test_an_untrusted_store_certificate_is_one_line(https_server, tmp_path, ca):
    url, _ = https_server
    other = make_ca(tmp_path / "other", name="someone else's CA")
    res = pulsewire("summary", cwd=tmp_path, timeout=60,
                    env={"PULSEWIRE_STORE_URL": url, "PULSEWIRE_STORE_CA_FILE": str(other.ca_file)})
    assert_user_error(res, f"cannot read the store at {url}", "certificate verify failed")


def test_the_board_reads_an_https_store_through_the_ca_file(https_server, tmp_path, ca):
    """`pulsewire board` opens the store itself: it must use the CA file too (the TLS handshake passes,
    the stand-in server then answers like no ClickHouse)."""
    url, seen = https_server
    res = pulsewire("board", "--output", str(tmp_path / "b.html"), cwd=tmp_path, timeout=60,
                    env={"PULSEWIRE_STORE_URL": url, "PULSEWIRE_STORE_CA_FILE": str(ca.ca_file)})
    assert res.returncode != 0 and "certificate" not in res.stderr.lower(), res.stderr
    assert seen, "the board's query never reached the server through TLS"
