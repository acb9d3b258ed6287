"""A small Grafana HTTP API on 127.0.0.1 for testing ``pulsewire grafana sync``.

It implements the endpoints the sync calls and checks each request against the shapes
documented in Grafana's HTTP API reference (data source, folder, dashboard and alerting
provisioning APIs): required fields, types and enumerations. A request that breaks them is
answered 400 and recorded in ``problems``; every request is recorded in ``requests``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

NO_DATA_STATES = {"Alerting", "NoData", "OK", "KeepLast"}
EXEC_ERR_STATES = {"OK", "Alerting", "Error", "KeepLast"}
DURATION = re.compile(r"^\d+[smhd]$")


class Invalid(Exception):
    pass


def _need(obj: dict, *keys: str, where: str) -> None:
    if not isinstance(obj, dict):
        raise Invalid(f"{where}: body must be a JSON object")
    missing = [k for k in keys if k not in obj or obj[k] in (None, "")]
    if missing:
        raise Invalid(f"{where}: missing {missing}")


class FakeGrafana:
    def __init__(self, token: str = "test-token", default_group_interval: int = 10):
        self.token = token
        self.default_group_interval = default_group_interval
        self.datasources: dict[str, dict] = {}
        self.folders: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}
        self.contact_points: dict[str, dict] = {}
        self.rules: dict[str, dict] = {}
        self.groups: dict[tuple[str, str], dict] = {}
        self.requests: list[tuple[str, str, object]] = []
        self.problems: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, _ in self.requests if m != "GET"]

    # -- routing ------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict, body):
        routes = [
            ("GET", r"/api/datasources/uid/([^/]+)", self.get_datasource),
            ("PUT", r"/api/datasources/uid/([^/]+)", self.put_datasource),
            ("POST", r"/api/datasources", self.post_datasource),
            ("GET", r"/api/folders/([^/]+)", self.get_folder),
            ("PUT", r"/api/folders/([^/]+)", self.put_folder),
            ("POST", r"/api/folders", self.post_folder),
            ("GET", r"/api/dashboards/uid/([^/]+)", self.get_dashboard),
            ("POST", r"/api/dashboards/db", self.post_dashboard),
            ("GET", r"/api/v1/provisioning/contact-points", self.get_contact_points),
            ("POST", r"/api/v1/provisioning/contact-points", self.post_contact_point),
            ("PUT", r"/api/v1/provisioning/contact-points/([^/]+)", self.put_contact_point),
            ("GET", r"/api/v1/provisioning/alert-rules/([^/]+)", self.get_rule),
            ("POST", r"/api/v1/provisioning/alert-rules", self.post_rule),
            ("PUT", r"/api/v1/provisioning/alert-rules/([^/]+)", self.put_rule),
            ("GET", r"/api/v1/provisioning/folder/([^/]+)/rule-groups/([^/]+)", self.get_group),
            ("PUT", r"/api/v1/provisioning/folder/([^/]+)/rule-groups/([^/]+)", self.put_group),
        ]
        for m, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if m == method and match:
                return fn(body, query, *match.groups())
        return 404, {"message": f"no route {method} {path}"}

    # -- data sources (POST/PUT /api/datasources: name, type, access required) -------------------
    def _check_datasource(self, b, where):
        _need(b, "name", "type", "access", where=where)
        if b["access"] not in ("proxy", "direct"):
            raise Invalid(f"{where}: access must be proxy or direct")
        for k in ("jsonData", "secureJsonData"):
            if k in b and not isinstance(b[k], dict):
                raise Invalid(f"{where}: {k} must be an object")

    def _stored_ds(self, b, ds_id):
        out = {k: v for k, v in b.items() if k != "secureJsonData"}
        out.update({"id": ds_id, "orgId": 1, "url": b.get("url", ""), "basicAuth": False, "readOnly": False,
                    "version": 1, "secureJsonFields": {k: True for k in (b.get("secureJsonData") or {})}})
        return out

    def get_datasource(self, body, q, uid):
        ds = self.datasources.get(uid)
        return (200, ds) if ds else (404, {"message": "Data source not found"})

    def post_datasource(self, b, q):
        self._check_datasource(b, "POST /api/datasources")
        uid = b.get("uid") or f"ds{next(self._ids)}"
        if uid in self.datasources or any(d["name"] == b["name"] for d in self.datasources.values()):
            return 409, {"message": "data source with the same name already exists"}
        ds = self._stored_ds({**b, "uid": uid}, next(self._ids))
        self.datasources[uid] = ds
        return 200, {"datasource": ds, "id": ds["id"], "message": "Datasource added", "name": ds["name"]}

    def put_datasource(self, b, q, uid):
        self._check_datasource(b, f"PUT /api/datasources/uid/{uid}")
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        ds = self._stored_ds({**b, "uid": uid}, self.datasources[uid]["id"])
        ds["version"] = self.datasources[uid]["version"] + 1
        self.datasources[uid] = ds
        return 200, {"datasource": ds, "id": ds["id"], "message": "Datasource updated", "name": ds["name"]}

    # -- folders ----------------------------------------------------------------------------------
    def get_folder(self, body, q, uid):
        f = self.folders.get(uid)
        return (200, f) if f else (404, {"message": "folder not found"})

    def post_folder(self, b, q):
        _need(b, "title", where="POST /api/folders")
        uid = b.get("uid") or f"f{next(self._ids)}"
        if uid in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        self.folders[uid] = {"id": next(self._ids), "uid": uid, "title": b["title"], "version": 1}
        return 200, self.folders[uid]

    def put_folder(self, b, q, uid):
        _need(b, "title", where="PUT /api/folders/:uid")
        if "version" not in b and not b.get("overwrite"):
            raise Invalid("PUT /api/folders/:uid: version or overwrite required")
        self.folders[uid].update(title=b["title"], version=self.folders[uid]["version"] + 1)
        return 200, self.folders[uid]

    # -- dashboards (POST /api/dashboards/db: {dashboard, folderUid, overwrite, message}) ---------
    def get_dashboard(self, body, q, uid):
        d = self.dashboards.get(uid)
        return (200, d) if d else (404, {"message": "Dashboard not found"})

    def post_dashboard(self, b, q):
        where = "POST /api/dashboards/db"
        _need(b, "dashboard", where=where)
        d = b["dashboard"]
        _need(d, "title", "uid", where=where + " dashboard")
        if d.get("id") not in (None, 0) and not isinstance(d.get("id"), int):
            raise Invalid(f"{where}: dashboard.id must be null or an integer")
        if "folderUid" in b and b["folderUid"] not in self.folders:
            return 400, {"message": "folder not found", "status": "folder-not-found"}
        if not isinstance(b.get("overwrite", False), bool):
            raise Invalid(f"{where}: overwrite must be a boolean")
        old = self.dashboards.get(d["uid"])
        if old and not b.get("overwrite"):
            return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
        for p in d.get("panels", []):
            _need(p, "type", "gridPos", where=f"{where} panel")
        version = (old["dashboard"]["version"] + 1) if old else 1
        dash_id = old["dashboard"]["id"] if old else next(self._ids)
        stored = {**d, "id": dash_id, "version": version}
        self.dashboards[d["uid"]] = {"dashboard": stored, "meta": {"folderUid": b.get("folderUid", ""),
                                                                   "slug": d["title"].lower().replace(" ", "-"),
                                                                   "provisioned": False, "version": version}}
        return 200, {"id": dash_id, "uid": d["uid"], "url": f"/d/{d['uid']}", "status": "success",
                     "version": version, "slug": d["title"].lower().replace(" ", "-")}

    # -- contact points (EmbeddedContactPoint: name, type, settings required) ---------------------
    def _check_cp(self, b, where):
        _need(b, "name", "type", "settings", where=where)
        if not isinstance(b["settings"], dict):
            raise Invalid(f"{where}: settings must be an object")
        if b["type"] == "webhook" and not b["settings"].get("url"):
            raise Invalid(f"{where}: a webhook needs settings.url")

    def get_contact_points(self, body, q):
        name = (q.get("name") or [None])[0]
        return 200, [c for c in self.contact_points.values() if name is None or c["name"] == name]

    def post_contact_point(self, b, q):
        self._check_cp(b, "POST /api/v1/provisioning/contact-points")
        uid = b.get("uid") or f"cp{next(self._ids)}"
        self.contact_points[uid] = {**b, "uid": uid, "provenance": "api"}
        return 202, self.contact_points[uid]

    def put_contact_point(self, b, q, uid):
        self._check_cp(b, "PUT /api/v1/provisioning/contact-points/:uid")
        if uid not in self.contact_points:
            return 404, {"message": "contact point not found"}
        self.contact_points[uid] = {**b, "uid": uid, "provenance": "api"}
        return 202, {"message": "contactpoint updated"}

    # -- alert rules (ProvisionedAlertRule) -------------------------------------------------------
    def _check_rule(self, b, where):
        _need(b, "title", "condition", "data", "folderUID", "ruleGroup", "for", "noDataState", "execErrState",
              where=where)
        if len(b["title"]) > 190:
            raise Invalid(f"{where}: title longer than 190 characters")
        if b["noDataState"] not in NO_DATA_STATES or b["execErrState"] not in EXEC_ERR_STATES:
            raise Invalid(f"{where}: bad noDataState/execErrState")
        if not DURATION.match(b["for"]):
            raise Invalid(f"{where}: for must be a duration like 5m")
        if b["folderUID"] not in self.folders:
            raise Invalid(f"{where}: folder {b['folderUID']} does not exist")
        if not isinstance(b["data"], list) or not b["data"]:
            raise Invalid(f"{where}: data must be a non-empty list")
        refs = set()
        for q in b["data"]:
            _need(q, "refId", "datasourceUid", "model", where=f"{where} data[]")
            rtr = q.get("relativeTimeRange")
            if not isinstance(rtr, dict) or not {"from", "to"} <= set(rtr):
                raise Invalid(f"{where}: data[].relativeTimeRange needs from and to")
            if q["datasourceUid"] != "__expr__" and q["datasourceUid"] not in self.datasources:
                raise Invalid(f"{where}: data source {q['datasourceUid']} does not exist")
            refs.add(q["refId"])
        if b["condition"] not in refs:
            raise Invalid(f"{where}: condition {b['condition']} is not a refId of data")
        ns = b.get("notification_settings")
        if ns is not None:
            _need(ns, "receiver", where=f"{where} notification_settings")
            if not any(c["name"] == ns["receiver"] for c in self.contact_points.values()):
                raise Invalid(f"{where}: receiver {ns['receiver']} is not a contact point")

    def get_rule(self, body, q, uid):
        r = self.rules.get(uid)
        return (200, r) if r else (404, {"message": "rule not found"})

    def _store_rule(self, b, uid):
        stored = {**b, "uid": uid, "id": self.rules.get(uid, {}).get("id", next(self._ids)), "orgID": 1,
                  "updated": "2026-11-01T00:00:00Z", "provenance": "api"}
        self.rules[uid] = stored
        key = (b["folderUID"], b["ruleGroup"])
        group = self.groups.setdefault(key, {"title": b["ruleGroup"], "folderUid": b["folderUID"],
                                             "interval": self.default_group_interval, "rules": []})
        group["rules"] = [r for r in group["rules"] if r["uid"] != uid] + [stored]
        return stored

    def post_rule(self, b, q):
        self._check_rule(b, "POST /api/v1/provisioning/alert-rules")
        uid = b.get("uid") or f"r{next(self._ids)}"
        if uid in self.rules:
            return 409, {"message": "rule with this uid already exists"}
        return 201, self._store_rule(b, uid)

    def put_rule(self, b, q, uid):
        self._check_rule(b, "PUT /api/v1/provisioning/alert-rules/:uid")
        if uid not in self.rules:
            return 404, {"message": "rule not found"}
        return 200, self._store_rule(b, uid)

    def get_group(self, body, q, folder, group):
        g = self.groups.get((folder, group))
        return (200, g) if g else (404, {"message": "rule group not found"})

    def put_group(self, b, q, folder, group):
        _need(b, "interval", "rules", where="PUT rule-groups")
        if not isinstance(b["interval"], int) or b["interval"] <= 0 or b["interval"] % 10:
            raise Invalid("PUT rule-groups: interval must be a positive multiple of 10 seconds")
        if (folder, group) not in self.groups:
            return 404, {"message": "rule group not found"}
        self.groups[(folder, group)]["interval"] = b["interval"]
        return 200, self.groups[(folder, group)]

    # -- http plumbing ----------------------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _go(self, method):
                u = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake._lock:
                    try:
                        body = json.loads(raw) if raw else None
                    except ValueError:
                        body = "<invalid json>"
                    fake.requests.append((method, u.path, body))
                    if self.headers.get("Authorization") != f"Bearer {fake.token}":
                        status, payload = 401, {"message": "Unauthorized"}
                    elif method in ("POST", "PUT") and self.headers.get_content_type() != "application/json":
                        fake.problems.append(f"{method} {u.path}: Content-Type is not application/json")
                        status, payload = 400, {"message": "bad content type"}
                    else:
                        try:
                            status, payload = fake.handle(method, u.path, parse_qs(u.query), body)
                        except Invalid as exc:
                            fake.problems.append(str(exc))
                            status, payload = 400, {"message": str(exc)}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._go("GET")

            def do_POST(self):
                self._go("POST")

            def do_PUT(self):
                self._go("PUT")

        return Handler
