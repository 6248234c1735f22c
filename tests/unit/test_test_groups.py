"""The groups `make test` queues first (tests/conftest.py's LONGEST) name groups that exist: a renamed folder or
module would otherwise quietly fall back to the end of the queue and start last."""

from __future__ import annotations

from tests.conftest import LONGEST, SESSION_FOLDERS, TESTS


def test_every_longest_group_is_the_spark_group_a_session_folder_or_a_module() -> None:
    for group in LONGEST:
        if group == "spark":
            continue
        assert (group in SESSION_FOLDERS and (TESTS / group).is_dir()) or (TESTS / group).is_file(), group
