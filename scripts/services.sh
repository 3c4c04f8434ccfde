#!/usr/bin/env bash
# Makes sure the servers the tests talk to are up, and the browser they drive is there:
#   PostgreSQL on 127.0.0.1:5432, user postgres with trust auth over TCP, database "test";
#   Redis on 127.0.0.1:6379; Debian's Chromium at /usr/bin/chromium (for Playwright); Debian's dovecot
#   at /usr/sbin/dovecot (the email tests run it themselves).
# When both already answer it only checks. Otherwise it installs the Debian package if missing, starts
# the server the way this machine's services are started, configures only what is missing, and waits
# (SERVICES_TIMEOUT seconds, default 60) until the server answers.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly HOST=127.0.0.1
readonly PG_PORT=5432
readonly PG_DATABASE=test
readonly REDIS_PORT=6379
readonly TIMEOUT="${SERVICES_TIMEOUT:-60}"

say() { echo "services: $*"; }
die() {
    echo "services: error: $*" >&2
    exit 1
}

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root for: $*"
    fi
}

# Runs a command as the postgres OS user (peer auth over the local socket), from a directory it can read.
as_postgres() {
    if [[ $EUID -eq 0 ]] && command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && as_root su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
    fi
}

apt_updated=0
apt_install() {
    if [[ $apt_updated -eq 0 ]]; then
        say "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
        apt_updated=1
    fi
    say "apt-get install $*"
    # Waits for another apt/dpkg run (an unattended upgrade, say) instead of failing on its lock.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "$@" >/dev/null
}

port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# wait_for NAME CHECK-COMMAND...: polls until the check passes or TIMEOUT seconds have gone.
wait_for() {
    local name="$1" deadline=$((SECONDS + TIMEOUT))
    shift
    until "$@"; do
        if ((SECONDS >= deadline)); then
            die "$name did not answer within ${TIMEOUT}s"
        fi
        sleep 0.5
    done
}

# ---- PostgreSQL ---------------------------------------------------------------------------------------

pg_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$HOST" -p "$PG_PORT" -t 2
    else
        port_open "$HOST" "$PG_PORT"
    fi
}

# psql as user postgres over TCP, never asking for a password: fails unless trust auth is in place.
pg_sql() {
    local database="$1"
    shift
    PGCONNECT_TIMEOUT=5 psql -X -q -w -h "$HOST" -p "$PG_PORT" -U postgres -d "$database" -v ON_ERROR_STOP=1 \
        -At "$@"
}

pg_version() {
    local version
    version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null \
        | sort -V | tail -n 1)"
    [[ -n $version ]] || die "no PostgreSQL cluster configuration under /etc/postgresql"
    echo "$version"
}

start_postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        apt_install postgresql
    fi
    local version
    if [[ ! -d /etc/postgresql ]] || [[ -z "$(ls -A /etc/postgresql)" ]]; then
        version="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1)"
        say "creating PostgreSQL $version cluster main"
        as_root pg_createcluster --port "$PG_PORT" "$version" main >/dev/null
    fi
    version="$(pg_version)"
    if as_root pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1; then
        say "PostgreSQL $version main is running but not answering yet"
    else
        say "starting PostgreSQL $version main"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    fi
}

readonly HBA_MARKER="# Added by switchboard scripts/services.sh"

# Puts trust lines for postgres over loopback TCP ahead of the others (the first matching line wins).
configure_pg_trust() {
    local hba
    hba="$(as_postgres psql -X -At -p "$PG_PORT" -c 'SHOW hba_file')" || die "cannot ask PostgreSQL for its pg_hba.conf"
    if as_root grep -qF "$HBA_MARKER" "$hba"; then
        die "$hba already trusts loopback, yet user postgres cannot connect to $HOST:$PG_PORT"
    fi
    say "enabling trust auth for 127.0.0.1 and ::1 in $hba"
    local tmp
    tmp="$(mktemp)"
    {
        echo "$HBA_MARKER: tests connect as postgres over TCP without a password."
        echo "host    all    all    127.0.0.1/32    trust"
        echo "host    all    all    ::1/128         trust"
        as_root cat "$hba"
    } >"$tmp"
    as_root cp "$tmp" "$hba"
    rm -f "$tmp"
    as_postgres psql -X -q -At -p "$PG_PORT" -c 'SELECT pg_reload_conf()' >/dev/null
}

ensure_postgres() {
    if ! pg_up; then
        start_postgres
        wait_for "PostgreSQL at $HOST:$PG_PORT" pg_up
    fi
    if ! command -v psql >/dev/null 2>&1; then
        apt_install postgresql-client
    fi
    if ! pg_sql postgres -c 'SELECT 1' >/dev/null 2>&1; then
        configure_pg_trust
        wait_for "PostgreSQL (trust auth for postgres over TCP)" pg_sql postgres -c 'SELECT 1' >/dev/null
    fi
    if [[ "$(pg_sql postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]]; then
        say "creating database $PG_DATABASE"
        pg_sql postgres -c "CREATE DATABASE $PG_DATABASE" >/dev/null
    fi
    pg_sql "$PG_DATABASE" -c 'SELECT 1' >/dev/null || die "cannot connect to database $PG_DATABASE"
    say "PostgreSQL ok ($HOST:$PG_PORT, database $PG_DATABASE)"
}

# ---- Redis --------------------------------------------------------------------------------------------

redis_up() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ "$(timeout 3 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
    else
        timeout 3 bash -c "exec 3<>/dev/tcp/$HOST/$REDIS_PORT && printf 'PING\r\n' >&3 \
            && IFS= read -r reply <&3 && [[ \$reply == '+PONG'* ]]" 2>/dev/null
    fi
}

start_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server
    fi
    local dir=/var/lib/redis logdir=/var/log/redis
    if [[ $EUID -ne 0 ]]; then
        dir="${TMPDIR:-/tmp}/switchboard-redis"
        logdir="$dir"
    fi
    mkdir -p "$dir" "$logdir"
    say "starting Redis"
    # Nothing kept on disk: the tests' Redis is scratch space.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
        --dir "$dir" --logfile "$logdir/ci.log"
}

ensure_redis() {
    if ! redis_up; then
        if port_open "$HOST" "$REDIS_PORT"; then
            say "something listens on $HOST:$REDIS_PORT but does not answer PING; waiting for it"
        else
            start_redis
        fi
        wait_for "Redis at $HOST:$REDIS_PORT" redis_up
    fi
    say "Redis ok ($HOST:$REDIS_PORT)"
}

# The browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
ensure_chromium() {
    if [[ ! -x /usr/bin/chromium ]]; then
        apt_install chromium
    fi
    say "Chromium ok (/usr/bin/chromium)"
}

# The email tests start their own IMAP server from Debian's dovecot (a config of their own, in a temp dir):
# only the package is needed, never a running system service.
ensure_dovecot() {
    if [[ ! -x /usr/sbin/dovecot ]]; then
        apt_install dovecot-imapd
    fi
    say "dovecot ok (/usr/sbin/dovecot)"
}

ensure_postgres
ensure_redis
ensure_chromium
ensure_dovecot
