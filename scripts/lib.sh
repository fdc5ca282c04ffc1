# Shared steps of scripts/demo and scripts/test: make sure Go, PostgreSQL and Redis are here,
# installing them from the distribution's packages (Debian/Ubuntu) when they are missing.
# shellcheck shell=bash

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_go puts a Go toolchain on PATH. go.mod asks for Go 1.26; a Debian Go of 1.21 or newer
# fetches that toolchain by itself through the module proxy (GOTOOLCHAIN=auto).
ensure_go() {
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
      export PATH="/usr/local/go/bin:$PATH"
    else
      echo "== installing Go from the distribution's packages"
      apt_install golang-go ca-certificates git
    fi
  fi
  export PATH="$(go env GOPATH)/bin:$PATH"
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# ensure_postgres_packages installs PostgreSQL's server and client when initdb is missing.
ensure_postgres_packages() {
  if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
    echo "== installing PostgreSQL from the distribution's packages"
    apt_install postgresql postgresql-client
  fi
}

# ensure_postgres makes sure a server answers on 127.0.0.1:5432 and lets the postgres role in over
# TCP without a password (this is for test machines only).
ensure_postgres() {
  ensure_postgres_packages
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "== starting PostgreSQL"
    if command -v pg_ctlcluster >/dev/null 2>&1; then
      local ver
      ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
      if [ -z "$ver" ]; then
        ver=$(basename "$(dirname "$(pg_bin)")")
        as_root pg_createcluster "$ver" main >/dev/null
      fi
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    fi
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    echo "== allowing the postgres role on 127.0.0.1 without a password (test machine)"
    local hba
    hba=$(as_root runuser -u postgres -- psql -Atqc 'show hba_file')
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
    as_root runuser -u postgres -- psql -Atqc 'select pg_reload_conf()' >/dev/null
    sleep 1
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null
}

# ensure_redis makes sure a Redis answers on 127.0.0.1:6379.
ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "== installing Redis from the distribution's packages"
    apt_install redis-server
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "== starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
}
