#!/bin/sh
# Fetches the four MNIST files into a directory and checks them: the `make data` step.
# Usage: mk/fetch-data.sh MIRROR DIR
#   MIRROR  a directory holding the four .gz files, or an http(s) URL to download them from
#   DIR     where they go (build/data/mnist for `make data`)
# Each file is fetched under a temporary name, checked against mk/mnist.sha256 and only then
# renamed into place; a file whose checksum does not match is deleted. DIR/.verified marks a
# complete, checked set. Files already in DIR with the right checksum are not fetched again.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 MIRROR DIR" >&2
    exit 2
fi
mirror=${1%/}
dir=$2
sums="$(dirname "$0")/mnist.sha256"
files="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"

die() {
    echo "fetch-data: error: $*" >&2
    exit 1
}

[ -r "$sums" ] || die "$sums: cannot read the checksums"
mkdir -p "$dir" || die "$dir: cannot create the directory"
rm -f "$dir/.verified"

tmp=""
trap 'if [ -n "$tmp" ]; then rm -f "$tmp"; fi' EXIT
trap 'exit 130' INT TERM

# verify FILE NAME: whether FILE has the checksum mk/mnist.sha256 gives for NAME.
verify() {
    want=$(awk -v n="$2" '$2 == n { print $1 }' "$sums")
    [ -n "$want" ] || die "$sums: no checksum for $2"
    printf '%s  %s\n' "$want" "$1" | sha256sum -c --status - 2>/dev/null
}

fetch() {
    case $mirror in
    http://* | https://*)
        if command -v curl >/dev/null 2>&1; then
            curl -fsSL --retry 3 -o "$2" "$mirror/$1"
        elif command -v wget >/dev/null 2>&1; then
            wget -q -O "$2" "$mirror/$1"
        else
            die "neither curl nor wget is installed to download $mirror/$1"
        fi
        ;;
    *)
        [ -d "$mirror" ] || die "$mirror: no such directory (DATA_MIRROR must be a directory or an http(s) URL)"
        cp "$mirror/$1" "$2"
        ;;
    esac
}

for f in $files; do
    if [ -f "$dir/$f" ] && verify "$dir/$f" "$f"; then
        continue
    fi
    tmp="$dir/.$f.part.$$"
    echo "fetch-data: $mirror/$f"
    fetch "$f" "$tmp" || die "$mirror/$f: cannot fetch"
    if ! verify "$tmp" "$f"; then
        rm -f "$tmp"
        die "$mirror/$f: SHA-256 does not match $sums; the file was deleted (a wrong or tampered mirror?)"
    fi
    mv "$tmp" "$dir/$f" || die "$dir/$f: cannot move into place"
    tmp=""
done
touch "$dir/.verified"
echo "fetch-data: MNIST verified in $dir"
