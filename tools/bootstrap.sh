#!/usr/bin/env bash
# Installs what `make test`, `make devstack-up` and `make demo` need and is missing: system packages from
# Debian, then the locked Python environment (.venv) with every component installed editable.
# Idempotent and quick when everything is there. Caches (uv, Maven, Go) live outside the tree.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
UV_VERSION=0.13.9

missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v openssl >/dev/null || missing+=(openssl)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)  # the e2e test's screenshot of the dashboard
[ "$(id -u)" = 0 ] && { command -v buildah >/dev/null || missing+=(buildah); [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap); }  # `devstack up images` (root only)
if [ "$(id -u)" = 0 ]; then  # the test cluster's real node (root only; devstack.node): runtime, CNI, test image
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v ip >/dev/null || missing+=(iproute2)
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing system packages: ${missing[*]} (install them with apt-get as root)" >&2
    exit 2
  fi
  echo "bootstrap: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "bootstrap: missing prerequisite: go (Go 1.24+ builds MinIO and Kubernetes)" >&2; exit 2; }
command -v "$PYTHON" >/dev/null || { echo "bootstrap: missing prerequisite: $PYTHON" >&2; exit 2; }
[ "${1:-}" = "--system" ] && exit 0  # the local stack needs only these; it runs on the standard library

if ! command -v uv >/dev/null || [ "$(uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  "$PYTHON" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi

[ -x .venv/bin/python ] || uv venv -q --python "$PYTHON" .venv
export VIRTUAL_ENV="$PWD/.venv"
# --compile-bytecode: as pip does in the images. The environment may set PYTHONDONTWRITEBYTECODE, and then every
# process start would compile its imports again (dbt's CLI took 8 s to start instead of 4 here).
uv pip sync -q --compile-bytecode requirements/dev.txt
components=(contracts tools/devstack)
for dir in services/* operator; do
  [ -f "$dir/pyproject.toml" ] && components+=("$dir")
done
editable=()
for dir in "${components[@]}"; do editable+=(-e "$dir"); done
uv pip install -q --no-deps "${editable[@]}"
echo "bootstrap: .venv ready (${#components[@]} components)"

# dbt and Airflow pin many packages: each gets an environment of its own, as in its image,
# made once the project has a dbt project / DAGs that need it.
# The dbt worker (services/dbt-worker) goes into both: its server runs with dbt, its client in Airflow's tasks.
own_env() {  # own_env NAME LOCK [EDITABLE_DIR...]
  [ -x "$1/bin/python" ] || uv venv -q --python "$PYTHON" "$1"
  VIRTUAL_ENV="$PWD/$1" uv pip sync -q --compile-bytecode "$2"
  local name=$1
  shift 2
  for dir in "$@"; do VIRTUAL_ENV="$PWD/$name" uv pip install -q --no-deps -e "$dir"; done
  echo "bootstrap: $name ready"
}
[ -f dbt/dbt_project.yml ] && own_env .venv-dbt requirements/dbt.txt services/dbt-worker
compgen -G "dags/*.py" >/dev/null && own_env .venv-airflow requirements/airflow.txt services/dbt-worker
exit 0
