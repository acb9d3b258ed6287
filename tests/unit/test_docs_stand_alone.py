"""The docs stand on their own: they name no file outside the repository, their links lead to files
in it, and every ``pulsewire`` command line and ``make`` target they show (in backticks or a code block)
exists, with the options given."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from pulsewire.streams.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(
    [ROOT / "README.md", *ROOT.glob("CHANGELOG.md"), *(ROOT / "docs").rglob("*.md"),
     *(p for p in (ROOT / "models").rglob("*.md")), *(p for p in (ROOT / "infra").rglob("*.md"))])
OUTSIDE = re.compile(r"(?<![\w.-])shared/|design card|/work/", re.IGNORECASE)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_doc_names_nothing_outside_the_repository(doc):
    hits = [f"{i}: {line.strip()}" for i, line in enumerate(doc.read_text().splitlines(), 1) if OUTSIDE.search(line)]
    assert hits == [], f"{_name(doc)} points outside the repository:\n" + "\n".join(hits)


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_doc_links_lead_to_files_in_the_repository(doc):
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor in the same page
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
    assert broken == [], f"{_name(doc)} links to what the repository does not hold: {broken}"


def _command_lines(text: str) -> list[str]:
    """``pulsewire ...`` as typed: inline code spans and lines of fenced code blocks (after a ``$`` prompt)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            cmd = re.sub(r"^\s*\$\s*", "", line).split("#", 1)[0].strip()
            if cmd.startswith("pulsewire "):
                lines.append(cmd)
        else:
            lines += [span for span in re.findall(r"`([^`]+)`", line) if span.startswith("pulsewire ")]
    return lines


def _problems(line: str, root) -> list[str]:
    try:
        words = shlex.split(line.split("|")[0])[1:]
    except ValueError:
        words = line.split()[1:]
    cmd, problems = root, []
    while words:
        word = words.pop(0)
        if word.startswith("-"):
            opt = word.split("=", 1)[0]
            names = {n for p in cmd.params for n in (*p.opts, *p.secondary_opts)} | {"--help"}
            if opt not in names:
                problems.append(f"{line!r}: {cmd.name} has no option {opt}")
        elif hasattr(cmd, "commands"):  # a group (typer ships its own click)
            if word not in cmd.commands:
                if re.fullmatch(r"[a-z][a-z-]*", word):
                    problems.append(f"{line!r}: no command {word!r} under {cmd.name}")
                return problems
            cmd = cmd.commands[word]
    return problems


def test_every_pulsewire_command_in_the_docs_exists():
    root = typer.main.get_command(app)
    seen = {line: doc for doc in DOCS for line in _command_lines(doc.read_text())}
    assert len(seen) > 20  # the README alone shows a dozen
    problems = [f"{_name(doc)}: {p}" for line, doc in seen.items() for p in _problems(line, root)]
    assert problems == [], "\n".join(problems)


def test_the_check_catches_a_command_that_does_not_exist():
    root = typer.main.get_command(app)
    assert _problems("pulsewire status", root) != []
    assert _problems("pulsewire board --no-such-option", root) != []
    assert _problems("pulsewire grafana sync --url URL --dry-run", root) == []


def test_every_make_target_in_the_docs_exists():
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    typed = re.compile(r"(?:`|^\s*(?:\$\s*)?)make ([a-z][\w-]*)", re.MULTILINE)  # in code, or a command line
    named = {(_name(doc), t) for doc in DOCS for t in typed.findall(doc.read_text())}
    assert len(named) > 3
    assert [f"{doc}: make {t}" for doc, t in sorted(named) if t not in targets] == []


def _expand(names: list[str], fields) -> list[str]:
    """README shorthand: `PULSEWIRE_SCORE_BATCH_SIZE` / `_WITHIN_S` means PULSEWIRE_SCORE_BATCH_WITHIN_S."""
    base, out = names[0].removeprefix("PULSEWIRE_").lower(), [names[0].removeprefix("PULSEWIRE_").lower()]
    for short in names[1:]:
        if not short.startswith("_"):
            out.append(short.removeprefix("PULSEWIRE_").lower())
            continue
        words = base.split("_")
        candidates = ["_".join(words[:k]) + short.lower() for k in range(len(words), -1, -1)]
        out.append(next((c.lstrip("_") for c in candidates if c.lstrip("_") in fields), candidates[0]))
    return out


def test_readme_configuration_table_names_real_settings_with_their_defaults():
    """Every variable in README's Configuration table is a setting (or a learner setting,
    ``PULSEWIRE_LEARN_<field of LearnerConfig>``), and a plain number shown as its default is the default."""
    from types import SimpleNamespace

    from pulsewire.models.learners.processor import LearnerConfig
    from pulsewire.streams.settings import Settings

    section = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    fields = {**Settings.model_fields, **{f"learn_{name}": SimpleNamespace(default=f.default)
                                          for name, f in LearnerConfig.__dataclass_fields__.items()}}
    checked = 0
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`PULSEWIRE_"):
            continue
        names = _expand(re.findall(r"`(PULSEWIRE_\w+|_\w+)`", cells[0]), fields)
        defaults = [d.strip(" `") for d in cells[1].split(" / ")]
        for i, field in enumerate(names):
            assert field in fields, f"README's configuration table names PULSEWIRE_{field.upper()}, which is no setting"
            if len(defaults) == len(names) and re.fullmatch(r"-?\d+(\.\d+)?", defaults[i]):
                assert float(defaults[i]) == float(fields[field].default), (field, defaults[i])
                checked += 1
    assert checked >= 10
