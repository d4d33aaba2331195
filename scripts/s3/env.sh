#!/usr/bin/env bash
# Print the S3 settings written by scripts/s3/start.sh as `export` lines, e.g.
#   source <(scripts/s3/env.sh)      or      eval "$(scripts/s3/env.sh)"
# With --start, runs start.sh first (quietly) so the server is sure to be up.
set -euo pipefail

DATA="${AUTOMAT_S3_DATA:-/tmp/automat0-s3}"
ENV_FILE="${DATA}/s3.env"

if [[ ${1:-} == --start ]]; then
  "$(dirname "${BASH_SOURCE[0]}")/start.sh" >/dev/null
fi

if [[ ! -r $ENV_FILE ]]; then
  echo "env.sh: $ENV_FILE not found; run scripts/s3/start.sh first" >&2
  exit 1
fi

# Quote every value with printf %q so the output is safe to eval.
while IFS='=' read -r key value; do
  [[ $key =~ ^AUTOMAT_S3_[A-Z0-9_]+$ ]] || continue
  printf 'export %s=%q\n' "$key" "$value"
done <"$ENV_FILE"
