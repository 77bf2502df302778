#!/usr/bin/env bash
# Makes sure the PostgreSQL server binaries the archive tests start are there: initdb, pg_ctl
# and postgres under /usr/lib/postgresql/<version>/bin (Debian's layout), or on PATH.
#
# Exits 0 when they are there. Otherwise, when running as root on a system with apt-get,
# installs Debian's postgresql package (apt-get update once, no recommends) without starting
# its cluster service; the test fixtures (tests/pg.py) initdb their own server into a temp
# folder as an unprivileged user and start it on a free port. Anywhere else it says what to
# install and exits 1.
set -euo pipefail

found() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            return 0
        fi
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

if found; then
    exit 0
fi

if [ "${EUID:-1}" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: installing postgresql with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Keep the package's init scripts from starting a cluster on 5432: policy-rc.d exit 101
    # means "do not start services" to invoke-rc.d. Only added if none exists, removed after.
    policy=/usr/sbin/policy-rc.d
    added_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod +x "$policy"
        added_policy=1
    fi
    status=0
    {
        apt-get update -qq &&
            apt-get install -y -qq --no-install-recommends postgresql
    } >/dev/null || status=$?
    if [ "$added_policy" -eq 1 ]; then
        rm -f "$policy"
    fi
    if [ "$status" -ne 0 ]; then
        echo "ensure-postgres: apt-get install postgresql failed (exit $status)" >&2
        exit 1
    fi
    if ! found; then
        echo "ensure-postgres: initdb/pg_ctl still not found after installing" >&2
        exit 1
    fi
    exit 0
fi

{
    echo "ensure-postgres: PostgreSQL's server binaries (initdb, pg_ctl) are missing"
    echo "  (the archive tests start a real PostgreSQL server)."
    echo "  Debian/Ubuntu: sudo apt-get install postgresql"
    echo "  macOS:         brew install postgresql"
    echo "  or put initdb and pg_ctl (PostgreSQL 13+) on PATH."
} >&2
exit 1
