"""Every relative link in the repository's tracked Markdown files resolves: the file or folder exists and, when
the link names an anchor, the target page has a heading with that GitHub slug."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import mistune
import pytest

REPO = Path(__file__).resolve().parents[2]
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def _tracked_markdown() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=REPO,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return sorted(REPO / name for name in out.split("\0") if name and (REPO / name).is_file())


def _walk(tokens: list[dict]) -> Iterator[dict]:
    for token in tokens:
        yield token
        yield from _walk(token.get("children") or [])


def _text(token: dict) -> str:
    if "raw" in token:
        return token["raw"]
    return "".join(_text(child) for child in token.get("children") or [])


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower-case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _parse(path: Path) -> list[dict]:
    return mistune.create_markdown(renderer=None, plugins=["table"])(path.read_text(encoding="utf-8"))


def _anchors(path: Path) -> set[str]:
    return {_slug(_text(t)) for t in _walk(_parse(path)) if t["type"] == "heading"}


def _links(path: Path) -> list[str]:
    return [t["attrs"]["url"] for t in _walk(_parse(path)) if t["type"] in ("link", "image")]


def _broken(path: Path) -> list[str]:
    broken = []
    for url in _links(path):
        if EXTERNAL.match(url):
            continue
        target_part, _, anchor = url.partition("#")
        target = (path.parent / target_part).resolve() if target_part else path
        if not target.exists():
            broken.append(f"{url}: no such file or folder")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{url}: no heading #{anchor} in {target.name}")
    return broken


def test_slug_follows_github() -> None:
    assert _slug("Bytes read: Athena's bill, measured locally") == "bytes-read-athenas-bill-measured-locally"
    assert _slug("7. CI roles (GitHub Actions, OIDC)") == "7-ci-roles-github-actions-oidc"


def test_a_dead_link_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("# Here\n")
    page.write_text("[a](there.md#here) [b](missing.md) [c](there.md#nowhere) [d](https://example.com/x)\n")
    found = _broken(page)
    assert len(found) == 2
    assert found[0].startswith("missing.md: no such file")
    assert found[1].startswith("there.md#nowhere: no heading")


@pytest.mark.parametrize("page", _tracked_markdown(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert _broken(page) == []


def test_the_readme_is_a_map() -> None:
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 150
