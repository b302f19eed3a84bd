# Helpers for scripts/test: bring up what the tests need on this machine.
# Sourced, not run. Everything started here is stopped on exit.

cleanup_tasks=()
on_exit() {
  local task
  for task in "${cleanup_tasks[@]:-}"; do [ -n "$task" ] && eval "$task" || true; done
}
trap on_exit EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_root_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing $*: install it (apt-get install $*) and run again" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${apt_updated:-}" ]; then apt-get update -q >/dev/null; apt_updated=1; fi
  apt-get install -y -q "$@" >/dev/null
}

start_postgres() {
  if [ -n "${BACKLINE_TEST_POSTGRES_URL:-}" ]; then return; fi
  if port_open 5432 && psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    export BACKLINE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
    return
  fi
  # A throw-away cluster: trust auth on a private port below the ephemeral range.
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then as_root_install postgresql; fi
  local pgbin pgdir
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pgdir=$(mktemp -d /tmp/backline-pg.XXXXXX)
  local run=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pgdir"; run=(runuser -u postgres --); fi
  "${run[@]}" "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$pgdir/initdb.log"
  "${run[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w \
    -o "-p 25432 -k $pgdir -c listen_addresses=127.0.0.1" start >/dev/null
  cleanup_tasks+=("'${run[*]:-env}' '$pgbin/pg_ctl' -D '$pgdir/data' -m fast stop >/dev/null 2>&1; rm -rf '$pgdir'")
  export BACKLINE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:25432/postgres
}

start_nats() {
  if [ -n "${BACKLINE_TEST_NATS_URL:-}" ]; then return; fi
  if port_open 4222; then
    export BACKLINE_TEST_NATS_URL=nats://127.0.0.1:4222
    return
  fi
  command -v nats-server >/dev/null || as_root_install nats-server
  local natsdir
  natsdir=$(mktemp -d /tmp/backline-nats.XXXXXX)
  nats-server -a 127.0.0.1 -p 24222 -l "$natsdir/nats.log" &
  local pid=$!
  cleanup_tasks+=("kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf '$natsdir'")
  for _ in $(seq 100); do port_open 24222 && break; sleep 0.1; done
  export BACKLINE_TEST_NATS_URL=nats://127.0.0.1:24222
}

ensure_node_packages() {
  command -v npm >/dev/null || as_root_install nodejs npm
  if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    (cd web && npm ci --no-audit --no-fund)
  fi
}

# The single sign-on tests (API and browser) run a real OpenID provider:
# oidc-provider from the npm registry, pinned by its own lock file.
ensure_oidc_provider() {
  command -v npm >/dev/null || as_root_install nodejs npm
  local dir=crates/backline-server/tests/oidc-provider
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}

ensure_chromium() {
  command -v chromium >/dev/null || as_root_install chromium
}

# The cluster tests run three nodes behind a real HAProxy (Debian's package).
ensure_haproxy() {
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || as_root_install haproxy
}

# The PostgreSQL-restart test runs a cluster of its own (initdb, pg_ctl).
ensure_postgres_programs() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || as_root_install postgresql
}

ensure_netns_tools() {
  command -v unshare >/dev/null || as_root_install util-linux
  command -v ip >/dev/null || as_root_install iproute2
}

# Each storage and API test makes its own database: drop the ones earlier
# runs left behind, so that the server does not fill up over many runs.
drop_stale_test_databases() {
  local url=$BACKLINE_TEST_POSTGRES_URL
  command -v psql >/dev/null || return 0
  psql "$url" -Atc "select format('drop database if exists %I;', datname) from pg_database
                    where datname like 'backline\_test\_%'" 2>/dev/null |
    psql "$url" -q >/dev/null 2>&1 || true
}

# The store's I/O-error test builds a small fault-injecting library with cc.
ensure_cc() {
  command -v cc >/dev/null || as_root_install gcc libc6-dev
}
