#!/usr/bin/env bash
# Delete the lakehouse stack and everything in its buckets (all object versions), after a confirmation.
#
#   infra/scripts/destroy.sh dev|prod          (or: make destroy ENV=dev; FORCE=1 skips the question)
#
# The KMS key is scheduled for deletion (7 days) by CloudFormation; the gold tables dbt created live in the
# gold Glue database and are dropped with it, and so are the Glue job's log groups.
set -euo pipefail

SCRIPT=destroy
ENV_NAME="${1:-}"
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start

STATUS="$(stack_status)"  # (assigned first: inside [[ ]] a failure of stack_status would not stop the script)
if [[ "$STATUS" == NONE ]]; then
  log "stack $STACK does not exist in ${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || echo 'the default region')}}: nothing to do"
  exit 0
fi
BUCKETS=()
for b in $(aws cloudformation describe-stacks --stack-name "$STACK" --output text --query \
  "Stacks[0].Outputs[?OutputKey=='LakeBucketName' || OutputKey=='AccessLogBucketName'].OutputValue"); do
  if [[ -n "$b" && "$b" != None ]]; then BUCKETS+=("$b"); fi
done

if [[ "${FORCE:-0}" != 1 ]]; then
  echo "This deletes stack $STACK and ALL data in: ${BUCKETS[*]:-no bucket}" >&2
  read -r -p "Type the stack name ($STACK) to confirm: " answer
  [[ "$answer" == "$STACK" ]] || die "not confirmed, nothing deleted"
fi

# Delete every object version and delete marker (a versioned bucket cannot be deleted while any remain). One
# listing page holds at most 1,000 entries, versions and delete markers together; infra/package.py writes them as
# delete-objects requests of at most 1,000 keys, in files: 1,000 keys of up to 1 KiB each would not fit in one
# command-line argument (Linux caps one at 128 KiB).
empty_bucket() {
  local bucket="$1" request failed
  aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1 || return 0
  log "emptying s3://$bucket (all versions)"
  while true; do
    aws s3api list-object-versions --bucket "$bucket" --no-paginate --output json >"$WORK/page.json"
    rm -f "$WORK"/delete-*.json
    [[ "$(pkg delete-requests "$WORK/page.json" "$WORK")" -gt 0 ]] || break
    for request in "$WORK"/delete-*.json; do
      failed="$(aws s3api delete-objects --bucket "$bucket" --delete "file://$request" \
        --query 'Errors[0]' --output text)"
      [[ "$failed" == None ]] || die "cannot empty s3://$bucket: $failed"
    done
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
