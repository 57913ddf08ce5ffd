#!/usr/bin/env bash
# `make test`: install what is missing, bring the local stack up, lint, run every test suite, and tear the
# stack down again even on failure (unless it was already running before, then it is left as it was).
set -uo pipefail
cd "$(dirname "$0")/../.."

# Each phase's start, and how long the one before it took (a clean-clone run's time budget is read from these).
phase_began=$SECONDS
step() { printf '\n=== %s (%s; previous phase %ss)\n' "$1" "$(date +%T)" "$((SECONDS - phase_began))"; phase_began=$SECONDS; }
began=$SECONDS

step "bootstrap"
tools/bootstrap.sh || exit 1
export PATH="$PWD/.venv/bin:$PATH"

servers=(kafka minio postgres)
[ -f tools/devstack/src/devstack/cluster.py ] && servers+=(cluster)
[ -f tools/devstack/src/devstack/images.py ] && [ "$(id -u)" = 0 ] && servers+=(images)  # buildah needs root

if devstack status >/dev/null 2>&1; then
  echo "the local stack was already up: reusing it and leaving it up"
else
  trap 'step "devstack down"; devstack down' EXIT
fi
step "devstack up ${servers[*]}"
devstack up "${servers[@]}" || exit 1
devstack status

step "lint: ruff, mypy"
lint_failed=0
ruff check . || lint_failed=1
ruff format --check . || lint_failed=1
mypy_targets=(contracts/src tools/devstack/src tools/demo dags)
for dir in services/*/src operator/src; do [ -d "$dir" ] && mypy_targets+=("$dir"); done
mypy "${mypy_targets[@]}" || lint_failed=1

step "audit: pip-audit of every lock (fails on a known vulnerability; says so when no data is reachable)"
python tools/ci/audit_locks.py || lint_failed=1

step "pytest: unit, integration, k8s, e2e"
test_dirs=(contracts/tests tools/devstack/tests)
for dir in services/*/tests operator/tests; do [ -d "$dir" ] && test_dirs+=("$dir"); done
test_dirs+=(tests)
pytest "${test_dirs[@]}"
tests_rc=$?

step "done in $((SECONDS - began))s: pytest exit $tests_rc, lint/audit $([ $lint_failed = 0 ] && echo clean || echo FAILED)"
[ $tests_rc = 0 ] && [ $lint_failed = 0 ]
