"""``pulsewire notice``: every figure follows the configuration in force, every installed source and the
kinds it sends are listed, and the HTML page is well formed, self-contained and escaped."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from pulsewire.schemas.events import KINDS
from pulsewire.streams.settings import Settings
from pulsewire.streams.transparency.notice import Source, _roles, facts, html_page, installed_sources, markdown

from .test_cli_user_errors import pulsewire


def _section(text: str, title: str) -> str:
    """One audience's notice out of a document that holds both."""
    start = text.index(f"# Notice for {title}")
    end = text.find("\n# Notice for ", start + 1)
    return text[start:end if end > 0 else None]


def test_the_notice_changes_with_the_settings(tmp_path):
    env = {"PULSEWIRE_RAW_TEXT_TTL_DAYS": "33", "PULSEWIRE_MIN_GROUP_SIZE": "7",
           "PULSEWIRE_MIN_COMMENT_GROUP_SIZE": "12", "PULSEWIRE_CONSENT_SOURCES": "hris,bamboo",
           "PULSEWIRE_PREDICTIONS_TTL_DAYS": "45", "PULSEWIRE_DLQ_RETENTION_DAYS": "2",
           "PULSEWIRE_LEARN_BURNOUT_THRESHOLD": "0.65", "PULSEWIRE_TOPIC_PREFIX": "acme."}
    default = pulsewire("notice", cwd=tmp_path)
    changed = pulsewire("notice", cwd=tmp_path, env=env)
    assert default.returncode == changed.returncode == 0, (default.stderr, changed.stderr)
    before, after = _section(default.stdout, "employees"), _section(changed.stdout, "employees")
    for old, new in [
        ("Texts you write are kept 90 days", "Texts you write are kept 33 days"),
        ("only about groups of at least 5 people", "only about groups of at least 7 people"),
        ("groups of at least 10 people who wrote", "groups of at least 12 people who wrote"),
        ("as recorded by `hris`.", "as recorded by `bamboo` and `hris`."),
        ("taken only from `hris`", "taken only from `bamboo` and `hris`"),
        ("per person: 180 days (`risk_latest`)", "per person: 45 days (`risk_latest`)"),
        ("reaches 0.50 in 3 scores", "reaches 0.65 in 3 scores"),
        ("Alerts on `alerts.burnout` are read by the HR system", "Alerts on `acme.alerts.burnout` are read by"),
    ]:
        assert old in before and old not in after, old
        assert new in after and new not in before, new
    assert "- 2 days: `acme.events.dlq`" in after and "- 2 days:" not in before
    # the customers' notice follows the same settings
    assert "your churn risk reaches 0.55" in _section(changed.stdout, "customers")
    assert "Texts you write are kept 33 days" in _section(changed.stdout, "customers")


def test_every_installed_source_is_listed_with_the_kinds_it_sends_to_the_people_they_are_about(tmp_path):
    res = pulsewire("notice", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    sources = installed_sources()
    assert {s.name for s in sources} >= {"files", "webhook", "hris", "pulse", "generator"}
    for audience, who in (("employees", "employee"), ("customers", "customer")):
        notice = _section(res.stdout, audience)
        for s in sources:
            sent = [k for k in (s.kinds or KINDS) if who in _roles(k)]
            line = next((ln for ln in notice.splitlines() if ln.startswith(f"- `{s.name}`: ")), None)
            if not sent:
                assert line is None, (audience, s.name)
                continue
            assert line is not None, (audience, s.name)
            assert all(f"`{k}`" in line.split("; sends ", 1)[1] for k in sent), line
            for f in s.personal_fields or ():
                assert f"`{f}`" in line
        for kind in (k for k in KINDS if who in _roles(k)):
            assert f"\n- `{kind}` (" in notice  # what each kind carries


def test_a_source_is_listed_only_for_the_people_its_kinds_are_about():
    f = facts(Settings(), [Source("crm-accounts", "Account changes", ("account",), ("Customer",)),
                           Source("mystery", "Undeclared", None, None)])
    employees, customers = markdown(f, "employees"), markdown(f, "customers")
    assert "`crm-accounts`" not in employees and "- `crm-accounts`: Account changes; sends `account` events" in customers
    # a connector that declares nothing is described as sending any kind, every field personal
    assert "`mystery`: Undeclared; sends `chat` and `hr` events (every field is treated as personal)" in employees


class _Checker(HTMLParser):
    VOID = {"meta", "br", "img", "link", "hr", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.tags, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.mark.parametrize("audience", ["employees", "customers", "both"])
def test_the_html_page_is_well_formed_self_contained_and_escaped(audience):
    f = facts(Settings(consent_sources=f"hris,{HOSTILE}"), [Source("evil", HOSTILE, ("hr", "review"), (HOSTILE,))])
    page = html_page(f, audience)
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.problems == [] and checker.stack == []
    tags = {t for t, _ in checker.tags}
    assert tags <= {"html", "head", "meta", "title", "style", "body", "section", "h1", "h2", "p", "ul", "li",
                    "code", "strong"}, tags
    assert not any(k in ("src", "href") or k.startswith("on") for _, attrs in checker.tags for k in attrs)
    text = "".join(checker.text)
    assert HOSTILE in text  # shown as the text it is, not interpreted
    assert "&lt;script&gt;" in page and "<script" not in page and "<img" not in page
    assert page.count("<h1>Notice for ") == (2 if audience == "both" else 1)


def test_the_command_writes_html_to_a_file(tmp_path):
    res = pulsewire("notice", "--audience", "customers", "--format", "html", "-o", "notice.html", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == "wrote notice.html", res.stderr
    page = (tmp_path / "notice.html").read_text()
    assert "<title>Notice for customers: what pulsewire holds about you and why</title>" in page
    assert "pulsewire export --customer ID" in page and "Notice for employees" not in page


def test_a_bad_setting_is_one_line(tmp_path):
    from .test_cli_user_errors import assert_user_error

    assert_user_error(pulsewire("notice", cwd=tmp_path, env={"PULSEWIRE_MIN_GROUP_SIZE": "3"}),
                      "PULSEWIRE_MIN_GROUP_SIZE")
    assert_user_error(pulsewire("notice", cwd=tmp_path, env={"PULSEWIRE_LEARN_BURNOUT_THRESHOLD": "high"}),
                      "PULSEWIRE_LEARN_")


def test_who_sees_what_lists_every_granted_view_with_what_it_shows_in_both_notices():
    from pulsewire.streams.store_access import GRANTED
    from pulsewire.streams.transparency.notice import VIEW_ABOUT

    assert set(VIEW_ABOUT) == set(GRANTED)  # a newly granted view needs its plain-words description
    text = markdown(facts(Settings(), []))
    for audience in ("employees", "customers"):
        part = _section(text, audience)
        seen = part[part.index("## Who sees what"):part.index("## How long it is kept")]
        for view in GRANTED:
            assert f"- `{view}`: {VIEW_ABOUT[view]}" in seen, (audience, view)
        assert "about at least 5 people (10 for written comments)" in seen and "{" not in seen, audience
    assert "oversight_outcome_week" in GRANTED and "oversight_bias_audit" in GRANTED


def test_only_employees_are_promised_their_consent_history_in_a_copy():
    text = markdown(facts(Settings(), []))
    copy = [ln for ln in text.splitlines() if "pulsewire export" in ln and "A copy of everything" in ln]
    assert len(copy) == 2
    employees, customers = (next(ln for ln in copy if flag in ln) for flag in ("--employee", "--customer"))
    assert "consent history" in employees and "consent history" not in customers
    assert "(another person)" in employees and "(another person)" in customers
