"""The repository's infra/ folder seen from Python: the stack's template, and infra/package.py (a script beside
the template, not a package) loaded as a module, for the deploy helpers it shares with deploy.sh."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from lakehouse.dbt import REPO

INFRA = REPO / "infra"
TEMPLATE = INFRA / "lakehouse.yaml"


def load_package_module() -> ModuleType:
    """infra/package.py as the module `infra_package` (what deploy.sh runs, e.g. its `dbt_env`)."""
    spec = importlib.util.spec_from_file_location("infra_package", INFRA / "package.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {INFRA / 'package.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["infra_package"] = module
    spec.loader.exec_module(module)
    return module
