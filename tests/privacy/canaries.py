"""The canaries and the source data that carries them into every built-in connector.

A canary is a value nobody else would write: if it turns up somewhere, it came from here.
The ids are the kinds of raw identifier a source holds for an employee (an e-mail address,
HR numbers, a Slack user id, an Intercom admin's id and e-mail, and an id that is shaped like
one of our own pseudonyms, which a source must not be able to pass off as one). They are put
where a connector maps them to ``employee_id`` (good rows), in fields a connector does not map
(a requester's e-mail beside the requester's id), and into rows that a connector or the
validator rejects (bad rows). ``COMMENT`` is an employee's survey comment and chat message.

Customer ids are deliberately not canaries: they are not pseudonymised, by design (a churn
alert names the customer so the CRM can act on it), so the customer-side sources carry plain
ids like ``zcust-1`` and their canaries are the e-mail addresses around them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, quote_plus

EMAIL = "canary.person+7731@example.org"
REQUESTER_EMAIL = "canary.requester@example.org"
ADMIN_EMAIL = "canary.admin@example.org"
HR_NUMBER = "EMP-CANARY-7731"
HR_NUMBER_SPACED = "Employee # 1042"
SLACK_USER = "U0CANARY42"
INTERCOM_ADMIN = "canary-admin-5150"
PSEUDONYM_SHAPED = "emp_" + "ca7a11e5" * 3  # `emp_` + 24 hex: what a pseudonym looks like

IDS = (EMAIL, REQUESTER_EMAIL, ADMIN_EMAIL, HR_NUMBER, HR_NUMBER_SPACED, SLACK_USER, INTERCOM_ADMIN,
       PSEUDONYM_SHAPED)
#: the generator's raw employee ids (emp-0001, ...): the raw ids of the simulated company
GENERATOR_EMPLOYEE = re.compile(r"\bemp-\d{4,}\b")

COMMENT_MARK = "CANARY-COMMENT"
COMMENT = f"{COMMENT_MARK} my manager humiliates me in every meeting"
TEAM = "team-canary"  # one small team: every number about it must be suppressed


def spellings(value: str) -> set[str]:
    """Every form a canary may take on its way somewhere: as is, lower-cased, URL-encoded, JSON-escaped.

    >>> sorted(spellings("Employee # 1042"))
    ['employee # 1042', 'employee%20%23%201042', 'employee+%23+1042']
    """
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    return {f.lower() for f in forms}


def find(text: str, needles: dict[str, set[str]]) -> list[str]:
    """The names of the needles (name -> spellings, lower-cased) found in ``text``, case-insensitively.

    >>> find("row: U0CANARY42 wrote", {"slack": spellings("U0CANARY42"), "mail": spellings(EMAIL)})
    ['slack']
    """
    low = text.lower()
    found = [name for name, forms in needles.items() if any(f in low for f in forms)]
    if "generator" in needles and GENERATOR_EMPLOYEE.search(low):
        found.append("generator")
    return sorted(set(found))


ID_NEEDLES = {v: spellings(v) for v in IDS} | {"generator": set()}
COMMENT_NEEDLES = {"comment": spellings(COMMENT_MARK)}


def _csv(rows: list[list]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


class Sources:
    """The files and webhook bodies; dated the day before ``now`` (the raw-text TTL keeps them)."""

    def __init__(self, root: Path, now: datetime | None = None):
        self.root = root
        now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
        self.when = now - timedelta(days=1)
        self.recent = now - timedelta(minutes=10)  # webhooks arrive when things happen: a day-old delivery is refused
        self.day = self.when.date().isoformat()
        self.hired = (self.when - timedelta(days=300)).date().isoformat()
        root.mkdir(parents=True, exist_ok=True)

    def iso(self, minutes: int = 0) -> str:
        return (self.when + timedelta(minutes=minutes)).isoformat()

    # ---- files: CSV (HR overtime mapped by configuration) and JSON Lines (employee chat) ----
    def files_csv(self) -> dict:
        p = self.root / "overtime.csv"
        rows = [["row", "person", "dept", "what", "when", "hours"],
                ["ot-1", HR_NUMBER, TEAM, "overtime", self.iso(1), "6"],
                ["ot-2", SLACK_USER, TEAM, "overtime", self.iso(2), "4.5"],
                ["ot-3", EMAIL, TEAM, "overtime", self.iso(3).replace("+00:00", ""), "3"]]  # naive: rejected
        text = _csv(rows) + f"ot-4,{PSEUDONYM_SHAPED},{TEAM},overtime\n"  # too few fields: rejected
        p.write_text(text)
        return {"instance": "canary-files-csv", "path": str(p), "kind": "hr", "source": "files-hr",
                "columns": {"event_id": "row", "employee_id": "person", "team_id": "dept", "type": "what",
                            "occurred_at": "when", "hours": "hours"}}

    def files_jsonl(self) -> dict:
        """Chat messages whose author is nested (``author.email``), as chat exports have it."""
        p = self.root / "chat.jsonl"
        base = {"conversation_id": "conv-canary", "author_role": "employee", "team_id": TEAM,
                "channel": "teams:general"}
        lines = [json.dumps({**base, "id": "m-1", "author": {"email": EMAIL}, "occurred_at": self.iso(5),
                             "text": COMMENT}),
                 json.dumps({**base, "id": "m-2", "author": {"email": PSEUDONYM_SHAPED},
                             "occurred_at": self.iso(6), "text": "Fine by me, thanks"}),
                 # the validator refuses this one (text over max_text_chars); the connector does not check it
                 json.dumps({**base, "id": "m-3", "author": {"email": HR_NUMBER_SPACED}, "occurred_at": self.iso(7),
                             "text": COMMENT + " " + "x" * 20_001}),
                 # not a role the schema knows: rejected by the connector
                 json.dumps({**base, "id": "m-4", "author": {"email": SLACK_USER}, "occurred_at": self.iso(8),
                             "text": COMMENT, "author_role": "manager"}),
                 '{"id": "m-5", "author": {"email": "' + HR_NUMBER + '"}, "text": "' + COMMENT + '", ']  # not JSON
        p.write_text("\n".join(lines) + "\n")
        return {"instance": "canary-files-jsonl", "path": str(p), "kind": "chat", "source": "files-chat",
                "columns": {"event_id": "id", "employee_id": "author.email"}}

    # ---- HRIS: employees (CSV) and overtime (JSON) reports ----
    def hris_employees(self) -> dict:
        p = self.root / "employees.csv"
        p.write_text(_csv([
            ["Employee #", "Department", "Hire Date", "Termination Date", "Termination Type", "Wellbeing Consent"],
            [HR_NUMBER, TEAM, self.hired, "", "", "yes"],
            [HR_NUMBER_SPACED, TEAM, self.hired, self.day, "Resignation", "no"],
            [EMAIL, TEAM, self.hired, "", "", "yes"],
            [PSEUDONYM_SHAPED, TEAM, self.hired, "", "", "yes"],
            [SLACK_USER, TEAM, self.hired, self.day, "Sabbatical", "yes"],  # unknown termination type: rejected
            [ADMIN_EMAIL, "", self.hired, "", "", "no"],  # no department: rejected
        ]))
        return {"instance": "canary-hris-employees", "path": str(p), "report": "employees"}

    def hris_overtime(self) -> dict:
        p = self.root / "overtime.json"
        rows = [{"Employee #": HR_NUMBER, "Department": TEAM, "Week Ending": self.day, "Overtime Hours": "6,5"},
                {"Employee #": EMAIL, "Department": TEAM, "Week Ending": self.day, "Overtime Hours": "12"},
                {"Employee #": HR_NUMBER_SPACED, "Department": TEAM, "Week Ending": self.day,
                 "Overtime Hours": "a lot"}]  # not a number: rejected
        p.write_text(json.dumps({"overtime": rows}))
        return {"instance": "canary-hris-overtime", "path": str(p), "report": "overtime"}

    # ---- pulse survey export ----
    def pulse(self) -> dict:
        p = self.root / "pulse.csv"
        p.write_text(_csv([
            ["Response ID", "Employee ID", "Team", "Submitted At", "eNPS", "Comment", "Workload", "Burnout"],
            ["R-CAN-1", HR_NUMBER, TEAM, self.iso(10), "3", COMMENT, "2", "4"],
            ["R-CAN-2", SLACK_USER, TEAM, self.iso(11), "8", "", "4", "2"],
            ["R-CAN-3", PSEUDONYM_SHAPED, TEAM, self.iso(12), "6", COMMENT, "3", "3"],
            ["R-CAN-4", EMAIL, TEAM, self.iso(13), "", COMMENT, "", ""],  # comment without eNPS: rejected
            ["R-CAN-5", HR_NUMBER_SPACED, TEAM, self.iso(14), "11", COMMENT, "3", "3"],  # eNPS 11: rejected
        ]))
        return {"instance": "canary-pulse", "path": str(p), "assume_tz": "UTC"}

    # ---- the generator (its own raw employee ids are the canaries; 5% bad records) ----
    @staticmethod
    def generator() -> dict:
        return {"instance": "canary-generator", "seed": 11, "events": 300, "bad_record_rate": 0.05}

    # ---- webhook routes: (route, body bytes, expected HTTP status) ----
    def webhook_requests(self) -> list[tuple[str, bytes, int]]:
        epoch, at = int(self.recent.timestamp()), self.recent.isoformat()
        slack = {"type": "event_callback", "team_id": "T0PULSE", "event_id": "Ev0CANARY1",
                 "event": {"type": "message", "user": SLACK_USER, "channel": "C0PULSE", "ts": f"{epoch}.000100",
                           "text": COMMENT}}
        slack_bad = {"type": "event_callback", "team_id": "T0PULSE", "event_id": "Ev0CANARY2",
                     "event": {"type": "message", "user": SLACK_USER, "channel": "C0PULSE", "ts": "yesterday",
                               "text": COMMENT}}  # unreadable ts: dead letter
        admin = {"type": "admin", "id": INTERCOM_ADMIN, "email": ADMIN_EMAIL, "name": "Canary Admin"}
        customer = {"type": "user", "id": "icust-1", "email": EMAIL}
        intercom_reply = {"type": "notification_event", "topic": "conversation.admin.replied", "id": "notif-can-1",
                          "created_at": epoch,
                          "data": {"item": {"id": "conv-ic-1", "created_at": epoch, "conversation_parts": {
                              "conversation_parts": [{"id": "part-can-1", "author": admin, "created_at": epoch + 60,
                                                      "body": "<p>Sorry about that, fixing it now</p>"}]}}}}
        intercom_user = {"type": "notification_event", "topic": "conversation.user.created", "id": "notif-can-2",
                         "created_at": epoch,
                         "data": {"item": {"id": "conv-ic-1", "created_at": epoch,
                                           "source": {"author": customer, "body": "<p>The export is broken</p>"}}}}
        intercom_bad = {"type": "notification_event", "topic": "conversation.admin.replied", "id": "notif-can-3",
                        "created_at": epoch, "data": {"item": {"id": "conv-ic-2", "author": admin}}}  # no parts
        zendesk = {"type": "zen:event-type:ticket.created", "id": "zd-can-1", "time": at,
                   "detail": {"id": "9001", "requester_id": "zcust-1", "subject": "Invoice wrong",
                              "description": "The invoice total is wrong", "status": "NEW", "priority": "HIGH",
                              "via": {"channel": "email"}}}
        zendesk_bad = {"type": "zen:event-type:ticket.created", "id": "zd-can-2", "time": "not a time",
                       "detail": {"id": "9002", "requester_id": "zcust-2", "subject": "Call me",
                                  "description": f"Reply to {REQUESTER_EMAIL}, I am {HR_NUMBER}"}}
        fd = {"ticket_id": 501, "ticket_requester_id": 7001, "ticket_requester_email": REQUESTER_EMAIL,
              "triggered_event": "{ticket_action:created}", "ticket_description": "Cannot log in since Monday",
              "ticket_status": "Open", "ticket_priority": "Low", "ticket_source": "Email",
              "ticket_updated_at": at}
        fd_bad = {k: v for k, v in fd.items() if k != "ticket_id"} | {"ticket_description": COMMENT}
        return [
            ("/slack", json.dumps(slack).encode(), 200),
            ("/slack", json.dumps(slack_bad).encode(), 400),
            ("/slack", b'{"type": "event_callback", "event": {"user": "' + SLACK_USER.encode() + b'", ', 400),
            ("/intercom", json.dumps(intercom_user).encode(), 200),
            ("/intercom", json.dumps(intercom_reply).encode(), 200),
            ("/intercom", json.dumps(intercom_bad).encode(), 400),
            ("/zendesk", json.dumps(zendesk).encode(), 200),
            ("/zendesk", json.dumps(zendesk_bad).encode(), 400),
            ("/freshdesk", json.dumps({"freshdesk_webhook": fd}).encode(), 200),
            ("/freshdesk", json.dumps({"freshdesk_webhook": fd_bad}).encode(), 400),
        ]


WEBHOOK_SECRETS = {"slack": "PW_CANARY_SLACK", "intercom": "PW_CANARY_INTERCOM", "zendesk": "PW_CANARY_ZENDESK",
                   "freshdesk": "PW_CANARY_FRESHDESK"}


def webhook_config() -> dict:
    return {"instance": "canary-webhook", "port": 0,
            "routes": [{"provider": p, "secret_env": env} for p, env in WEBHOOK_SECRETS.items()]}
