"""The groups `make test` queues first (tests/conftest.py's LONGEST) name groups that exist: a renamed folder or
module would otherwise quietly fall back to the end of the queue and start last."""

from __future__ import annotations

from tests.conftest import LONGEST, SESSION_FOLDERS, SPARK_GROUPS, TESTS


def test_every_longest_group_is_the_spark_group_a_session_folder_or_a_module() -> None:
    for group in LONGEST:
        if group == "spark" or group in {name for name, _ in SPARK_GROUPS}:
            continue
        assert (group in SESSION_FOLDERS and (TESTS / group).is_dir()) or (TESTS / group).is_file(), group


def test_every_spark_group_names_a_test_folder() -> None:
    for _, folder in SPARK_GROUPS:
        assert (TESTS / folder).is_dir(), folder
