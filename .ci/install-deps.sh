#!/bin/sh
# Installs the Debian packages nnlab needs, only those missing; apt-get runs
# through sudo when not root. Nothing is downloaded from anywhere else.
set -e
pkgs="build-essential lua5.4 liblua5.4-dev lua-busted lua-filesystem zlib1g-dev libopenblas-dev gnuplot-nox lua-argparse libcmocka-dev lua-check clang libclang-rt-14-dev valgrind slurm-wlm munge parallel"
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
