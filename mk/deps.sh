#!/bin/sh
# Installs the Debian packages a target needs, when they are missing.
# Usage: mk/deps.sh PACKAGE...   (root or sudo: apt-get; otherwise prints the command and fails)
set -e
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "cnnc: installing missing packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"
else
    echo "cnnc: error: missing packages:$missing" >&2
    echo "cnnc: run: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or absent on a fresh machine; update once and retry.
$SUDO apt-get install -y -q $missing >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q $missing >/dev/null
}
