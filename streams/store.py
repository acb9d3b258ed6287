"""The ClickHouse store: one module, two backends chosen by URL.

``chdb:///abs/path`` runs ClickHouse in-process (the embedded default);
``http(s)://host:8123`` talks to a server. Same client API, same SQL. Over ``https://`` the server's
certificate is always verified, against ``PULSEWIRE_STORE_CA_FILE`` when set (a private CA).

Migrations are the numbered ``.sql`` files in ``infra/clickhouse/``, applied in
order once each and recorded in ``schema_migrations``; every statement is
idempotent (``IF NOT EXISTS``) so a crash halfway through is safe to re-run.

chDB allows one engine per process and one process per path. We take an
advisory lock file first so that a second process gets a clear message naming
the path and the owning PID instead of chDB's internal error.

``read_only=True`` is for commands that only look (``summary``, ``board``): the
store must already exist, nothing is migrated, no TTL is changed, and the chDB
engine itself refuses writes. ``must_exist=True`` is for commands that record what they did in a
store that must already be there and current (``export`` writes its access audit): opened for
writing, never created or migrated. TTLs change only when ``retention`` (days per
setting, ``streams/retention.py``) is given: the worker passes its settings';
any other open leaves them as the worker (or migration 0044) set them.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "pulsewire.infra.clickhouse"


class StoreInUse(RuntimeError):
    pass


class StoreError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        body = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        # a statement ends with ';' at the end of a line (a ';' inside a string or COMMENT does not)
        return [s.strip() for s in re.split(r";[ \t]*$", body, flags=re.M) if s.strip()]


def load_migrations() -> list[Migration]:
    out = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        m = re.match(r"^(\d{4})_(.+)\.sql$", entry.name)
        if m:
            out.append(Migration(int(m.group(1)), m.group(2), entry.read_text()))
    out.sort(key=lambda m: m.version)
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise StoreError(f"duplicate migration numbers in {MIGRATIONS_PACKAGE}: {versions}")
    return out


class _ChdbLock:
    """An flock on ``<path>/.pulsewire.lock`` holding the owner's PID."""

    def __init__(self, path: Path):
        self.path = path / ".pulsewire.lock"
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreInUse(
                f"the ClickHouse store at {self.path.parent} is in use by process {owner} "
                f"({_cmdline(owner)}). chDB allows one process per store: stop that process, "
                f"or point this one at another data directory."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _require_chdb_store(path: Path) -> None:
    """Refuse a path that holds no migrated pulsewire store, before anything is created there
    (chDB creates its directories on open, even read-only)."""
    if not path.is_dir():
        raise StoreError(f"no store at {path}: the directory does not exist")
    if not (path / "metadata" / "default" / "schema_migrations.sql").is_file():
        raise StoreError(f"no pulsewire store at {path}: the directory holds no migrated ClickHouse store")


_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@\s/]*@")


def redact_url(text: str) -> str:
    """A URL (or a message holding URLs) as it may be shown: any password in a URL is replaced.

    >>> redact_url("https://pulse:s3cret@ch.example:8443/analytics")
    'https://pulse:***@ch.example:8443/analytics'
    >>> redact_url("cannot read http://u:p@h:8123 nor chdb:///srv/pulsewire/clickhouse")
    'cannot read http://u:***@h:8123 nor chdb:///srv/pulsewire/clickhouse'
    """
    return _URL_PASSWORD.sub(r"\1***@", text)


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{int(pid)}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()[:200]
    except (ValueError, OSError):
        return "command unknown"


# mode=ro makes chDB refuse writes and DDL, but its engine still merges parts in the background as
# soon as the tables load, rewriting the store's files; no merge pool means no merges.
READ_ONLY_CHDB = {"mode": "ro", "background_pool_size": "0"}


def http_client_args(url: str, *, user: str = "default", password: str = "", ca_file: Path | str | None = None) -> dict:
    """clickhouse-connect arguments for a server URL.

    ``https://``: TLS with the server's certificate and host name verified (``verify`` is never
    turned off), against ``ca_file`` if given, else the system's CAs. A CA file with an ``http://``
    URL is refused: the connection would not use it, and the operator meant TLS.

    The worker's agents share one client from several threads (each insert runs in
    ``asyncio.to_thread``). A clickhouse-connect sync client with a session id refuses a second
    query while one is running ("Attempt to execute concurrent queries within the same session"),
    and it generates a session id by default; pulsewire uses no session state (no SET, no
    temporary tables), so it asks for none, and every request is independent.

    >>> args = http_client_args("https://ch.example:9440/analytics", user="pw", password="s")
    >>> args["autogenerate_session_id"], args["secure"], args["verify"], args["port"], args["database"]
    (False, True, True, 9440, 'analytics')
    """
    parsed = urlparse(url)
    secure = parsed.scheme == "https"
    tls: dict = {"secure": secure, "verify": True}
    if ca_file is not None:
        if not secure:
            raise StoreError(f"PULSEWIRE_STORE_CA_FILE={ca_file} is set but the store URL is {parsed.scheme}:// "
                             "(no TLS): use https://")
        if not Path(ca_file).is_file():
            raise StoreError(f"PULSEWIRE_STORE_CA_FILE={ca_file}: no such file")
        tls["ca_cert"] = str(ca_file)
    return dict(host=parsed.hostname, port=parsed.port or (8443 if secure else 8123),
                username=parsed.username or user, password=parsed.password or password,
                database=(parsed.path.strip("/") or "default"),
                tz_mode="aware", autogenerate_session_id=False, **tls)


_open_chdb: dict[str, "Store"] = {}
_open_lock = threading.Lock()


class Store:
    """A clickhouse-connect client plus our migrations and batch inserts."""

    def __init__(self, url: str, *, user: str = "default", password: str = "",
                 retention: dict[str, int] | None = None, read_only: bool = False, ca_file: Path | str | None = None,
                 must_exist: bool = False):
        self.url = url
        self.retention = retention
        self.read_only = read_only
        self._lock: _ChdbLock | None = None
        self._refs = 1
        parsed = urlparse(url)
        import clickhouse_connect

        if parsed.scheme == "chdb":
            path = Path(parsed.path)
            if not path.is_absolute():
                raise StoreError(f"chdb URL needs an absolute path: {redact_url(url)}")
            if read_only or must_exist:
                _require_chdb_store(path)
            self._lock = _ChdbLock(path)
            self._lock.acquire()
            try:
                self.client = clickhouse_connect.get_client(dsn=f"chdb://{path}", tz_mode="aware",
                                                            chdb_options=READ_ONLY_CHDB if read_only else None)
            except Exception:
                self._lock.release()
                raise
            self.backend = "chdb"
        elif parsed.scheme in ("http", "https"):
            self.client = clickhouse_connect.get_client(**http_client_args(url, user=user, password=password,
                                                                           ca_file=ca_file))
            self.backend = "server"
        else:
            raise StoreError(f"unsupported store URL {redact_url(url)!r}: use chdb:///abs/path or http(s)://host:8123")

    # -- schema -----------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply pending migrations; return the versions applied now."""
        if self.read_only:
            raise StoreError(f"the store {redact_url(self.url)} was opened read-only: it cannot be migrated")
        self.client.command(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, "
            "checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
            "ENGINE = ReplacingMergeTree ORDER BY version")
        done = {r[0] for r in self.client.query("SELECT version FROM schema_migrations FINAL").result_rows}
        applied = []
        for m in load_migrations():
            if m.version in done:
                continue
            for stmt in m.statements():
                self.client.command(stmt)
            self.client.insert("schema_migrations", [[m.version, m.name, hashlib.sha256(m.sql.encode()).hexdigest()]],
                               column_names=["version", "name", "checksum"])
            applied.append(m.version)
            log.info("applied migration %04d_%s", m.version, m.name)
        if self.retention:
            from .retention import apply

            apply(self.client, self.retention)
        return applied

    def pending_migrations(self) -> list[Migration]:
        """Migrations this version of pulsewire has that the store has not applied (read-only safe)."""
        done = {r[0] for r in self.client.query("SELECT version FROM schema_migrations FINAL").result_rows}
        return [m for m in load_migrations() if m.version not in done]

    # -- writes -----------------------------------------------------------------------------
    def insert_rows(self, table: str, rows: list[dict]) -> int:
        """Insert dict rows in one batch (columns from the first row's keys)."""
        if not rows:
            return 0
        cols = list(rows[0].keys())
        self.client.insert(table, [[r.get(c) for c in cols] for r in rows], column_names=cols)
        return len(rows)

    def command(self, sql: str, parameters: dict | None = None):
        return self.client.command(sql, parameters=parameters)

    def ping(self) -> None:
        """Raise unless the store answers a query (tells a refused row from a store that is away)."""
        self.client.command("SELECT 1")

    # -- reads ------------------------------------------------------------------------------
    def query(self, sql: str, parameters: dict | None = None):
        return self.client.query(sql, parameters=parameters)

    def query_dicts(self, sql: str, parameters: dict | None = None) -> list[dict]:
        res = self.client.query(sql, parameters=parameters)
        return [dict(zip(res.column_names, row)) for row in res.result_rows]

    def close(self) -> None:
        with _open_lock:
            self._refs -= 1
            if self._refs > 0:
                return
            _open_chdb.pop(self.url, None)
        try:
            self.client.close()
        finally:
            if self._lock:
                self._lock.release()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_store(url: str, *, migrate: bool = True, user: str = "default", password: str = "",
               retention: dict[str, int] | None = None, read_only: bool = False,
               ca_file: Path | str | None = None, access=None, must_exist: bool = False) -> Store:
    """Open (and migrate) a store. Within one process, the same chdb URL shares one engine.

    ``retention``: days per retention setting, applied after migrating (the worker's); None leaves
    the TTLs as they are. ``access`` (a :class:`~pulsewire.streams.store_access.StoreAccess`) is applied
    after migrating too: the small-group thresholds the privacy views read, and Grafana's read-only user
    on a server; None leaves them as they are. ``read_only``: open an existing store without migrating it
    or changing its TTLs; a store
    that lacks migrations this version needs is refused (its tables would not match our SQL). ``must_exist``: the
    same refusals, but opened for writing."""
    if read_only or must_exist:
        migrate = False
    if url.startswith("chdb://"):
        with _open_lock:
            existing = _open_chdb.get(url)
            if existing is not None and existing.read_only != read_only:
                raise StoreError(f"this process already has {redact_url(url)} open "
                                 f"{'read-only' if existing.read_only else 'for writing'}")
            if existing is not None:
                existing._refs += 1
                return existing
            other = next(iter(_open_chdb), None)
            if other is not None:
                raise StoreError(f"this process already has the chDB store {redact_url(other)} open; chDB runs "
                                 f"one store per process, so {redact_url(url)} cannot be opened here at the same time")
            store = Store(url, user=user, password=password, retention=retention, read_only=read_only,
                          must_exist=must_exist)
            _open_chdb[url] = store
    else:
        store = Store(url, user=user, password=password, retention=retention, read_only=read_only, ca_file=ca_file,
                      must_exist=must_exist)
    if migrate:
        store.migrate()
        if access is not None:
            access.apply(store)
    if read_only or must_exist:
        _refuse_outdated(store)
    return store


def _refuse_outdated(store: Store) -> None:
    try:
        pending = store.pending_migrations()
    except Exception as exc:
        store.close()
        raise StoreError(f"{redact_url(store.url)} is not a pulsewire store: {_first_line(exc)}") from None
    if pending:
        store.close()
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise StoreError(f"the store {redact_url(store.url)} lacks migrations {names}: start 'pulsewire worker' "
                         f"on it once to migrate it, then read it")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def open_from_settings(settings, migrate: bool = True, read_only: bool = False,
                       apply_retention: bool = False, must_exist: bool = False) -> Store:
    """The store as the settings name it. ``apply_retention``: give the tables the settings' TTLs and the
    views the settings' group thresholds, and create Grafana's user (the worker, and only the worker:
    another process's environment may lack the operator's days and thresholds, and must not lower them)."""
    from .retention import days_from_settings
    from .store_access import StoreAccess

    worker = apply_retention and not read_only
    return open_store(settings.store_url, migrate=migrate, user=settings.store_user,
                      password=settings.store_password.get_secret_value(),
                      retention=days_from_settings(settings) if worker else None,
                      read_only=read_only, ca_file=settings.store_ca_file,
                      access=StoreAccess.from_settings(settings) if worker else None, must_exist=must_exist)
