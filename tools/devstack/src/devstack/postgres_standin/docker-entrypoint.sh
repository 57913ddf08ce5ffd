#!/bin/sh
# What the official postgres image's entrypoint does for the chart, and no more: the first start initialises
# PGDATA for POSTGRES_USER with POSTGRES_PASSWORD (never printed), makes POSTGRES_DB, and takes password logins
# over TCP; every start then runs the command (postgres).
set -eu
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
    user="${POSTGRES_USER:-postgres}"
    database="${POSTGRES_DB:-$user}"
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    password_file="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
    initdb --username="$user" --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 --pgdata="$PGDATA" > /dev/null
    rm -f "$password_file"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait start > /dev/null
    if [ "$database" != postgres ]; then
        createdb --username="$user" "$database"
    fi
    pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop > /dev/null
fi
exec "$@"
