import json

import pytest

from pulsewire.streams.connectors.hr import Hris, PulseSurvey
from pulsewire.streams.sdk import ConnectorError
from pulsewire.streams.testing import check_conformance, run_connector

EMPLOYEES = (
    "Employee #,First Name,Department,Job Title,Hire Date,Termination Date,Termination Type,Wellbeing Consent\n"
    "E-0042,Dana,Support,Agent,2023-02-13,,,Yes\n"
    "E-0043,Lee,Engineering,Developer,2021-09-01,2026-09-30,Resignation,No\n"
    "E-0044,Sam,Sales,Account Executive,2024-05-06,2026-10-15,Layoff,\n"
)
TIME_OFF = [
    {"Request ID": "TO-7", "Employee #": "E-0042", "Department": "Support", "Time Off Type": "Sick",
     "Start": "2026-10-12", "End": "2026-10-14", "Days": "3"},
    {"Request ID": "TO-8", "Employee #": "E-0043", "Department": "Engineering", "Time Off Type": "Annual Leave",
     "Start": "2026-08-03", "End": "2026-08-14", "Days": 10},
    {"Request ID": "TO-9", "Employee #": "E-0044", "Department": "Sales", "Time Off Type": "Bereavement",
     "Start": "2026-09-01", "Days": "1.5"},
]
PULSE = (
    "Response ID,Employee ID,Team,Submitted At,eNPS,Workload,Burnout,Comment\n"
    "resp-1,E-0042,Support,2026-10-20T16:02:11Z,3,2,4,\"Too many tickets per shift, nobody covers sick days.\"\n"
    "resp-2,E-0043,Engineering,2026-10-20T16:05:40Z,9,4,,\n"
    "resp-3,E-0045,Support,2026-10-21T08:00:00Z,,,,\n"
)


def test_hris_employees_csv(tmp_path):
    p = tmp_path / "employees.csv"
    p.write_text(EMPLOYEES)
    ev = run_connector(Hris({"path": str(p)})).events
    assert [(e.type, e.employee_id, e.team_id) for e in ev] == [
        ("hire", "E-0042", "Support"), ("hire", "E-0043", "Engineering"), ("exit", "E-0043", "Engineering"),
        ("hire", "E-0044", "Sales"), ("exit", "E-0044", "Sales")]
    assert ev[0].consent is True and ev[2].exit_type == "voluntary" and ev[4].exit_type == "involuntary"
    assert ev[2].occurred_at.isoformat() == "2026-09-30T00:00:00+00:00"


def test_hris_time_off_json_and_overtime(tmp_path):
    p = tmp_path / "time_off.json"
    p.write_text(json.dumps({"timeOffRequests": TIME_OFF}))
    ev = run_connector(Hris({"path": str(p), "report": "time_off"})).events
    assert [(e.leave_type, e.days) for e in ev] == [("sick", 3.0), ("vacation", 10.0), ("other", 1.5)]
    o = tmp_path / "overtime.csv"
    o.write_text("Employee #,Team,Week Ending,Overtime Hours\nE-0042,Support,2026-10-18,6.5\n")
    ev = run_connector(Hris({"path": str(o), "report": "overtime", "columns": {"team_id": "Team"}})).events
    assert ev[0].hours == 6.5 and ev[0].team_id == "Support"


def test_hris_bad_rows_and_missing_column(tmp_path):
    p = tmp_path / "employees.csv"
    p.write_text(EMPLOYEES + "E-0050,Kim,Ops,Lead,2022-01-01,2026-01-01,Sabbatical,\n,Ghost,Ops,,2022-01-01,,,\n")
    sink = run_connector(Hris({"path": str(p)}))
    assert [d.reason.value for d in sink.dead_letters] == ["invalid_value", "missing_field"]
    p.write_text(EMPLOYEES.replace("Department", "Dept"))
    with pytest.raises(ConnectorError, match="'Department'"):
        run_connector(Hris({"path": str(p)}))


def test_pulse_survey(tmp_path):
    p = tmp_path / "pulse.csv"
    p.write_text(PULSE)
    ev = run_connector(PulseSurvey({"path": str(p)})).events
    assert [(e.type, e.question, e.score) for e in ev] == [
        ("enps", "enps", 3), ("pulse", "workload", 2), ("pulse", "burnout", 4), ("enps", "enps", 9),
        ("pulse", "workload", 4)]
    assert ev[0].text.startswith("Too many tickets") and ev[0].event_id == "pulse:resp-1:enps"


def test_conformance(tmp_path):
    (tmp_path / "e.csv").write_text(EMPLOYEES)
    (tmp_path / "t.json").write_text(json.dumps(TIME_OFF))
    (tmp_path / "p.csv").write_text(PULSE)
    check_conformance(lambda: Hris({"path": str(tmp_path / "e.csv")}), bad=[{"Employee #": "E-1"}])
    check_conformance(lambda: Hris({"path": str(tmp_path / "t.json"), "report": "time_off"}),
                      bad=[{**TIME_OFF[0], "Days": "three"}])
    check_conformance(lambda: PulseSurvey({"path": str(tmp_path / "p.csv")}),
                      bad=[{"Response ID": "r", "Employee ID": "E", "Team": "T", "Submitted At": "2026-10-01T00:00:00Z",
                            "eNPS": "11"}])
