#!/usr/bin/env bash
# Delete the lakehouse stack and everything in its buckets (all object versions), after a confirmation.
#
#   infra/scripts/destroy.sh dev|prod          (or: make destroy ENV=dev; FORCE=1 skips the question)
#
# The KMS key is scheduled for deletion (7 days) by CloudFormation; the gold tables dbt created live in the
# gold Glue database and are dropped with it.
set -euo pipefail

die() { echo "destroy: $*" >&2; exit 1; }
log() { echo "destroy: $*" >&2; }

ENV_NAME="${1:-}"
[[ "$ENV_NAME" == "dev" || "$ENV_NAME" == "prod" ]] || die "usage: $0 dev|prod"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PARAMS_FILE="infra/parameters/${ENV_NAME}.json"
[[ -f "$PARAMS_FILE" ]] || die "missing $PARAMS_FILE"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
command -v "$PYTHON" >/dev/null 2>&1 || die "python3 not found"
command -v aws >/dev/null 2>&1 || die "the aws CLI is not installed"
aws sts get-caller-identity >/dev/null 2>&1 \
  || die "no valid AWS credentials: run 'aws configure' or 'aws sso login', or set AWS_PROFILE"

PROJECT="$("$PYTHON" infra/package.py param "$PARAMS_FILE" ProjectName lakehouse)"
STACK="${PROJECT}-${ENV_NAME}"

if ! aws cloudformation describe-stacks --stack-name "$STACK" >/dev/null 2>&1; then
  log "stack $STACK does not exist in ${AWS_REGION:-$(aws configure get region 2>/dev/null || echo 'the default region')}: nothing to do"
  exit 0
fi
BUCKETS=()
for b in $(aws cloudformation describe-stacks --stack-name "$STACK" --output text --query \
  "Stacks[0].Outputs[?OutputKey=='LakeBucketName' || OutputKey=='AccessLogBucketName'].OutputValue" 2>/dev/null || true); do
  if [[ -n "$b" && "$b" != None ]]; then BUCKETS+=("$b"); fi
done

if [[ "${FORCE:-0}" != 1 ]]; then
  echo "This deletes stack $STACK and ALL data in: ${BUCKETS[*]:-no bucket}" >&2
  read -r -p "Type the stack name ($STACK) to confirm: " answer
  [[ "$answer" == "$STACK" ]] || die "not confirmed, nothing deleted"
fi

# Delete every object version and delete marker, 1000 at a time (a versioned bucket cannot be deleted
# while any remain).
empty_bucket() {
  local bucket="$1" batch
  aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1 || return 0
  log "emptying s3://$bucket (all versions)"
  while true; do
    batch="$(aws s3api list-object-versions --bucket "$bucket" --max-items 1000 --output json \
      | "$PYTHON" -c '
import json, sys
page = json.loads(sys.stdin.read() or "{}")
objs = [{"Key": o["Key"], "VersionId": o["VersionId"]}
        for o in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])]
print(json.dumps({"Objects": objs, "Quiet": True}) if objs else "")')"
    [[ -n "$batch" ]] || break
    aws s3api delete-objects --bucket "$bucket" --delete "$batch" >/dev/null
  done
}

delete_stack() {
  aws cloudformation delete-stack --stack-name "$STACK"
  aws cloudformation wait stack-delete-complete --stack-name "$STACK"
}

for b in ${BUCKETS[@]+"${BUCKETS[@]}"}; do empty_bucket "$b"; done
log "deleting stack $STACK"
if ! delete_stack; then
  # Server access logs for the emptying itself can land in the log bucket after it was emptied: once more.
  log "first attempt failed, emptying the buckets again and retrying"
  for b in ${BUCKETS[@]+"${BUCKETS[@]}"}; do empty_bucket "$b"; done
  delete_stack || die "stack $STACK could not be deleted: see the Events tab in the CloudFormation console"
fi
log "stack $STACK deleted"
