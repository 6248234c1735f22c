# Shared by deploy.sh and destroy.sh (sourced, not run): messages, the checks every run starts with, and the
# stack status read the way CloudFormation reports it. The caller sets SCRIPT (its name, for messages) and ENV_NAME.

die() { echo "$SCRIPT: $*" >&2; exit 1; }
log() { echo "$SCRIPT: $*" >&2; }

# The last non-blank line of an AWS CLI error ("An error occurred (Code) when calling the Op operation: ...").
last_line() { grep -v '^[[:space:]]*$' | tail -n 1; }

# Checks the arguments, tools and credentials, then sets ROOT (and cd's there), PARAMS_FILE, PYTHON, PROJECT,
# STACK and WORK (a scratch folder removed on exit).
start() {
  [[ "$ENV_NAME" == "dev" || "$ENV_NAME" == "prod" ]] || die "usage: $0 dev|prod"
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  cd "$ROOT"
  PARAMS_FILE="infra/parameters/${ENV_NAME}.json"
  [[ -f "$PARAMS_FILE" ]] || die "missing $PARAMS_FILE"
  if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
  fi
  command -v "$PYTHON" >/dev/null 2>&1 || die "python not found: run make setup"
  command -v aws >/dev/null 2>&1 \
    || die "the aws CLI is not installed: see https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
  aws sts get-caller-identity >/dev/null 2>&1 \
    || die "no valid AWS credentials: run 'aws configure' or 'aws sso login', or set AWS_PROFILE"
  PROJECT="$(pkg param "$PARAMS_FILE" ProjectName lakehouse)"
  STACK="${PROJECT}-${ENV_NAME}"
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
}

pkg() { "$PYTHON" infra/package.py "$@"; }

# The stack's status, or NONE when CloudFormation answers that it does not exist. Any other failure (throttling,
# an expired session, a missing permission, no network) stops the script: taken for "no stack", it would make
# deploy.sh run its first phase against a live stack (which removes the Lambda, the Glue job and their roles).
# Call it as an assignment, STATUS="$(stack_status)": set -e stops the script there, not inside [[ ]].
stack_status() {
  local status
  if status="$(aws cloudformation describe-stacks --stack-name "$STACK" \
    --query 'Stacks[0].StackStatus' --output text 2>"$WORK/describe-stacks.err")"; then
    echo "$status"
  elif grep -q "ValidationError.*Stack with id $STACK does not exist" "$WORK/describe-stacks.err"; then
    echo NONE
  else
    die "cannot read the status of stack $STACK, nothing changed: $(last_line <"$WORK/describe-stacks.err")"
  fi
}
