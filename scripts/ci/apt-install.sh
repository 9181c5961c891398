#!/usr/bin/env bash
# apt-install.sh <who> <package>...: installs Debian packages with apt-get (as root, or through
# sudo), or exits 1 saying why it cannot. <who> prefixes every message (the calling script).
set -euo pipefail
who=$1
shift
die() {
  echo "$who: $*" >&2
  exit 1
}
command -v apt-get >/dev/null 2>&1 || die "missing $* and no apt-get to install them with"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "missing $*: run as root (or with sudo) to install them"
  sudo=(sudo)
fi
echo "$who: installing $*"
"${sudo[@]}" apt-get update || die "apt-get update failed; cannot install $*"
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "$@" ||
  die "apt-get install $* failed"
