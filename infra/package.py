"""Build and naming helpers for infra/scripts/deploy.sh, kept in Python so tests can check them.

Standard library only: it runs before (and without) the project's virtualenv.

    python infra/package.py lambda --out build/infra/ingestion.zip     # prints the content-addressed S3 key
    python infra/package.py glue --out build/infra/glue_jobs.zip       # the same for the Glue library
    python infra/package.py glue-script                                # the S3 key of the Glue entry script
    python infra/package.py glue-requirements KEY                      # the S3 key of the job's pins, by its zip's
    python infra/package.py dbt-project --out build/infra/project.zip  # the dbt stages' CodeBuild source
    python infra/package.py phase1-template infra/lakehouse.yaml OUT   # the template as the first create makes it
    python infra/package.py params infra/parameters/dev.json           # Key=Value lines for cloudformation deploy
    python infra/package.py param infra/parameters/dev.json ProjectName lakehouse
    python infra/package.py exports outputs.json                       # the dbt athena export block
    python infra/package.py delete-requests page.json OUTDIR           # list-object-versions -> delete-objects
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent

# What goes into the Lambda zip: these packages (their non-test files), plus the seeds as ingestion/reference/.
LAMBDA_PACKAGES: tuple[str, ...] = ("ingestion",)
LAMBDA_REFERENCE_DIR = "ingestion/reference"
GLUE_PACKAGES: tuple[str, ...] = ("glue_jobs",)
GLUE_ENTRY_SCRIPT = "glue_jobs/bronze_to_silver_orders.py"
# The job's Python pins (boto3 with conditional writes, pyarrow): Glue 5.0 installs them from this file, uploaded
# beside the zip. The zip holds a copy, so the zip's content hash (its key) changes whenever the pins do.
GLUE_REQUIREMENTS = "requirements/glue.txt"
GLUE_REQUIREMENTS_SUFFIX = "-requirements.txt"
GLUE_REQUIREMENTS_IN_ZIP = "glue_jobs/requirements.txt"
# S3 key prefixes of the artifacts: each is uploaded as <prefix>-<content hash><suffix>, so a new build is a new
# key, and a stack update (not an overwrite in place) is what switches the function or the job to it.
LAMBDA_KEY_PREFIX = "artifacts/lambda/ingestion"
GLUE_ZIP_KEY_PREFIX = "artifacts/glue/glue_jobs"
GLUE_SCRIPT_KEY_PREFIX = "artifacts/glue/bronze_to_silver_orders"
DBT_PROJECT_KEY_PREFIX = "artifacts/dbt/project"
# The CodeBuild source of the pipeline's dbt stages (lakehouse/stage.py): the dbt project, the pinned requirements
# the buildspec installs, and the lakehouse package the stage command is.
DBT_PROJECT_FILES: tuple[str, ...] = ("dbt_project.yml", "requirements/gold-runner.txt")
DBT_PROJECT_DIRS: tuple[str, ...] = ("models", "macros", "seeds", "data-tests", "analyses", "profiles")
DBT_PROJECT_PACKAGES: tuple[str, ...] = ("lakehouse",)
# delete-objects takes at most 1,000 keys per request.
DELETE_BATCH = 1000
LAMBDA_HANDLER = "ingestion.handler.lambda_handler"

# Stack output -> environment variable of the dbt athena target (see profiles/ and docs/architecture.md).
OUTPUT_TO_ENV: dict[str, str] = {
    "DbtAthenaRegion": "DBT_ATHENA_REGION",
    "DbtAthenaS3StagingDir": "DBT_ATHENA_S3_STAGING_DIR",
    "DbtAthenaS3DataDir": "DBT_ATHENA_S3_DATA_DIR",
    "DbtAthenaWorkgroup": "DBT_ATHENA_WORKGROUP",
    "DbtAthenaSchema": "DBT_ATHENA_SCHEMA",
    "DbtAthenaSilverDatabase": "DBT_ATHENA_SILVER_DATABASE",
    "DbtEnv": "DBT_ENV",
    "DbtProjectPrefix": "DBT_PROJECT_PREFIX",
}

_EXCLUDED_DIRS = {"tests", "__pycache__", ".pytest_cache", "reference"}
_EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
# A fixed timestamp makes the zip byte-identical for identical sources, so its hash (the S3 key) only
# changes when the code does, and CloudFormation only updates the function then.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


class PackageError(RuntimeError):
    """A build input is missing; the message says which."""


def _package_files(root: Path, package: str) -> Iterator[Path]:
    base = root / package
    if not (base / "__init__.py").is_file():
        raise PackageError(f"{base} is not a Python package (no __init__.py)")
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or path.suffix in _EXCLUDED_SUFFIXES:
            continue
        if any(part in _EXCLUDED_DIRS for part in rel.parts[1:-1]) or path.name.startswith("test_"):
            continue
        yield path


def _write_zip(out: Path, entries: Iterable[tuple[str, Path]]) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, src in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, src.read_bytes())
    return out


def build_lambda_zip(out: Path, root: Path = REPO_ROOT) -> Path:
    """The ingestion package with seeds/*.csv copied to ingestion/reference/ (tests and caches left out)."""
    seeds = sorted((root / "seeds").glob("*.csv"))
    if not seeds:
        raise PackageError(f"no reference data: {root / 'seeds'}/*.csv not found")
    entries = [
        (p.relative_to(root).as_posix(), p) for pkg in LAMBDA_PACKAGES for p in _package_files(root, pkg)
    ]
    entries += [(f"{LAMBDA_REFERENCE_DIR}/{p.name}", p) for p in seeds]
    return _write_zip(out, entries)


def build_glue_zip(out: Path, root: Path = REPO_ROOT) -> Path:
    """The glue_jobs package for --extra-py-files (Glue runs the entry script separately)."""
    entries = [
        (p.relative_to(root).as_posix(), p) for pkg in GLUE_PACKAGES for p in _package_files(root, pkg)
    ]
    requirements = root / GLUE_REQUIREMENTS
    if not requirements.is_file():
        raise PackageError(f"{requirements} is missing: run `make requirements`")
    return _write_zip(out, [*entries, (GLUE_REQUIREMENTS_IN_ZIP, requirements)])


def glue_requirements_key(zip_key: str) -> str:
    """The S3 key of the job's pins, named after its zip's key: the template derives the same name from
    ``GlueZipKey`` (SilverJob's ``--additional-python-modules``), so no parameter of its own is needed."""
    if not zip_key.endswith(".zip"):
        raise PackageError(f"{zip_key!r} is not the key of a .zip")
    return zip_key.removesuffix(".zip") + GLUE_REQUIREMENTS_SUFFIX


def build_dbt_project_zip(out: Path, root: Path = REPO_ROOT) -> Path:
    """What `python -m lakehouse.stage <stage>` needs in CodeBuild, at the paths it has in the repository."""
    missing = [name for name in (*DBT_PROJECT_FILES, *DBT_PROJECT_DIRS) if not (root / name).exists()]
    if missing:
        raise PackageError(f"the dbt project is incomplete: {', '.join(missing)} not found in {root}")
    files = [root / name for name in DBT_PROJECT_FILES]
    for folder in DBT_PROJECT_DIRS:
        files += [
            p
            for p in sorted((root / folder).rglob("*"))
            if p.is_file() and p.suffix not in _EXCLUDED_SUFFIXES
        ]
    files += [p for pkg in DBT_PROJECT_PACKAGES for p in _package_files(root, pkg)]
    return _write_zip(out, [(p.relative_to(root).as_posix(), p) for p in files])


# CloudFormation takes a template of at most 51,200 bytes inline; a larger one has to come from S3.
INLINE_TEMPLATE_LIMIT = 51_200
COMPUTE_CONDITION = "DeployComputeCond"


def bucket_only_template(text: str, condition: str = COMPUTE_CONDITION) -> str:
    """The template as the first (bucket-only) create makes it: the resources and outputs under `condition` left
    out, with comments and blank lines. The full template is over the inline limit and goes through the bucket,
    which does not exist before this create; what it leaves out would not be created by it anyway.

    Works on the text (standard library only): top-level sections at column 0, their entries at two spaces, an
    entry's own keys at four (as infra/lakehouse.yaml is written; tests/infra checks the result parses to the
    full template minus those entries)."""
    kept: list[str] = []
    entry: list[str] = []
    section = ""

    def flush() -> None:
        if f"    Condition: {condition}" not in entry or section not in ("Resources", "Outputs"):
            kept.extend(entry)
        entry.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0:
            flush()
            section = stripped.rstrip(":")
            kept.append(line)
        elif indent == 2:
            flush()
            entry.append(line)
        else:
            entry.append(line)
    flush()
    return "\n".join(kept) + "\n"


def content_key(path: Path, prefix: str = LAMBDA_KEY_PREFIX) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{prefix}-{digest}{path.suffix}"


def delete_requests(page: dict[str, Any], batch: int = DELETE_BATCH) -> list[dict[str, Any]]:
    """delete-objects requests (at most ``batch`` keys each) for every version and delete marker of a
    list-object-versions page."""
    entries = [*(page.get("Versions") or []), *(page.get("DeleteMarkers") or [])]
    objects = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
    return [{"Objects": objects[i : i + batch], "Quiet": True} for i in range(0, len(objects), batch)]


def write_delete_requests(page_file: Path, out_dir: Path) -> int:
    """``out_dir``/delete-NNNN.json for each request of ``page_file``; returns how many objects they delete."""
    text = page_file.read_text().strip()
    requests = delete_requests(json.loads(text) if text else {})
    for i, request in enumerate(requests):
        (out_dir / f"delete-{i:04d}.json").write_text(json.dumps(request))
    return sum(len(r["Objects"]) for r in requests)


def load_parameters(params_file: Path) -> dict[str, str]:
    """Read infra/parameters/<env>.json: {"Parameters": {"Key": "Value", ...}} (CodePipeline template config)."""
    data = json.loads(params_file.read_text())
    params = data.get("Parameters", {})
    if not isinstance(params, dict):
        raise PackageError(f"{params_file}: 'Parameters' must be an object of Key: Value")
    return {str(k): str(v) for k, v in params.items()}


def parameter_overrides(params_file: Path, **overrides: str) -> list[str]:
    merged = {**load_parameters(params_file), **overrides}
    return [f"{k}={v}" for k, v in merged.items()]


def dbt_env(outputs: list[dict[str, str]] | dict[str, str]) -> dict[str, str]:
    """The dbt athena environment from describe-stacks Outputs (a list) or a {key: value} dict."""
    values = outputs if isinstance(outputs, dict) else {o["OutputKey"]: o["OutputValue"] for o in outputs}
    missing = [k for k in OUTPUT_TO_ENV if k not in values]
    if missing:
        raise PackageError(f"stack outputs missing: {', '.join(missing)}")
    return {env: values[key] for key, env in OUTPUT_TO_ENV.items()}


def export_block(outputs: list[dict[str, str]] | dict[str, str]) -> str:
    """`export DBT_ATHENA_...=...` lines a shell can eval."""
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in dbt_env(outputs).items())


# The zips deploy.sh builds: subcommand -> (builder, S3 key prefix).
ZIPS = {
    "lambda": (build_lambda_zip, LAMBDA_KEY_PREFIX),
    "glue": (build_glue_zip, GLUE_ZIP_KEY_PREFIX),
    "dbt-project": (build_dbt_project_zip, DBT_PROJECT_KEY_PREFIX),
}


def write_phase1_template(template: Path, out: Path) -> int:
    """bucket_only_template of `template` to `out`; its size, which must be under the inline limit."""
    out.write_text(bucket_only_template(template.read_text()))
    size = out.stat().st_size
    if size > INLINE_TEMPLATE_LIMIT:
        raise PackageError(
            f"{out} is {size} bytes, over CloudFormation's inline limit of {INLINE_TEMPLATE_LIMIT}"
        )
    return size


# The other subcommands with one answer to print.
OTHERS: dict[str, Any] = {
    "glue-requirements": lambda args: glue_requirements_key(args.zip_key),
    "glue-script": lambda args: content_key(REPO_ROOT / GLUE_ENTRY_SCRIPT, GLUE_SCRIPT_KEY_PREFIX),
    "delete-requests": lambda args: write_delete_requests(args.page, args.out_dir),
    "phase1-template": lambda args: write_phase1_template(args.template, args.out),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra/package.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ZIPS:
        p = sub.add_parser(name)
        p.add_argument("--out", type=Path, required=True)
    sub.add_parser("glue-script")
    p = sub.add_parser("glue-requirements")
    p.add_argument("zip_key", help="the key `glue` printed")
    p = sub.add_parser("phase1-template")
    p.add_argument("template", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("delete-requests")
    p.add_argument("page", type=Path, help="JSON output of s3api list-object-versions")
    p.add_argument("out_dir", type=Path)
    p = sub.add_parser("params")
    p.add_argument("file", type=Path)
    p.add_argument("overrides", nargs="*", help="Key=Value, win over the file")
    p = sub.add_parser("param")
    p.add_argument("file", type=Path)
    p.add_argument("key")
    p.add_argument("default", nargs="?", default="")
    p = sub.add_parser("exports")
    p.add_argument("file", type=Path, help="JSON of describe-stacks Stacks[0].Outputs")
    p.add_argument("--github-env", action="store_true", help="KEY=value lines for $GITHUB_ENV")
    args = parser.parse_args(argv)
    try:
        if args.cmd in ZIPS:
            build, prefix = ZIPS[args.cmd]
            print(content_key(build(args.out), prefix))
        elif args.cmd in OTHERS:
            print(OTHERS[args.cmd](args))
        elif args.cmd == "params":
            extra = dict(o.split("=", 1) for o in args.overrides)
            print("\n".join(parameter_overrides(args.file, **extra)))
        elif args.cmd == "param":
            print(load_parameters(args.file).get(args.key, args.default))
        elif args.github_env:
            print("\n".join(f"{k}={v}" for k, v in dbt_env(json.loads(args.file.read_text())).items()))
        else:
            print(export_block(json.loads(args.file.read_text())))
    except (PackageError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
