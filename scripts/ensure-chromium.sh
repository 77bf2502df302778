#!/usr/bin/env bash
# Makes sure the browser the dashboard test drives is there: chromium and chromedriver
# (tests/test_dashboard.py runs the page in headless Chromium through Selenium).
#
# Exits 0 when both are on PATH. Otherwise, when running as root on a system with apt-get,
# installs Debian's chromium and chromium-driver (apt-get update once, no recommends). Anywhere
# else it says what to install and exits 1. CHROMIUM and CHROMEDRIVER may name the binaries.
set -euo pipefail

browser() {
    if [ -n "${CHROMIUM:-}" ]; then
        [ -x "$CHROMIUM" ] && return 0 || return 1
    fi
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}
driver() {
    if [ -n "${CHROMEDRIVER:-}" ]; then
        [ -x "$CHROMEDRIVER" ] && return 0 || return 1
    fi
    command -v chromedriver >/dev/null 2>&1
}

missing_pkgs=()
browser || missing_pkgs+=(chromium)
driver || missing_pkgs+=(chromium-driver)

if [ ${#missing_pkgs[@]} -eq 0 ]; then
    exit 0
fi

if [ "${EUID:-1}" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: installing ${missing_pkgs[*]} with apt-get (a few minutes)" >&2
    export DEBIAN_FRONTEND=noninteractive
    status=0
    {
        apt-get update -qq &&
            apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}"
    } >/dev/null || status=$?
    if [ "$status" -ne 0 ]; then
        echo "ensure-chromium: apt-get install ${missing_pkgs[*]} failed (exit $status)" >&2
        exit 1
    fi
    if ! browser || ! driver; then
        echo "ensure-chromium: chromium or chromedriver still not on PATH after installing" >&2
        exit 1
    fi
    exit 0
fi

{
    echo "ensure-chromium: missing ${missing_pkgs[*]} (the dashboard test drives a real browser)."
    echo "  Debian/Ubuntu: sudo apt-get install chromium chromium-driver"
    echo "  elsewhere:     install Chromium and the matching chromedriver, put them on PATH"
    echo "                 (or set CHROMIUM and CHROMEDRIVER to their paths)."
} >&2
exit 1
