"""Check commit messages against the house habit: a subject under 72 characters, then a blank line and a body
that says why.

    python scripts/commit_msg.py .git/COMMIT_EDITMSG      # one message (the commit-msg hook of pre-commit)
    python scripts/commit_msg.py --range main..HEAD       # every commit of a branch (a CI job on a pull request)

A failure is one line per message naming the commit (or file) and the fix; the exit code is 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MAX_SUBJECT = 71
# git's own messages for merges and reverts are not written by hand
GENERATED = ("Merge ", "Revert ", "fixup! ", "squash! ", "amend! ")


@dataclass(frozen=True)
class Message:
    name: str
    text: str


def message_lines(text: str) -> list[str]:
    """The message as git stores it: no comment lines (git strips them), no trailing blank lines."""
    lines = [line.rstrip() for line in text.splitlines() if not line.startswith("#")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def problems(text: str) -> list[str]:
    """What breaks the habit in one message; empty when it holds."""
    lines = message_lines(text)
    if not lines or not lines[0]:
        return ["the subject (first line) is empty"]
    subject = lines[0]
    if subject.startswith(GENERATED):
        return []
    found = []
    if len(subject) > MAX_SUBJECT:
        found.append(
            f"the subject has {len(subject)} characters: keep it under 72, move the rest to the body"
        )
    if len(lines) < 3 or lines[1]:
        found.append("no body: after the subject, a blank line and a body that says why")
    return found


def range_messages(revisions: str) -> list[Message]:
    """The messages of the commits in a git revision range (no merges), oldest first."""
    # NUL-separated: a body may hold any other character
    out = subprocess.run(
        ["git", "log", "--no-merges", "--reverse", "--format=%h %B%x00", revisions],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    messages = []
    for record in out.split("\0"):
        record = record.lstrip("\n")
        if record:
            sha, _, text = record.partition(" ")
            messages.append(Message(sha, text))
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("file", nargs="?", type=Path, help="a commit message file")
    group.add_argument("--range", dest="revisions", help="a git revision range, e.g. main..HEAD")
    args = parser.parse_args(argv)
    try:
        if args.revisions:
            messages = range_messages(args.revisions)
        else:
            messages = [Message(str(args.file), args.file.read_text(encoding="utf-8"))]
    except (OSError, UnicodeDecodeError, subprocess.CalledProcessError) as why:
        sys.stderr.write(
            f"commit message: cannot read it ({why}): name a message file or a valid revision range\n"
        )
        return 2
    failures = [f"commit message {m.name}: {p}" for m in messages for p in problems(m.text)]
    for line in failures:
        sys.stderr.write(line + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
