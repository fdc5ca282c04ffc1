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

# ensure_go puts a Go toolchain that can build this module (go.mod asks for 1.26) on PATH. A Go of
# 1.21 or newer fetches the toolchain go.mod names by itself (GOTOOLCHAIN=auto). An older one, such as
# Debian bookworm's 1.19, cannot; it is then used only to download the toolchain module through the
# module proxy, which is unpacked into .data/go.
GO_TOOLCHAIN_VERSION=1.26.8
ensure_go() {
  if [ -x .data/go/bin/go ]; then
    export PATH="$PWD/.data/go/bin:$PATH" # fetched by an earlier run
  fi
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
      export PATH="/usr/local/go/bin:$PATH"
    else
      echo "== installing Go from the distribution's packages"
      apt_install golang-go ca-certificates git
    fi
  fi
  local minor
  minor=$(GOTOOLCHAIN=local go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  if [ "${minor:-0}" -lt 21 ]; then
    echo "== Go $(GOTOOLCHAIN=local go env GOVERSION) is too old; fetching go$GO_TOOLCHAIN_VERSION through the module proxy"
    local arch tmp dir
    case "$(uname -m)" in
      x86_64) arch=amd64 ;;
      aarch64|arm64) arch=arm64 ;;
      *) echo "no Go toolchain for $(uname -m)"; return 1 ;;
    esac
    tmp=$(mktemp -d)
    dir=$(cd "$tmp" && GOMODCACHE="$tmp/mod" GOFLAGS= go mod download -json \
      "golang.org/toolchain@v0.0.1-go$GO_TOOLCHAIN_VERSION.linux-$arch" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    rm -rf .data/go && mkdir -p .data && cp -r "$dir" .data/go
    chmod -R u+w "$tmp" .data/go && rm -rf "$tmp"
    # Module zips keep no executable bits.
    chmod +x .data/go/bin/* .data/go/pkg/tool/*/*
    export PATH="$PWD/.data/go/bin:$PATH"
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
