"""Fixtures of the ingestion tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local lake for the handler, with no AWS or ingestion settings leaking in from the environment."""
    for name in (
        "LAKE_BUCKET",
        "LAKE_PREFIX",
        "LAKE_KMS_KEY_ID",
        "INGEST_ROWS",
        "INGEST_DAYS",
        "INGEST_SEED",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("INGEST_DEFECT_RATE", raising=False)
    root = tmp_path / "lake"
    monkeypatch.setenv("LAKE_ROOT", str(root))
    return root
