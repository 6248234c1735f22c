"""`make docs` serves the site on PORT: a busy port is one line naming another, Ctrl-C ends it quietly with 0, and
the page opens on the lineage with tests left out of the graph's default selection (lakehouse/docs_site.py)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lakehouse.docs_site import DocsSiteError, dbt_docs_index, lineage_first
from tests.conftest import REPO_ROOT


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """dbt's two artifacts, empty: serving does not read them."""
    folder = tmp_path / "target"
    folder.mkdir()
    for name in ("manifest.json", "catalog.json"):
        (folder / name).write_text(json.dumps({"nodes": {}}))
    return folder


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def _docs(target: Path, port: int) -> list[str]:
    site = target.parent / "site"
    serve = ["--serve", "--port", str(port)]
    return [sys.executable, "-m", "lakehouse.docs_site", "--target", str(target), "--site", str(site), *serve]


def test_a_busy_port_is_one_line_naming_another(target: Path, busy_port: int) -> None:
    result = subprocess.run(
        _docs(target, busy_port), cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"docs: port {busy_port} is in use (another make docs?): stop it, or choose another port: "
        f"make docs PORT={busy_port + 1}"
    ]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    "started_by",
    [
        pytest.param(None, id="a-terminal"),
        # a script's background job (`make docs &`) inherits SIGINT ignored, and Python then leaves it so
        pytest.param(_ignore_sigint, id="a-background-job"),
    ],
)
def test_ctrl_c_stops_the_server_quietly_with_0(target: Path, started_by: Callable[[], None] | None) -> None:
    port = _free_port()
    server = subprocess.Popen(
        _docs(target, port),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=started_by,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if b"serving" in line:
                break
        page = urllib.request.urlopen(f"http://localhost:{port}/", timeout=30).read().decode()
        assert "g_v=1" in page
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode == 0
    assert err == b"", err.decode()
    assert b"Traceback" not in out


def test_the_site_opens_on_a_lineage_without_tests() -> None:
    page = lineage_first(dbt_docs_index().read_text())
    default = page.split('factory("selectorService"')[1].split("depth:1}")[0]
    assert '"unit_test"' not in default and '"test"' not in default
    assert all(f'"{kind}"' in default for kind in ("model", "source", "seed", "exposure"))
    # Unit tests stay one tick away: the filter's options still list them.
    assert page.count('"unit_test"') == dbt_docs_index().read_text().count('"unit_test"') - 1
    with pytest.raises(DocsSiteError):
        lineage_first("<html><head></head></html>")
