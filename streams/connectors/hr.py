"""HR sources: an HRIS export (``hris``) and pulse-survey results (``pulse``).

``hris`` reads one of three reports a typical HRIS (BambooHR, Personio, HiBob) exports as CSV
or JSON: ``employees`` (hire, and exit when terminated), ``time_off`` (leave) and ``overtime``.
``pulse`` reads survey results: an eNPS question (0-10) with its comment, plus any number of
1-5 pulse questions, one row per response. Employee ids are produced raw (the worker
pseudonymises them); they are never logged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..sdk import Reason, Reject, compact, parse_time, stable_id, to_float, to_int
from .files import FileConnector, FileOptions, pick

REPORT_COLUMNS = {
    "employees": {"employee_id": "Employee #", "team_id": "Department", "hire_date": "Hire Date",
                  "termination_date": "Termination Date", "termination_type": "Termination Type",
                  "consent": "Wellbeing Consent"},
    "time_off": {"employee_id": "Employee #", "team_id": "Department", "start": "Start", "days": "Days",
                 "type": "Time Off Type", "request_id": "Request ID"},
    "overtime": {"employee_id": "Employee #", "team_id": "Department", "week_ending": "Week Ending",
                 "hours": "Overtime Hours"},
}
REQUIRED = {"employees": ("employee_id", "team_id", "hire_date"), "time_off": ("employee_id", "team_id", "start", "days"),
            "overtime": ("employee_id", "team_id", "week_ending", "hours")}
EXIT_TYPES = {"voluntary": "voluntary", "resignation": "voluntary", "resigned": "voluntary", "retirement": "voluntary",
              "involuntary": "involuntary", "dismissal": "involuntary", "terminated": "involuntary",
              "layoff": "involuntary", "redundancy": "involuntary"}
LEAVE_TYPES = {"vacation": "vacation", "pto": "vacation", "holiday": "vacation", "annual leave": "vacation",
               "sick": "sick", "sick leave": "sick", "parental": "parental", "maternity": "parental",
               "paternity": "parental"}


class HrisConfig(FileOptions):
    source: str = "hris"
    report: Literal["employees", "time_off", "overtime"] = "employees"
    columns: dict[str, str] = Field(default_factory=dict, description="override REPORT_COLUMNS, e.g. team_id='Team'")


class Hris(FileConnector):
    """HRIS export (employees, time off, overtime) from CSV or JSON: hire, exit, leave, overtime events."""

    name = "hris"
    kinds = ("hr",)
    Config = HrisConfig
    # Every column of an HRIS report describes one employee: all of them are personal.
    personal_fields = tuple(dict.fromkeys(col for cols in REPORT_COLUMNS.values() for col in cols.values()))

    def declared_personal_fields(self) -> tuple[str, ...]:
        own = [self.col(f) for f in REPORT_COLUMNS[self.config.report]]
        return tuple(dict.fromkeys((*own, *self.config.personal_fields)))

    def col(self, field: str) -> str:
        return self.config.columns.get(field, REPORT_COLUMNS[self.config.report][field])

    def required_columns(self) -> list[str]:
        return [self.col(f) for f in REQUIRED[self.config.report]]

    def map(self, row: dict) -> list[dict]:
        c, tz = self.config, self.config.assume_tz
        get = {f: (str(v).strip() if (v := pick(row, self.col(f))) is not None else "")
               for f in REPORT_COLUMNS[c.report]}
        if not get["employee_id"] or not get["team_id"]:
            raise Reject(Reason.MISSING_FIELD, "employee id or department is empty")
        base = {"kind": "hr", "source": c.source, "employee_id": get["employee_id"], "team_id": get["team_id"]}

        def event(type_: str, when: str, *key, **fields) -> dict:
            at = parse_time(when, tz or "UTC")  # HRIS dates are calendar dates: UTC unless told otherwise
            return compact({**base, "type": type_, "occurred_at": at,
                            "event_id": stable_id(c.source, type_, get["employee_id"], when, *key), **fields})

        if c.report == "employees":
            consent = get["consent"].lower() in ("yes", "true", "1", "y") if get["consent"] else None
            out = [event("hire", get["hire_date"], consent=consent)]
            if get["termination_date"]:
                kind = EXIT_TYPES.get(get["termination_type"].lower())
                if kind is None:
                    raise Reject(Reason.INVALID_VALUE, f"unknown termination type {get['termination_type']!r}")
                out.append(event("exit", get["termination_date"], exit_type=kind))
            return out
        if c.report == "time_off":
            leave = LEAVE_TYPES.get(get["type"].lower(), "other")
            return [event("leave", get["start"], get["request_id"], days=to_float(get["days"]), leave_type=leave)]
        return [event("overtime", get["week_ending"], hours=to_float(get["hours"]))]


class PulseConfig(FileOptions):
    source: str = "pulse"
    response_id_column: str = "Response ID"
    employee_column: str = "Employee ID"
    team_column: str = "Team"
    submitted_column: str = "Submitted At"
    enps_column: str | None = Field("eNPS", description="0-10: how likely to recommend working here")
    comment_column: str | None = "Comment"
    questions: dict[str, str] = Field(default_factory=lambda: {"workload": "Workload", "burnout": "Burnout"},
                                      description="question id -> column with a 1-5 answer")


class PulseSurvey(FileConnector):
    """Pulse-survey results: eNPS (0-10) with its comment, and 1-5 pulse questions."""

    name = "pulse"
    kinds = ("hr",)
    Config = PulseConfig
    # Who answered, what they wrote and what they answered (the response id and team are not personal).
    personal_fields = ("Employee ID", "Comment", "eNPS", "Workload", "Burnout")

    def declared_personal_fields(self) -> tuple[str, ...]:
        c = self.config
        cols = [c.employee_column, c.comment_column, c.enps_column, *c.questions.values(), *c.personal_fields]
        return tuple(dict.fromkeys(x for x in cols if x))

    def required_columns(self) -> list[str]:
        c = self.config
        cols = [c.response_id_column, c.employee_column, c.team_column, c.submitted_column, c.enps_column,
                c.comment_column, *c.questions.values()]
        return [x for x in cols if x]

    def map(self, row: dict) -> list[dict] | None:
        c = self.config
        rid, emp, team = (str(pick(row, k) or "").strip() for k in
                          (c.response_id_column, c.employee_column, c.team_column))
        if not (rid and emp and team):
            raise Reject(Reason.MISSING_FIELD, "response id, employee id or team is empty")
        base = {"kind": "hr", "source": c.source, "employee_id": emp, "team_id": team,
                "occurred_at": parse_time(pick(row, c.submitted_column), c.assume_tz)}
        out = []
        enps = to_int(pick(row, c.enps_column)) if c.enps_column else None
        comment = str(pick(row, c.comment_column) or "").strip() if c.comment_column else ""
        if enps is not None or comment:
            if enps is None:
                raise Reject(Reason.MISSING_FIELD, "a comment without an eNPS score")
            out.append(compact({**base, "type": "enps", "event_id": f"{c.source}:{rid}:enps", "question": "enps",
                                "score": enps, "text": comment or None}))
        for qid, col in c.questions.items():
            score = to_int(pick(row, col))
            if score is not None:
                out.append({**base, "type": "pulse", "event_id": f"{c.source}:{rid}:{qid}", "question": qid,
                            "score": score})
        return out or None
