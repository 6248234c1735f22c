#!/usr/bin/env bash
# Drop what dbt built in dev under one DBT_DEV_PREFIX: the Glue databases <project>_dev_<prefix>_<layer> and the
# table data below <DbtAthenaS3DataDir><database>/ (s3_data_naming schema_table_unique). CI runs it when a pull
# request closes (prefix pr<N>); a developer can run it for their own prefix. The stack's databases are untouched.
#
#   infra/scripts/drop_dev_prefix.sh PREFIX          (e.g. pr42)
set -euo pipefail

SCRIPT=drop_dev_prefix
ENV_NAME=dev
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# dbt's own spelling of the prefix (macros/generate_schema_name.sql): lower case, [^a-z0-9_] -> _
PREFIX="$(printf '%s' "${1:-}" | tr '[:upper:]' '[:lower:]' | sed 's/[^a-z0-9_]/_/g')"
[[ -n "$PREFIX" ]] || die "usage: $0 PREFIX (the DBT_DEV_PREFIX to drop, e.g. pr42)"
start

STATUS="$(stack_status)"
[[ "$STATUS" != NONE ]] || die "stack $STACK does not exist: nothing of $PREFIX to drop"
DATA_DIR="$(aws cloudformation describe-stacks --stack-name "$STACK" --output text \
  --query "Stacks[0].Outputs[?OutputKey=='DbtAthenaS3DataDir'].OutputValue | [0]")"
[[ "$DATA_DIR" =~ ^s3:/{2}.+/$ ]] || die "stack $STACK has no DbtAthenaS3DataDir output"

DATABASES="$(aws glue get-databases --output text \
  --query "DatabaseList[?starts_with(Name, '${PROJECT}_dev_${PREFIX}_')].Name")"
if [[ -z "$DATABASES" || "$DATABASES" == None ]]; then
  log "no database of prefix $PREFIX: nothing to drop"
  exit 0
fi
for database in $DATABASES; do
  log "dropping $database and ${DATA_DIR}${database}/"
  aws s3 rm --recursive --only-show-errors "${DATA_DIR}${database}/"
  aws glue delete-database --name "$database"
done
