"""``files``: CSV, JSON Lines or a JSON array, read once or followed as it grows (tail), with a cursor.

The cursor is ``{"offset": <byte after the last delivered line>, "inode": ...}``; a file that
was replaced or truncated is read again from the start. Lines that cannot be read (not in the
file's ``encoding``, longer than ``max_line_bytes``, wrong number of CSV fields, not JSON, JSON
nested too deep or holding NaN) become dead letters and the file goes on; a header without a
column the config names stops the connector with a clear message.

Map fields with ``columns`` (canonical field -> source column, dotted paths for nested JSON):

    [columns]                        # a review export
    event_id = "review_id"
    occurred_at = "created_at"
    text = "body"

Shop order exports: ``mapping = "orders"`` (or ``"shopify_orders"``, ``"woocommerce_orders"``) turns
each order into one ``activity`` event (``orders.py``); ``[columns]`` then names the order's columns.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import Field, field_validator, model_validator

from pulsewire.schemas.events import EVENT_MODELS, KINDS, PERSONAL_FIELDS

from ..json_input import JsonRejected, loads_json
from ..sdk import Connector, ConnectorConfig, ConnectorError, Raw, Reason, Reject, compact, parse_time, stable_id
from ..sdk import to_float, to_int
from . import orders

log = logging.getLogger(__name__)
BOM = b"\xef\xbb\xbf"
INTS, FLOATS = {"rating", "csat", "score"}, {"hours", "days", "mrr", "quantity", "amount"}
ID_MAX_CHARS = next(m.max_length for m in EVENT_MODELS["review"].model_fields["event_id"].metadata
                    if hasattr(m, "max_length"))


class FileOptions(ConnectorConfig):
    path: Path
    format: Literal["csv", "jsonl", "json"] | None = Field(None, description="Default: from the file suffix.")
    source: str = Field("files", min_length=1, max_length=64, description="The events' `source`.")
    delimiter: str = Field(",", min_length=1, max_length=1)
    follow: bool = Field(False, description="Keep reading as the file grows (tail -f).")
    poll_interval_s: float = Field(0.2, gt=0)
    max_line_bytes: int = Field(1024 * 1024, ge=64)
    assume_tz: str | None = Field(None, description="Timezone for timestamps without one, e.g. 'UTC'.")
    encoding: str = Field("utf-8", description="The file's text encoding, e.g. 'latin-1', 'cp1252'.")

    @field_validator("encoding")
    @classmethod
    def _line_splittable(cls, v: str) -> str:
        try:
            name = codecs.lookup(v).name
        except LookupError:
            raise ValueError(f"unknown encoding {v!r}; e.g. 'utf-8', 'latin-1', 'cp1252'") from None
        if '\n",;\t|'.encode(name, "replace") != b'\n",;\t|':  # lines and fields are split on these bytes
            raise ValueError(f"encoding {v!r} is not supported (it is not ASCII-compatible); re-export as UTF-8")
        return v

    @property
    def text_encoding(self) -> str:
        """The codec to decode with; a UTF-8 BOM is skipped."""
        return "utf-8-sig" if codecs.lookup(self.encoding).name == "utf-8" else self.encoding

    @property
    def fmt(self) -> str:
        if self.format:
            return self.format
        suffix = self.path.suffix.lower()
        return {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}.get(suffix, "csv")


class FileConnector(Connector):
    """Reading, cursor and bad-line handling; subclasses write ``map()`` and ``required_columns()``."""

    Config = FileOptions

    def required_columns(self) -> list[str]:
        return []

    def setup(self) -> None:
        self._f = self._open()

    def _open(self):
        try:
            return open(self.config.path, "rb")
        except OSError as exc:
            raise ConnectorError(f"cannot open {self.config.path}: {exc.strerror}") from None

    def teardown(self) -> None:
        if getattr(self, "_f", None):
            self._f.close()

    def _cursor(self, pos: int) -> str:
        return json.dumps({"offset": pos, "inode": os.fstat(self._f.fileno()).st_ino})

    def poll(self, cursor: str | None) -> Iterator[Raw | None]:
        c, pos = self.config, 0
        if cursor:
            cur = json.loads(cursor)
            st = os.fstat(self._f.fileno())
            if cur.get("inode") == st.st_ino and cur["offset"] <= st.st_size:
                pos = cur["offset"]
            else:
                log.warning("%s was replaced or truncated since the cursor; reading it from the start", c.path)
        if not c.follow and os.fstat(self._f.fileno()).st_size == 0:  # often a failed export: say so, exit 0
            log.warning("%s is empty (0 bytes): nothing to deliver", c.path)
            return
        if c.fmt == "json":
            yield from self._json_array(pos)
            return
        header = None
        while True:
            if c.fmt == "csv" and header is None:
                header, end = self._header()
                if header is None:  # empty file
                    if not c.follow:
                        return
                    yield None
                    time.sleep(c.poll_interval_s)
                    continue
                pos = max(pos, end)
            self._f.seek(pos)
            line = self._f.readline(c.max_line_bytes + 1)
            if not line or (not line.endswith(b"\n") and len(line) <= c.max_line_bytes and c.follow):
                if not c.follow:
                    return
                yield None  # idle: the runtime flushes and stores the cursor
                time.sleep(c.poll_interval_s)
                if self._rotated(pos):
                    pos, header = 0, None
                continue
            if len(line) > c.max_line_bytes and not line.endswith(b"\n"):
                while (more := self._f.readline(64 * 1024)) and not more.endswith(b"\n"):
                    pass
                pos = self._f.tell()
                yield Raw(None, cursor=self._cursor(pos), raw=line[:2048],
                          reject=(Reason.PAYLOAD_TOO_LARGE, f"line at byte {pos} is longer than {c.max_line_bytes} "
                                  "bytes (max_line_bytes); first 2 KiB kept"))
                continue
            if c.fmt == "csv":
                while line.count(b'"') % 2 and len(line) <= c.max_line_bytes and (more := self._f.readline(
                        c.max_line_bytes + 1)):
                    line += more  # a quoted field spanning lines
            start, pos = pos, self._f.tell()
            if start == 0 and line.startswith(BOM) and c.text_encoding == "utf-8-sig":
                line = line[len(BOM):]
            if line.strip():
                yield self._parse(line, header, start, self._cursor(pos))

    def _rotated(self, pos: int) -> bool:
        try:
            st = os.stat(self.config.path)
        except OSError:
            return False
        if st.st_ino != os.fstat(self._f.fileno()).st_ino:
            log.warning("%s was rotated; following the new file", self.config.path)
            self._f.close()
            self._f = self._open()
            return True
        if st.st_size < pos:
            log.warning("%s was truncated; reading it from the start", self.config.path)
            return True
        return False

    def _header(self) -> tuple[list[str] | None, int]:
        c = self.config
        self._f.seek(0)
        line = self._f.readline(c.max_line_bytes + 1)
        if not line.strip() or (c.follow and not line.endswith(b"\n")):
            return None, 0
        try:
            text = line.decode(c.text_encoding)
        except UnicodeDecodeError as exc:
            raise ConnectorError(f"{c.path}: the header is not {c.encoding} ({exc}); set encoding (e.g. 'latin-1') "
                                 "or re-export the file as UTF-8") from None
        header = [h.strip() for h in next(csv.reader([text.rstrip("\r\n")], delimiter=c.delimiter))]
        missing = [col for col in self.required_columns() if col not in header]
        if missing:
            hint = ""
            try:
                sniffed = csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
                if sniffed != c.delimiter:
                    hint = f"; the file looks {sniffed!r}-delimited: set delimiter = {sniffed!r}"
            except csv.Error:
                pass
            raise ConnectorError(f"{c.path}: missing column(s) {', '.join(map(repr, missing))}; the header has "
                                 f"{', '.join(map(repr, header[:20]))}{hint}. Map columns with [columns] in the config.")
        return header, self._f.tell()

    def _parse(self, line: bytes, header: list[str] | None, start: int, cursor: str) -> Raw:
        try:
            text = line.decode(self.config.encoding)
        except UnicodeDecodeError as exc:
            return Raw(None, cursor=cursor, raw=line, reject=(
                Reason.INVALID_ENCODING, f"line at byte {start} is not {self.config.encoding}: {exc}"))
        if header is None:  # JSON Lines
            try:
                obj = loads_json(text)
            except JsonRejected as exc:
                return Raw(None, cursor=cursor, raw=text, reject=(exc.reason, f"line at byte {start}: {exc.detail}"))
            except ValueError as exc:
                return Raw(None, cursor=cursor, raw=text, reject=(Reason.MALFORMED_JSON, f"line at byte {start}: {exc}"))
            if not isinstance(obj, dict):
                return Raw(None, cursor=cursor, raw=text,
                           reject=(Reason.NOT_AN_OBJECT, f"line at byte {start} is a {type(obj).__name__}"))
            return Raw(obj, cursor=cursor, raw=text)
        fields = next(csv.reader(io.StringIO(text), delimiter=self.config.delimiter), [])
        if len(fields) != len(header):
            return Raw(None, cursor=cursor, raw=text, reject=(
                Reason.MISSING_FIELD if len(fields) < len(header) else Reason.INVALID_VALUE,
                f"line at byte {start} has {len(fields)} fields; the header has {len(header)}"))
        return Raw(dict(zip(header, fields)), cursor=cursor, raw=text)

    def _json_array(self, index: int) -> Iterator[Raw]:
        try:
            data = loads_json(self._f.read().decode(self.config.text_encoding))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConnectorError(f"{self.config.path}: not a JSON document ({exc})") from None
        if isinstance(data, dict):  # {"employees": [...]} and similar wrappers
            data = next((v for v in data.values() if isinstance(v, list)), [data])
        for i in range(index, len(data)):
            cur = self._cursor(i + 1)
            rec = data[i]
            yield Raw(rec, cursor=cur) if isinstance(rec, dict) else Raw(
                None, cursor=cur, raw=json.dumps(rec), reject=(Reason.NOT_AN_OBJECT, f"item {i} is not an object"))


def pick(row: dict, column: str | None) -> Any:
    """``row[column]``, following dots into nested objects (``author.id``); None when absent."""
    if column is None:
        return None
    if column in row:
        return row[column]
    cur: Any = row
    for part in column.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def coerce(field: str, value: Any, assume_tz: str | None) -> Any:
    if value is None or value == "":
        return None
    if field in ("occurred_at",):
        return parse_time(value, assume_tz)
    if field in INTS:
        return to_int(value)
    if field in FLOATS:
        return to_float(value)
    if field == "consent":
        return str(value).strip().lower() in ("1", "true", "yes", "y")
    return str(value).strip()


class FilesConfig(FileOptions):
    kind: Literal["review", "ticket", "chat", "hr", "account", "activity"] = "review"
    columns: dict[str, str] = Field(default_factory=dict, description="canonical field -> source column")
    constants: dict[str, Any] = Field(default_factory=dict, description="fields set on every event")
    attributes: list[str] = Field(default_factory=list, description="source columns kept as attributes")
    mapping: Literal["orders", "shopify_orders", "woocommerce_orders"] | None = Field(
        None, description="A shop order export: one activity event per order; [columns] names the order's columns "
                          "(order_id, customer_id, ordered_at, amount, currency, quantity, product, status, cancelled_at).")

    @model_validator(mode="after")
    def _orders_are_activity(self) -> "FilesConfig":
        if self.mapping:
            if self.constants or self.attributes:
                raise ValueError("an orders mapping takes no constants or attributes")
            self.kind = "activity"
        return self


class Files(FileConnector):
    """Any kind of event from a CSV / JSON Lines / JSON export, mapped by configuration."""

    name = "files"
    kinds = KINDS  # its configuration chooses one
    Config = FilesConfig
    # The columns mapped to the canonical personal fields (by default the columns of the same name)
    # and the columns kept as attributes: see declared_personal_fields.
    personal_fields = PERSONAL_FIELDS

    def __init__(self, config=None, **kw):
        super().__init__(config, **kw)
        c = self.config
        self._orders = orders.roles(c.mapping, c.columns) if c.mapping else None

    def declared_personal_fields(self) -> tuple[str, ...]:
        c = self.config
        if self._orders:
            return tuple(dict.fromkeys((self._orders["customer_id"], *orders.CONTACT_COLUMNS, *c.personal_fields)))
        mapped = [c.columns.get(f, f) for f in PERSONAL_FIELDS if f != "attributes"]
        return tuple(dict.fromkeys((*mapped, *c.attributes, *c.personal_fields)))

    def known_field_names(self) -> tuple[str, ...]:
        if self._orders:
            return tuple(col for col in self._orders.values() if col)
        return tuple(dict.fromkeys((*self.config.columns.values(), *self.config.attributes)))

    def poll(self, cursor: str | None) -> Iterator[Raw | None]:
        if self._orders:  # an order's lines as one record
            return orders.group_lines(super().poll(cursor), self._orders["order_id"])
        return super().poll(cursor)

    def _fields(self) -> list[str]:
        skip = {"schema_version", "kind", "source", "ingested_at", "attributes"}
        return [f for f in EVENT_MODELS[self.config.kind].model_fields if f not in skip]

    def required_columns(self) -> list[str]:
        if self._orders:
            return orders.required_columns(self._orders)
        model = EVENT_MODELS[self.config.kind]
        need = [f for f in self._fields() if model.model_fields[f].is_required()
                and f not in self.config.constants and f != "event_id"]
        if "event_id" in self.config.columns:
            need.append("event_id")
        # a column named in the config is expected: absent, it would silently leave its field empty
        named = [self.config.columns.get(f, f) for f in need] + list(self.config.columns.values()) + self.config.attributes
        return list(dict.fromkeys(named))

    def _event_id(self, row: dict) -> str:
        """``source:<the record's id>``; a hash of the whole record only when the source has no id column.
        A hash in place of an empty or over-long id would hide the record from anyone joining on the id."""
        c = self.config
        column = c.columns.get("event_id", "event_id")
        natural = pick(row, column)
        if natural is None and "event_id" not in c.columns:
            return stable_id(c.source, json.dumps(row, sort_keys=True))
        natural = "" if natural is None else str(natural).strip()
        if not natural:
            raise Reject(Reason.INVALID_SOURCE_ID, f"the id in column {column!r} is empty or absent")
        event_id = f"{c.source}:{natural}"
        if len(event_id) > ID_MAX_CHARS:
            raise Reject(Reason.INVALID_SOURCE_ID, f"the id in column {column!r} makes an event_id of {len(event_id)} "
                         f"characters ({event_id[:40]}...); the limit is {ID_MAX_CHARS}")
        return event_id

    def map(self, row: dict | list[dict]) -> dict | None:
        c = self.config
        if self._orders:
            return orders.map_order(row, self._orders, c.source, c.assume_tz)
        ev = {f: coerce(f, pick(row, c.columns.get(f, f)), c.assume_tz) for f in self._fields()}
        ev.pop("event_id", None)
        ev.update(c.constants)
        ev["kind"], ev["source"] = c.kind, c.source
        ev["event_id"] = self._event_id(row)
        if ev.get("occurred_at") is None:
            raise Reject(Reason.MISSING_FIELD, f"no timestamp in column {c.columns.get('occurred_at', 'occurred_at')!r}")
        attrs = {a: str(v) for a in c.attributes if (v := pick(row, a)) not in (None, "")}
        if attrs:
            ev["attributes"] = attrs
        return compact(ev)
