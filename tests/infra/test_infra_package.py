"""infra/package.py: the Lambda and Glue zips hold what the function and the job import, and nothing else;
the export block and the parameter overrides are what deploy.sh prints and passes."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.infra.helpers import REPO_ROOT

SEEDS = sorted(p.name for p in (REPO_ROOT / "seeds").glob("*.csv"))


def test_lambda_zip_contents(package: ModuleType, tmp_path: Path) -> None:
    out = package.build_lambda_zip(tmp_path / "ingestion.zip")
    names = set(zipfile.ZipFile(out).namelist())
    assert "ingestion/__init__.py" in names
    if (REPO_ROOT / "ingestion" / "handler.py").exists():
        # the module of ingestion.handler.lambda_handler
        assert "ingestion/handler.py" in names
    assert {f"ingestion/reference/{s}" for s in SEEDS} <= names
    for name in names:
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
        assert "/tests/" not in name and not Path(name).name.startswith("test_"), name
        assert name.startswith("ingestion/"), name
    # the packaged seeds are byte-identical to the repository's
    with zipfile.ZipFile(out) as zf:
        for seed in SEEDS:
            assert zf.read(f"ingestion/reference/{seed}") == (REPO_ROOT / "seeds" / seed).read_bytes()


def test_lambda_zip_is_reproducible(package: ModuleType, tmp_path: Path) -> None:
    a = package.build_lambda_zip(tmp_path / "a.zip")
    b = package.build_lambda_zip(tmp_path / "b.zip")
    assert a.read_bytes() == b.read_bytes()
    key = package.content_key(a)
    assert key == package.content_key(b)
    assert key.startswith("artifacts/lambda/ingestion-") and key.endswith(".zip")


def test_lambda_zip_reads_its_own_reference_data(package: ModuleType, tmp_path: Path) -> None:
    """Unzipped alone (as Lambda does), the package finds the seeds inside itself, not in a repository."""
    out = package.build_lambda_zip(tmp_path / "ingestion.zip")
    task = tmp_path / "task"
    zipfile.ZipFile(out).extractall(task)
    code = (
        "import ingestion, ingestion.reference as r, pathlib, sys; "
        "root = pathlib.Path(sys.argv[1]).resolve(); "
        "assert pathlib.Path(ingestion.__file__).resolve().is_relative_to(root), ingestion.__file__; "
        "print(r.reference_dir().resolve())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(task)],
        cwd=task,
        env={"PYTHONPATH": str(task), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == (task / "ingestion" / "reference").resolve()


def test_delete_requests_hold_at_most_1000_keys_versions_and_markers_alike(
    package: ModuleType, tmp_path: Path
) -> None:
    """A list-object-versions page (here the CLI's output when it merged pages: 1,500 versions and 1,100 delete
    markers) becomes delete-objects request files of at most 1,000 keys, every entry in exactly one."""
    page = {
        "Versions": [{"Key": f"v/{i}", "VersionId": f"a{i}", "IsLatest": True} for i in range(1500)],
        "DeleteMarkers": [{"Key": f"m/{i}", "VersionId": f"b{i}"} for i in range(1100)],
    }
    (tmp_path / "page.json").write_text(json.dumps(page))
    assert package.write_delete_requests(tmp_path / "page.json", tmp_path) == 2600
    requests = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("delete-*.json"))]
    assert [len(r["Objects"]) for r in requests] == [1000, 1000, 600]
    assert all(r["Quiet"] is True for r in requests)
    sent = [(o["Key"], o["VersionId"]) for r in requests for o in r["Objects"]]
    expected = [(e["Key"], e["VersionId"]) for e in [*page["Versions"], *page["DeleteMarkers"]]]
    assert sent == expected
    # an empty bucket: the CLI prints nothing
    (tmp_path / "empty.json").write_text("")
    assert package.write_delete_requests(tmp_path / "empty.json", tmp_path / "none") == 0


def test_glue_artifacts_are_named_by_content(tmp_path: Path) -> None:
    run = [sys.executable, str(REPO_ROOT / "infra" / "package.py")]
    zip_key = subprocess.run(
        [*run, "glue", "--out", str(tmp_path / "g.zip")], capture_output=True, text=True, check=True
    ).stdout.strip()
    again = subprocess.run(
        [*run, "glue", "--out", str(tmp_path / "h.zip")], capture_output=True, text=True, check=True
    ).stdout.strip()
    script_key = subprocess.run(
        [*run, "glue-script"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert zip_key == again and re.fullmatch(r"artifacts/glue/glue_jobs-[0-9a-f]{16}\.zip", zip_key), zip_key
    assert re.fullmatch(r"artifacts/glue/bronze_to_silver_orders-[0-9a-f]{16}\.py", script_key), script_key


def test_glue_zip_contents(package: ModuleType, tmp_path: Path) -> None:
    out = package.build_glue_zip(tmp_path / "glue_jobs.zip")
    names = set(zipfile.ZipFile(out).namelist())
    assert "glue_jobs/__init__.py" in names
    assert all(n.startswith("glue_jobs/") and "__pycache__" not in n and "/tests/" not in n for n in names)


def test_missing_package_is_one_line_error(package: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "countries.csv").write_text("x\n")
    with pytest.raises(package.PackageError, match="not a Python package"):
        package.build_lambda_zip(tmp_path / "out.zip", root=tmp_path)


def test_export_block_is_shell_evaluable(package: ModuleType) -> None:
    outputs = [{"OutputKey": k, "OutputValue": f"value of {k}"} for k in package.OUTPUT_TO_ENV]
    outputs.append({"OutputKey": "Unrelated", "OutputValue": "x"})
    block = package.export_block(outputs)
    lines = block.splitlines()
    assert len(lines) == len(package.OUTPUT_TO_ENV)
    for line, (key, env) in zip(lines, package.OUTPUT_TO_ENV.items(), strict=True):
        assert line.startswith(f"export {env}=")
        assert shlex.split(line.split("=", 1)[1]) == [f"value of {key}"]
    with pytest.raises(package.PackageError, match="DbtEnv"):
        package.export_block([o for o in outputs if o["OutputKey"] != "DbtEnv"])


def test_cli_exports_and_params(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"DbtAthenaRegion": "eu-west-1", "DbtAthenaS3StagingDir": "s3://b/athena-results/",
                                   "DbtAthenaS3DataDir": "s3://b/gold/", "DbtAthenaWorkgroup": "lakehouse-dev",
                                   "DbtAthenaSchema": "lakehouse_dev_gold", "DbtAthenaSilverDatabase": "lakehouse_dev_silver",
                                   "DbtEnv": "dev", "DbtProjectPrefix": "lakehouse"}))  # fmt: skip
    run = [sys.executable, str(REPO_ROOT / "infra" / "package.py")]
    gh = subprocess.run(
        [*run, "exports", "--github-env", str(outputs)], capture_output=True, text=True, check=True
    )
    assert "DBT_ATHENA_REGION=eu-west-1" in gh.stdout.splitlines()
    params = subprocess.run(
        [*run, "params", str(REPO_ROOT / "infra" / "parameters" / "dev.json"), "LambdaCodeKey=k", "Env=dev"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "LambdaCodeKey=k" in params and "Env=dev" in params and "LakePrefix=" in params
    bad = subprocess.run(
        [*run, "exports", str(tmp_path / "missing.json")], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


# What the Lambda runtime (boto3) and the AWS SDK for pandas layer (numpy, pyarrow, pandas) provide.
LAMBDA_THIRD_PARTY = {"boto3", "botocore", "numpy", "pyarrow", "pandas"}


def _module_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions: those only load when called)."""
    import ast

    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_handler_imports_only_what_lambda_provides() -> None:
    """The zip carries no dependencies: the handler's import closure may only need the runtime and the layer."""
    if not (REPO_ROOT / "ingestion" / "handler.py").exists():
        pytest.fail("ingestion/handler.py is missing")
    stdlib = set(sys.stdlib_module_names)
    seen, todo, third_party = set(), ["ingestion.handler"], set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = REPO_ROOT / (module.replace(".", "/") + ".py")
        if not path.exists():
            path = REPO_ROOT / module.replace(".", "/") / "__init__.py"
        for name in _module_imports(path):
            top = name.split(".")[0]
            if top == "ingestion":
                todo.append(name)
                if "." in name:
                    todo.append(name.rsplit(".", 1)[0])
            elif top not in stdlib and top != "__future__":
                third_party.add(top)
    assert third_party <= LAMBDA_THIRD_PARTY, f"the Lambda would need {third_party - LAMBDA_THIRD_PARTY}"


def test_glue_zip_carries_the_job_s_pins_so_its_key_changes_with_them(
    package: ModuleType, tmp_path: Path
) -> None:
    out = package.build_glue_zip(tmp_path / "glue_jobs.zip")
    assert (
        zipfile.ZipFile(out).read("glue_jobs/requirements.txt")
        == (REPO_ROOT / "requirements/glue.txt").read_bytes()
    )
    key = package.content_key(out, package.GLUE_ZIP_KEY_PREFIX)
    assert package.glue_requirements_key(key) == key.removesuffix(".zip") + "-requirements.txt"
