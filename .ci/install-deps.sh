#!/bin/sh
# Installs the Debian 12 packages nnlab needs, only those missing; apt-get
# runs through sudo when not root. Nothing is downloaded from anywhere else.
#   sh .ci/install-deps.sh         what building and running need
#   sh .ci/install-deps.sh --dev   that and what the tests, make fuzz,
#                                  make memcheck, make check-style and
#                                  make bench need
#   ... --list                     prints the packages instead
set -e
runtime="build-essential lua5.4 liblua5.4-dev zlib1g-dev libopenblas-dev libpng-dev gnuplot-nox lua-argparse lua-filesystem"
# python3-torch (1.13, from Debian's own archive) is make bench's yardstick.
# chromium takes the screenshot of index.html that tests/lua/plots_spec.lua checks.
dev="lua-busted libcmocka-dev lua-check cppcheck clang libclang-rt-14-dev valgrind slurm-wlm munge parallel luarocks python3-torch chromium"
pkgs=$runtime
list=""
for a in "$@"; do
    case "$a" in
        --dev) pkgs="$runtime $dev" ;;
        --list) list=1 ;;
        *) echo "usage: sh .ci/install-deps.sh [--dev] [--list]" >&2; exit 2 ;;
    esac
done
if [ -n "$list" ]; then
    echo $pkgs
    exit 0
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
