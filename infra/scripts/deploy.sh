#!/usr/bin/env bash
# Deploy the lakehouse stack to the AWS account and region of your current credentials.
#
#   infra/scripts/deploy.sh dev|prod          (or: make deploy ENV=dev)
#
# Environment (all optional but the layer):
#   AWS_PROFILE / AWS_REGION     which account and region (region falls back to `aws configure get region`)
#   PANDAS_LAYER_ARN             the AWS SDK for pandas layer (python3.12, x86_64) of the deployment region; wins
#                                over "PandasLayerArn" in infra/parameters/<env>.json. One of the two is required:
#                                AWS publishes the layer per region, under version numbers that differ by region.
#   PYTHON                       interpreter for infra/package.py (default .venv/bin/python, else python3)
#   BUILD_DIR                    where the zips and the outputs go (default build/infra)
#   AWS_ENDPOINT_URL             the CLI's own: every call goes there (tests/infra points it at moto's server)
#
# What it does: builds the Lambda zip (ingestion/ + seeds as ingestion/reference/), the glue_jobs zip and the
# dbt project zip (the CodeBuild source of the pipeline's dbt stages),
# creates the stack without compute on the very first run (the Lambda code has to be in the bucket before
# the function can exist), uploads the artifacts (each under a key named by its content hash) and the reference
# seeds, deploys the full stack and prints the dbt athena environment as an export block on stdout (everything
# else goes to stderr), also written to build/infra/<env>/dbt-athena.env:
#   eval "$(infra/scripts/deploy.sh dev)"   or   source build/infra/dev/dbt-athena.env
set -euo pipefail

SCRIPT=deploy
ENV_NAME="${1:-}"
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start
TEMPLATE="infra/lakehouse.yaml"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}"
[[ -n "$REGION" ]] || die "no AWS region: set AWS_REGION (e.g. export AWS_REGION=eu-west-1)"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
BUILD="${BUILD_DIR:-build/infra}/${ENV_NAME}"
mkdir -p "$BUILD"

# Read first: what this run does depends on it, and a stack that cannot be read stops it before anything else.
STATUS="$(stack_status)"
case "$STATUS" in
  ROLLBACK_COMPLETE | ROLLBACK_FAILED | DELETE_FAILED)
    die "stack $STACK is $STATUS: run 'make destroy ENV=$ENV_NAME' and deploy again" ;;
  UPDATE_ROLLBACK_FAILED)
    die "stack $STACK is $STATUS: run 'aws cloudformation continue-update-rollback --stack-name $STACK', then deploy again" ;;
  REVIEW_IN_PROGRESS) ;;  # handled below, once the inputs are checked
  *_IN_PROGRESS) die "stack $STACK is busy ($STATUS): wait until it is done and deploy again" ;;
esac

# The AWS SDK for pandas layer (numpy + pyarrow): checked before anything is built or changed.
LAYERS_PAGE="https://aws-sdk-pandas.readthedocs.io/en/stable/layers.html"
PANDAS_LAYER_ARN="${PANDAS_LAYER_ARN:-$(pkg param "$PARAMS_FILE" PandasLayerArn "")}"
[[ -n "$PANDAS_LAYER_ARN" ]] \
  || die "no AWS SDK for pandas layer for $ENV_NAME: export PANDAS_LAYER_ARN (or set PandasLayerArn in $PARAMS_FILE) to the python3.12 x86_64 layer of $REGION listed at $LAYERS_PAGE"
[[ "$PANDAS_LAYER_ARN" =~ ^arn:[^:]+:lambda:([^:]+):[0-9]+:layer:[^:]+:[0-9]+$ ]] \
  || die "PANDAS_LAYER_ARN is not a layer version ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION): $PANDAS_LAYER_ARN"
[[ "${BASH_REMATCH[1]}" == "$REGION" ]] \
  || die "layer $PANDAS_LAYER_ARN is in ${BASH_REMATCH[1]}, the stack deploys to $REGION: take the $REGION layer from $LAYERS_PAGE"
# (get-layer-version with the layer's ARN and the version number: the same check as get-layer-version-by-arn,
# with the same permission, and one that moto's server also answers, so the tests can run this script for real)
LAYER_FITS="$(aws lambda get-layer-version --layer-name "${PANDAS_LAYER_ARN%:*}" \
  --version-number "${PANDAS_LAYER_ARN##*:}" --output text --query \
  '[contains(CompatibleRuntimes || [`python3.12`], `python3.12`), contains(CompatibleArchitectures || [`x86_64`], `x86_64`)]' \
  2>"$WORK/layer.err")" \
  || die "layer $PANDAS_LAYER_ARN cannot be read in $REGION ($(last_line <"$WORK/layer.err")): take the $REGION layer from $LAYERS_PAGE"
[[ "$LAYER_FITS" == $'True\tTrue' ]] \
  || die "layer $PANDAS_LAYER_ARN is not for python3.12 on x86_64, the function's runtime: take that one from $LAYERS_PAGE"

log "building artifacts in $BUILD"
LAMBDA_KEY="$(pkg lambda --out "$BUILD/ingestion.zip")"
GLUE_ZIP_KEY="$(pkg glue --out "$BUILD/glue_jobs.zip")"
GLUE_SCRIPT="glue_jobs/bronze_to_silver_orders.py"
GLUE_SCRIPT_KEY="$(pkg glue-script)"
GLUE_REQUIREMENTS_KEY="$(pkg glue-requirements "$GLUE_ZIP_KEY")"
DBT_PROJECT_KEY="$(pkg dbt-project --out "$BUILD/dbt-project.zip")"
[[ -f "$GLUE_SCRIPT" ]] || die "missing $GLUE_SCRIPT"

# The template is over CloudFormation's 51,200-byte inline limit: every deploy after the first create passes it
# through the lake bucket (artifacts/cloudformation/); the first create, before the bucket exists, passes the part
# of it that create makes (package.py phase1-template: no compute), which is under the limit.
cfn_deploy() {
  local template="$1" overrides=() line s3=()
  shift
  [[ -n "${BUCKET:-}" ]] && s3=(--s3-bucket "$BUCKET" --s3-prefix artifacts/cloudformation)
  # (a read loop, not mapfile: macOS ships bash 3.2)
  while IFS= read -r line; do overrides+=("$line"); done < <(pkg params "$PARAMS_FILE" \
    "PandasLayerArn=$PANDAS_LAYER_ARN" "LambdaCodeKey=$LAMBDA_KEY" "GlueZipKey=$GLUE_ZIP_KEY" \
    "GlueScriptKey=$GLUE_SCRIPT_KEY" "DbtProjectKey=$DBT_PROJECT_KEY" "$@")
  aws cloudformation deploy \
    --stack-name "$STACK" \
    --template-file "$template" ${s3[@]+"${s3[@]}"} \
    --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset \
    --parameter-overrides "${overrides[@]}" \
    --tags "project=${PROJECT}" "env=${ENV_NAME}" >&2
}

if [[ "$STATUS" == REVIEW_IN_PROGRESS ]]; then
  # A first change set was made and never ran (it failed, or was left): the stack has no resource, and it would
  # stay so forever. Delete the empty stack and create it again.
  log "stack $STACK is REVIEW_IN_PROGRESS (a first deploy that never ran, nothing in it): deleting it first"
  aws cloudformation delete-stack --stack-name "$STACK"
  aws cloudformation wait stack-delete-complete --stack-name "$STACK"
  STATUS="$(stack_status)"
  [[ "$STATUS" == NONE ]] || die "stack $STACK is $STATUS after its deletion: see the Events tab in the CloudFormation console"
fi
if [[ "$STATUS" == NONE ]]; then
  log "phase 1/2: creating $STACK in $REGION (bucket, key, catalog, workgroup)"
  log "phase 1 template: $(pkg phase1-template "$TEMPLATE" "$BUILD/phase1.yaml") bytes (no compute)"
  cfn_deploy "$BUILD/phase1.yaml" DeployCompute=false
fi

# (one call for both outputs: each aws call costs about a second of CLI start-up)
LAKE_OUTPUTS="$(aws cloudformation describe-stacks --stack-name "$STACK" --output text --query \
  "[Stacks[0].Outputs[?OutputKey=='LakeBucketName'].OutputValue | [0], Stacks[0].Outputs[?OutputKey=='LakeRoot'].OutputValue | [0]]")"
read -r BUCKET LAKE_ROOT <<<"$LAKE_OUTPUTS"
[[ -n "$BUCKET" && "$BUCKET" != None ]] || die "stack $STACK has no LakeBucketName output"

log "uploading artifacts to s3://$BUCKET/artifacts/ and seeds to ${LAKE_ROOT}reference/"
upload_once() {  # the key names its content: an object already there is this very file
  aws s3api head-object --bucket "$BUCKET" --key "$2" >/dev/null 2>&1 \
    || aws s3 cp --only-show-errors "$1" "s3://$BUCKET/$2"
}
upload_once "$BUILD/ingestion.zip" "$LAMBDA_KEY"
upload_once "$BUILD/glue_jobs.zip" "$GLUE_ZIP_KEY"
upload_once requirements/glue.txt "$GLUE_REQUIREMENTS_KEY"
upload_once "$GLUE_SCRIPT" "$GLUE_SCRIPT_KEY"
upload_once "$BUILD/dbt-project.zip" "$DBT_PROJECT_KEY"
# seeds/*.csv, not its subfolders (filters are relative to seeds/, the last match wins)
aws s3 cp --only-show-errors --recursive seeds/ "${LAKE_ROOT}reference/" \
  --exclude "*" --include "*.csv" --exclude "*/*"

log "phase 2/2: deploying $STACK (Lambda $LAMBDA_KEY, Glue job $GLUE_SCRIPT_KEY, dbt $DBT_PROJECT_KEY, pipeline)"
cfn_deploy "$TEMPLATE" DeployCompute=true

aws cloudformation describe-stacks --stack-name "$STACK" --query 'Stacks[0].Outputs' --output json >"$BUILD/outputs.json"
output() {
  "$PYTHON" -c 'import json, sys
print({o["OutputKey"]: o["OutputValue"] for o in json.load(open(sys.argv[1]))}.get(sys.argv[2], ""))' \
    "$BUILD/outputs.json" "$1"
}
log "done. Ingest now: aws lambda invoke --function-name $(output IngestFunctionName) --payload '{\"rows\": 1000}' --cli-binary-format raw-in-base64-out /dev/stdout"
log "      whole pipeline now: aws stepfunctions start-execution --state-machine-arn $(output PipelineStateMachineArn)"
pkg exports "$BUILD/outputs.json" >"$BUILD/dbt-athena.env"
log "dbt athena target environment (also in $BUILD/dbt-athena.env: source it):"
cat "$BUILD/dbt-athena.env"
