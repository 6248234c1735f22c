#!/usr/bin/env bash
# Deploy the lakehouse stack to the AWS account and region of your current credentials.
#
#   infra/scripts/deploy.sh dev|prod          (or: make deploy ENV=dev)
#
# Environment (all optional):
#   AWS_PROFILE / AWS_REGION     which account and region (region falls back to `aws configure get region`)
#   PANDAS_LAYER_ARN             AWS SDK for pandas layer for python3.12 x86_64 in your region; default below
#   PANDAS_LAYER_VERSION         version of the default layer ARN (see the layer table linked below)
#   PYTHON                       interpreter for infra/package.py (default .venv/bin/python, else python3)
#   BUILD_DIR                    where the zips and the outputs go (default build/infra)
#   AWS_ENDPOINT_URL             the CLI's own: every call goes there (tests/infra points it at moto's server)
#
# What it does: builds the Lambda zip (ingestion/ + seeds as ingestion/reference/) and the glue_jobs zip,
# creates the stack without compute on the very first run (the Lambda code has to be in the bucket before
# the function can exist), uploads the artifacts and the reference seeds, deploys the full stack and prints
# the dbt athena environment as an export block on stdout (everything else goes to stderr), also written to
# build/infra/<env>/dbt-athena.env:   eval "$(infra/scripts/deploy.sh dev)"   or   source build/infra/dev/dbt-athena.env
set -euo pipefail

die() { echo "deploy: $*" >&2; exit 1; }
log() { echo "deploy: $*" >&2; }

ENV_NAME="${1:-}"
[[ "$ENV_NAME" == "dev" || "$ENV_NAME" == "prod" ]] || die "usage: $0 dev|prod"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TEMPLATE="infra/lakehouse.yaml"
PARAMS_FILE="infra/parameters/${ENV_NAME}.json"
[[ -f "$PARAMS_FILE" ]] || die "missing $PARAMS_FILE"

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
command -v "$PYTHON" >/dev/null 2>&1 || die "python not found: run make setup"
command -v aws >/dev/null 2>&1 || die "the aws CLI is not installed: see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
aws sts get-caller-identity >/dev/null 2>&1 \
  || die "no valid AWS credentials: run 'aws configure' or 'aws sso login', or set AWS_PROFILE"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}"
[[ -n "$REGION" ]] || die "no AWS region: set AWS_REGION (e.g. export AWS_REGION=eu-west-1)"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"

pkg() { "$PYTHON" infra/package.py "$@"; }
PROJECT="$(pkg param "$PARAMS_FILE" ProjectName lakehouse)"
STACK="${PROJECT}-${ENV_NAME}"
BUILD="${BUILD_DIR:-build/infra}/${ENV_NAME}"
mkdir -p "$BUILD"

# AWS SDK for pandas publishes numpy + pyarrow as a managed layer; ARNs (account of the AWS publisher,
# version per region) are listed at https://aws-sdk-pandas.readthedocs.io/en/stable/layers.html
PANDAS_LAYER_ARN="${PANDAS_LAYER_ARN:-$(pkg param "$PARAMS_FILE" PandasLayerArn "")}"
if [[ -z "$PANDAS_LAYER_ARN" ]]; then
  PANDAS_LAYER_ARN="arn:aws:lambda:${REGION}:336392948345:layer:AWSSDKPandas-Python312:${PANDAS_LAYER_VERSION:-16}"
fi
# (get-layer-version with the layer's ARN and the version number: the same check as get-layer-version-by-arn,
# with the same permission, and one that moto's server also answers, so the tests can run this script for real)
[[ "$PANDAS_LAYER_ARN" =~ ^arn:[^:]+:lambda:[^:]+:[0-9]+:layer:[^:]+:[0-9]+$ ]] \
  || die "PANDAS_LAYER_ARN is not a layer version ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION): $PANDAS_LAYER_ARN"
aws lambda get-layer-version --layer-name "${PANDAS_LAYER_ARN%:*}" --version-number "${PANDAS_LAYER_ARN##*:}" \
  >/dev/null 2>&1 \
  || die "layer $PANDAS_LAYER_ARN not found in $REGION: set PANDAS_LAYER_ARN from https://aws-sdk-pandas.readthedocs.io/en/stable/layers.html"

log "building artifacts in $BUILD"
LAMBDA_KEY="$(pkg lambda --out "$BUILD/ingestion.zip")"
pkg glue --out "$BUILD/glue_jobs.zip" >/dev/null
GLUE_SCRIPT="glue_jobs/bronze_to_silver_orders.py"
[[ -f "$GLUE_SCRIPT" ]] || die "missing $GLUE_SCRIPT"

stack_status() {
  aws cloudformation describe-stacks --stack-name "$STACK" --query 'Stacks[0].StackStatus' --output text 2>/dev/null || echo NONE
}
cfn_deploy() {
  local overrides=() line
  # (a read loop, not mapfile: macOS ships bash 3.2)
  while IFS= read -r line; do overrides+=("$line"); done < <(pkg params "$PARAMS_FILE" "PandasLayerArn=$PANDAS_LAYER_ARN" "$@")
  aws cloudformation deploy \
    --stack-name "$STACK" \
    --template-file "$TEMPLATE" \
    --capabilities CAPABILITY_NAMED_IAM \
    --no-fail-on-empty-changeset \
    --parameter-overrides "${overrides[@]}" \
    --tags "project=${PROJECT}" "env=${ENV_NAME}" >&2
}

STATUS="$(stack_status)"
case "$STATUS" in
  ROLLBACK_COMPLETE | ROLLBACK_FAILED | DELETE_FAILED)
    die "stack $STACK is $STATUS: run 'make destroy ENV=$ENV_NAME' and deploy again" ;;
  *_IN_PROGRESS) die "stack $STACK is busy ($STATUS): wait and retry" ;;
esac
if [[ "$STATUS" == NONE ]]; then
  log "phase 1/2: creating $STACK in $REGION (bucket, key, catalog, workgroup)"
  cfn_deploy DeployCompute=false LambdaCodeKey="$LAMBDA_KEY"
fi

# (one call for both outputs: each aws call costs about a second of CLI start-up)
LAKE_OUTPUTS="$(aws cloudformation describe-stacks --stack-name "$STACK" --output text --query \
  "[Stacks[0].Outputs[?OutputKey=='LakeBucketName'].OutputValue | [0], Stacks[0].Outputs[?OutputKey=='LakeRoot'].OutputValue | [0]]")"
read -r BUCKET LAKE_ROOT <<<"$LAKE_OUTPUTS"
[[ -n "$BUCKET" && "$BUCKET" != None ]] || die "stack $STACK has no LakeBucketName output"

log "uploading artifacts to s3://$BUCKET/artifacts/ and seeds to ${LAKE_ROOT}reference/"
if ! aws s3api head-object --bucket "$BUCKET" --key "$LAMBDA_KEY" >/dev/null 2>&1; then
  aws s3 cp --only-show-errors "$BUILD/ingestion.zip" "s3://$BUCKET/$LAMBDA_KEY"
fi
aws s3 cp --only-show-errors "$GLUE_SCRIPT" "s3://$BUCKET/artifacts/glue/bronze_to_silver_orders.py"
aws s3 cp --only-show-errors "$BUILD/glue_jobs.zip" "s3://$BUCKET/artifacts/glue/glue_jobs.zip"
# seeds/*.csv, not its subfolders (filters are relative to seeds/, the last match wins)
aws s3 cp --only-show-errors --recursive seeds/ "${LAKE_ROOT}reference/" \
  --exclude "*" --include "*.csv" --exclude "*/*"

log "phase 2/2: deploying $STACK (Lambda $LAMBDA_KEY, Glue job, schedules)"
cfn_deploy DeployCompute=true LambdaCodeKey="$LAMBDA_KEY"

aws cloudformation describe-stacks --stack-name "$STACK" --query 'Stacks[0].Outputs' --output json >"$BUILD/outputs.json"
output() {
  "$PYTHON" -c 'import json, sys
print({o["OutputKey"]: o["OutputValue"] for o in json.load(open(sys.argv[1]))}.get(sys.argv[2], ""))' \
    "$BUILD/outputs.json" "$1"
}
log "done. Ingest now: aws lambda invoke --function-name $(output IngestFunctionName) --payload '{\"rows\": 1000}' --cli-binary-format raw-in-base64-out /dev/stdout"
log "      silver now: aws glue start-job-run --job-name $(output SilverJobName)"
pkg exports "$BUILD/outputs.json" >"$BUILD/dbt-athena.env"
log "dbt athena target environment (also in $BUILD/dbt-athena.env: source it):"
cat "$BUILD/dbt-athena.env"
