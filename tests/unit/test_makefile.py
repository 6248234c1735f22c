"""Set-up that cannot get stuck: a Python below 3.11 stops with one line, a venv built by another interpreter is
rebuilt rather than reused, `make test-fast` sets up what it needs right after `make demo`, and the activate
script points dbt at profiles/. Each runs the real Makefile in a copy of the files it reads, with fake
interpreters that report a chosen version."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _fake_python(path: Path, version: str, prefix: str) -> Path:
    """An executable that answers the version probe like a Python `version` installed under `prefix`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "{version} {prefix}"\n')
    path.chmod(0o755)
    return path


def _checkout(tmp_path: Path) -> Path:
    """The files the set-up rules read, and nothing else: no make target here touches the real .venv."""
    root = tmp_path / "repo"
    (root / "requirements").mkdir(parents=True)
    for name in (
        "Makefile",
        "pyproject.toml",
        "scripts/venv-python.sh",
        *map(str, ("requirements/dev.txt",)),
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, root / name)
    for name in ("checkov.txt", "lambda-layer.txt"):
        shutil.copy2(REPO_ROOT / "requirements" / name, root / "requirements" / name)
    return root


def _venv_built_by_python_3_11(root: Path, tmp_path: Path, stamps: tuple[str, ...]) -> Path:
    """A .venv in `root` that a Python 3.11 built, with `stamps` marking what is installed; returns that Python."""
    venv = root / ".venv"
    good = _fake_python(tmp_path / "bin" / "python3.11", "3.11.7", "/opt/python3.11")
    _fake_python(venv / "bin" / "python", "3.11.7", "/opt/python3.11")
    (venv / "pyvenv.cfg").touch()
    for stamp in stamps:
        (venv / stamp).parent.mkdir(parents=True, exist_ok=True)
        (venv / stamp).touch()
    return good


def _make(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "VIRTUAL_ENV"))}
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_a_python_below_3_11_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    old = _fake_python(tmp_path / "bin" / "python3.10", "3.10.12", "/usr")
    result = _make(root, "demo", f"PYTHON={old}")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "3.10.12" in lines[0] and "PYTHON=" in lines[0] and "3.11" in lines[0]
    assert not (root / ".venv" / "bin").exists()


def test_a_python_that_does_not_exist_stops_with_one_line(tmp_path: Path) -> None:
    result = _make(_checkout(tmp_path), "setup", "PYTHON=python3.99-nowhere")
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "PYTHON=" in result.stderr


def test_a_venv_built_by_another_python_is_rebuilt_not_reused(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    venv = root / ".venv"
    # A venv left by an earlier `make demo PYTHON=python3.10`: its packages stamped as installed.
    _fake_python(venv / "bin" / "python", "3.10.12", "/usr")
    (venv / ".installed").touch()
    good = _fake_python(tmp_path / "bin" / "python3.11", "3.11.7", "/opt/python3.11")

    result = _make(root, "-n", "setup", f"PYTHON={good}")

    assert "rebuilding" in result.stderr and "3.10.12" in result.stderr
    assert not (venv / "bin" / "python").exists()
    assert f"{good} -m venv .venv" in result.stdout


def test_the_same_python_reuses_the_venv(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    good = _venv_built_by_python_3_11(
        root, tmp_path, (".installed", ".dbt-profiles", "tools/lambda-layer/.installed")
    )

    result = _make(root, "-n", "test-fast", f"PYTHON={good}")

    assert result.stderr == ""
    assert "-m venv" not in result.stdout and "pip sync" not in result.stdout


def test_test_fast_right_after_demo_sets_up_the_lambda_layer(tmp_path: Path) -> None:
    """`make demo` builds only the main venv; test-fast's tests/infra handler test needs the layer's venv too."""
    root = _checkout(tmp_path)
    good = _venv_built_by_python_3_11(root, tmp_path, (".installed", ".dbt-profiles"))

    result = _make(root, "-n", "test-fast", f"PYTHON={good}")

    assert result.returncode == 0, result.stderr
    assert "requirements/lambda-layer.txt" in result.stdout


def test_the_activate_script_points_dbt_at_profiles() -> None:
    """After `source .venv/bin/activate`, a plain `dbt build` from the repository root finds profiles/."""
    activate = REPO_ROOT / ".venv" / "bin" / "activate"
    if not activate.exists():
        pytest.skip("no .venv: run make setup")
    result = subprocess.run(
        ["bash", "-c", f"unset DBT_PROFILES_DIR; source {activate} && cd / && echo $DBT_PROFILES_DIR"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(result.stdout.strip()) == REPO_ROOT / "profiles"
    assert (REPO_ROOT / "profiles" / "profiles.yml").is_file()
