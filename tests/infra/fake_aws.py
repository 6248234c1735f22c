"""A stand-in for the `aws` CLI, enough for infra/scripts/deploy.sh and destroy.sh, so the scripts' flow can be
tested offline. Every call is appended to $FAKE_AWS_LOG (one JSON argv per line); the account's state (the stack,
its parameters, the objects) lives in $FAKE_AWS_STATE.

$FAKE_AWS_NO_CREDENTIALS=1 makes `sts get-caller-identity` fail like a machine without credentials."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ACCOUNT, REGION = "123456789012", "us-east-1"


def opt(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def outputs(params: dict[str, str]) -> dict[str, str]:
    p, env, prefix = params["ProjectName"], params["Env"], params.get("LakePrefix", "")
    bucket = f"{p}-{env}-lake-{ACCOUNT}-{REGION}"
    out = {
        "DbtAthenaRegion": REGION,
        "DbtAthenaS3StagingDir": f"s3://{bucket}/athena-results/",
        "DbtAthenaS3DataDir": f"s3://{bucket}/{prefix}gold/",
        "DbtAthenaWorkgroup": f"{p}-{env}",
        "DbtAthenaSchema": f"{p}_{env}_gold",
        "DbtAthenaSilverDatabase": f"{p}_{env}_silver",
        "DbtEnv": env,
        "LakeBucketName": bucket,
        "LakeRoot": f"s3://{bucket}/{prefix}",
        "AccessLogBucketName": f"{p}-{env}-access-logs-{ACCOUNT}-{REGION}",
    }
    if params.get("DeployCompute") == "true":
        out |= {
            "IngestFunctionName": f"{p}-{env}-ingest-orders",
            "SilverJobName": f"{p}-{env}-bronze-to-silver",
        }
    return out


def main(args: list[str]) -> int:
    state_file = Path(os.environ["FAKE_AWS_STATE"])
    state: dict[str, Any] = json.loads(state_file.read_text()) if state_file.exists() else {}
    state.setdefault("stacks", {})
    state.setdefault("objects", {})
    with open(os.environ["FAKE_AWS_LOG"], "a") as log:
        log.write(json.dumps(args) + "\n")
    service, command, rest = args[0], args[1] if len(args) > 1 else "", args[2:]
    code = 0
    if (service, command) == ("sts", "get-caller-identity"):
        if os.environ.get("FAKE_AWS_NO_CREDENTIALS") == "1":
            print("Unable to locate credentials.", file=sys.stderr)
            return 253
        print(json.dumps({"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"}))
    elif (service, command) == ("configure", "get"):
        print(REGION)
    elif (service, command) == ("lambda", "get-layer-version-by-arn"):
        print("{}")
    elif (service, command) == ("cloudformation", "describe-stacks"):
        name = opt(rest, "--stack-name")
        stack = state["stacks"].get(name)
        if stack is None:
            print(
                f"An error occurred (ValidationError): Stack with id {name} does not exist", file=sys.stderr
            )
            return 254
        query = opt(rest, "--query") or ""
        outs = outputs(stack["params"])
        if query == "Stacks[0].StackStatus":
            print(stack["status"])
        elif query == "Stacks[0].Outputs":
            print(json.dumps([{"OutputKey": k, "OutputValue": v} for k, v in outs.items()]))
        elif match := re.fullmatch(r"Stacks\[0\]\.Outputs\[\?OutputKey=='(\w+)'\]\.OutputValue", query):
            print(outs.get(match.group(1), "None"))
        else:
            print(json.dumps({"Stacks": [{"StackName": name, "StackStatus": stack["status"]}]}))
    elif (service, command) == ("cloudformation", "deploy"):
        name = opt(rest, "--stack-name")
        i = rest.index("--parameter-overrides") + 1
        overrides = []
        while i < len(rest) and not rest[i].startswith("--"):
            overrides.append(rest[i])
            i += 1
        params = dict(o.split("=", 1) for o in overrides)
        exists = name in state["stacks"]
        state["stacks"][name] = {
            "status": "UPDATE_COMPLETE" if exists else "CREATE_COMPLETE",
            "params": params,
        }
    elif (service, command) == ("cloudformation", "delete-stack"):
        state["stacks"].pop(opt(rest, "--stack-name"), None)
    elif (service, command) == ("cloudformation", "wait"):
        pass
    elif (service, command) == ("s3", "cp"):
        src, dst = [a for a in rest if not a.startswith("--")][:2]
        bucket, key = dst[len("s3://") :].split("/", 1)
        state["objects"].setdefault(bucket, {})[key] = Path(src).name
    elif (service, command) == ("s3api", "head-object"):
        code = 0 if opt(rest, "--key") in state["objects"].get(opt(rest, "--bucket"), {}) else 254
    elif (service, command) == ("s3api", "head-bucket"):
        code = 0 if opt(rest, "--bucket") in state["objects"] else 254
    elif (service, command) == ("s3api", "list-object-versions"):
        keys = list(state["objects"].get(opt(rest, "--bucket"), {}))[:1000]
        versions = [{"Key": k, "VersionId": "v1"} for k in keys]
        print(json.dumps({"Versions": versions} if versions else {}))
    elif (service, command) == ("s3api", "delete-objects"):
        bucket = state["objects"].get(opt(rest, "--bucket"), {})
        for obj in json.loads(opt(rest, "--delete") or "{}")["Objects"]:
            bucket.pop(obj["Key"], None)
    else:
        print(f"fake aws: unsupported command {args}", file=sys.stderr)
        code = 2
    state_file.write_text(json.dumps(state))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
