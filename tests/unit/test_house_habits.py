"""The house habits of docs/changing.md that a test can hold: a comment sits above the line it explains, code cites
no issue numbers (history lives in git and docs/decisions/), a model casts a column to its own name only with a
comment saying why, and commit messages have a short subject and a body (scripts/commit_msg.py, a commit-msg hook)."""

from __future__ import annotations

import importlib.util
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.conftest import REPO_ROOT

PYTHON_FOLDERS = ("bench", "glue_jobs", "infra", "ingestion", "lakehouse", "scripts", "tests")
# Directives for tools, which must stay on their line.
DIRECTIVES = ("noqa", "type: ignore", "pragma", "fmt:", "pyright:", "nosec")
ISSUE = re.compile(r"\bissue \d+", re.IGNORECASE)
# cast(x as <type>) as x, or cast(t.x as <type>) as x: the column keeps its name, so its type should not change
RECAST = re.compile(r"\bcast\(\s*(?:\w+\.)?(\w+)\s+as\s+.+?\)\s+as\s+(\w+)\b", re.IGNORECASE)


def python_files() -> list[Path]:
    return sorted(p for folder in PYTHON_FOLDERS for p in (REPO_ROOT / folder).rglob("*.py"))


def end_of_line_comments(source: str) -> list[tuple[int, str]]:
    """(line, comment) of every comment that follows code on its line, tool directives aside."""
    lines = source.splitlines()
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        row, col = token.start
        directive = any(d in token.string for d in DIRECTIVES)
        if token.type == tokenize.COMMENT and lines[row - 1][:col].strip() and not directive:
            found.append((row, token.string))
    return found


def _recast(line: str) -> bool:
    match = RECAST.search(line)
    return bool(match) and match.group(1).lower() == match.group(2).lower()


def unexplained_recasts(sql: str) -> list[tuple[int, str]]:
    """(line, text) of each `cast(x as ...) as x` with no comment above it (one comment may head a run of them)."""
    lines = sql.splitlines()
    found = []
    for number, line in enumerate(lines, 1):
        if not _recast(line):
            continue
        above = number - 2
        while above >= 0 and _recast(lines[above]):
            above -= 1
        if above < 0 or not lines[above].lstrip().startswith(("--", "{#")):
            found.append((number, line.strip()))
    return found


def commit_msg() -> ModuleType:
    spec = importlib.util.spec_from_file_location("commit_msg", REPO_ROOT / "scripts" / "commit_msg.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["commit_msg"] = module
    spec.loader.exec_module(module)
    return module


def test_a_comment_sits_above_the_line_it_explains() -> None:
    found = [
        f"{path.relative_to(REPO_ROOT)}:{row}: {text}"
        for path in python_files()
        for row, text in end_of_line_comments(path.read_text(encoding="utf-8"))
    ]
    assert not found, "move these comments above the line they explain:\n" + "\n".join(found)


def test_the_comment_check_sees_a_comment_the_formatter_split() -> None:
    source = "total = sum(\n    values\n)  # the split half of a trailing comment\nx = 1  # noqa: E501\n# above\ny = 2\n"
    assert end_of_line_comments(source) == [(3, "# the split half of a trailing comment")]


def test_the_code_cites_no_issue_numbers() -> None:
    found = [
        f"{path.relative_to(REPO_ROOT)}:{n}: {line.strip()}"
        for path in python_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ISSUE.search(line)
    ]
    assert not found, "say what the code does and why; history goes to docs/decisions/:\n" + "\n".join(found)


def test_models_recast_a_column_only_with_a_reason() -> None:
    models = [p for p in (REPO_ROOT / "models").rglob("*.sql") if "staging" not in p.parts]
    assert models
    found = [
        f"{path.relative_to(REPO_ROOT)}:{n}: {line}"
        for path in models
        for n, line in unexplained_recasts(path.read_text(encoding="utf-8"))
    ]
    assert not found, (
        "a column cast to its own name outside staging: drop the cast, or say above it why the type changes:\n"
        + "\n".join(found)
    )


def test_the_recast_check_tells_a_pass_through_from_an_explained_change() -> None:
    sql = """
    select
        cast(order_id as varchar) as order_id,
        -- sum() widens
        cast(total as decimal(18, 2)) as total,
        cast(t.amount as decimal(18, 2)) as amount,
        cast(x as date) as order_month,
        cast(ingested_at as {{ lakehouse.type_timestamp() }}) as ingested_at
    """
    assert [line for _, line in unexplained_recasts(sql)] == [
        "cast(order_id as varchar) as order_id,",
        "cast(ingested_at as {{ lakehouse.type_timestamp() }}) as ingested_at",
    ]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Cast only where a type changes\n\nfct_orders re-cast every column.\n", []),
        ("Merge branch 'habits' into integ\n", []),
        ("A" * 72 + "\n\nwhy\n", ["the subject has 72 characters"]),
        ("Fix the build\n", ["no body"]),
        ("Fix the build\nwhy, on the second line\n", ["no body"]),
        ("# only git's comments\n\n", ["the subject (first line) is empty"]),
    ],
    ids=["good", "merge", "long-subject", "no-body", "no-blank-line", "empty"],
)
def test_commit_messages(message: str, expected: list[str]) -> None:
    found = commit_msg().problems(message)
    assert len(found) == len(expected) and all(
        f.startswith(e) for f, e in zip(found, expected, strict=True)
    ), found


def test_the_commit_message_check_reads_a_file_and_a_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    check = commit_msg()
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("Fix the build\n# Please enter the commit message\n")
    assert check.main([str(message)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert (
        line == f"commit message {message}: no body: after the subject, a blank line and a body that says why"
    )

    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "Start"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "Good subject\n\nThe why."], check=True)
    assert check.main(["--range", "main~1..main"]) == 0
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "B" * 80], check=True)
    assert check.main(["--range", "main~2..main"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("commit message ") for line in err), err
    assert check.main(["--range", "nowhere..main"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_pre_commit_install_adds_the_commit_message_hook() -> None:
    config = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text())
    assert "commit-msg" in config["default_install_hook_types"]
    hook = next(h for repo in config["repos"] for h in repo["hooks"] if h["id"] == "commit-message")
    assert hook["stages"] == ["commit-msg"] and hook["entry"].endswith("scripts/commit_msg.py")


def test_ci_checks_the_commit_messages_of_a_pull_request() -> None:
    ci = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    (step,) = [s for s in ci["jobs"]["lint"]["steps"] if "commit_msg.py" in s.get("run", "")]
    assert step["if"] == "github.event_name == 'pull_request'"
    assert 'scripts/commit_msg.py --range "$BASE..$HEAD"' in step["run"]
