#!/usr/bin/env bash
# Makes sure the tools the test suite starts are on PATH: redis-server, redis-cli, openssl.
#
# Exits 0 when they are there. Otherwise, when running as root on a system with apt-get,
# installs Debian's redis-server, redis-tools and openssl (apt-get update once, no
# recommends) without starting a redis service; the test fixtures start their own servers on
# free ports. Anywhere else it says what to install and exits 1.
set -euo pipefail

missing_pkgs=()
command -v redis-server >/dev/null 2>&1 || missing_pkgs+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing_pkgs+=(redis-tools)
command -v openssl >/dev/null 2>&1 || missing_pkgs+=(openssl)

if [ ${#missing_pkgs[@]} -eq 0 ]; then
    exit 0
fi

if [ "${EUID:-1}" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-redis: installing ${missing_pkgs[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Keep the package's init scripts from starting a server on 6379: policy-rc.d exit 101
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
            apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}"
    } >/dev/null || status=$?
    if [ "$added_policy" -eq 1 ]; then
        rm -f "$policy"
    fi
    if [ "$status" -ne 0 ]; then
        echo "ensure-redis: apt-get install ${missing_pkgs[*]} failed (exit $status)" >&2
        exit 1
    fi
    for tool in redis-server redis-cli openssl; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "ensure-redis: $tool still not on PATH after installing" >&2
            exit 1
        fi
    done
    exit 0
fi

{
    echo "ensure-redis: missing ${missing_pkgs[*]} (the tests start real Redis servers)."
    echo "  Debian/Ubuntu: sudo apt-get install redis-server redis-tools openssl"
    echo "  macOS:         brew install redis openssl"
    echo "  or put redis-server and redis-cli (Redis 6.2+ or Valkey) on PATH."
} >&2
exit 1
