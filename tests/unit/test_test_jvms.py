"""The JVM options the test session gives Spark (tests/conftest.py): C1 only for the short JVMs a test starts in a
subprocess, the default compilers for the shared session's JVM, which runs for the whole session."""

from __future__ import annotations

import os
from typing import Any

from tests.conftest import JVM_FOR_TESTS


def test_a_jvm_a_test_starts_in_a_subprocess_runs_c1_only() -> None:
    assert JVM_FOR_TESTS in os.environ["SPARK_SUBMIT_OPTS"].split()


def test_the_shared_sessions_jvm_keeps_the_default_compilers(spark: Any) -> None:
    jvm = spark.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert arguments and JVM_FOR_TESTS not in arguments, arguments
