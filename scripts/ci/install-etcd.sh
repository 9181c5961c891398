#!/usr/bin/env bash
# Installs etcd 3.4 from Debian (etcd-server for `etcd`, etcd-client for `etcdctl`) when it is
# missing, then checks the version. The etcd integration tests start real etcd processes and fail,
# never skip, without them; so CI calls this script, and it exits non-zero with a message saying
# what is wrong rather than letting a test fail later on a missing binary.
set -euo pipefail

die() {
  echo "install-etcd: $*" >&2
  exit 1
}

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
if ((${#missing[@]})); then
  # The package's postinst starts a system etcd on 2379 where systemd runs; policy-rc.d is not
  # touched here: the tests never use 2379 and pick their own free ports.
  bash "$(dirname "$0")/apt-install.sh" install-etcd "${missing[@]}" || exit 1
fi

command -v etcd >/dev/null 2>&1 || die "etcd is still not on PATH after installing etcd-server"
command -v etcdctl >/dev/null 2>&1 || die "etcdctl is still not on PATH after installing etcd-client"
# `etcd --version` prints "etcd Version: 3.4.23" first; the tests and the design rely on 3.4
# behaviour (minimum lease TTL, CN-to-user mapping, compaction cancellation).
version=$(etcd --version 2>&1 | sed -n 's/^etcd Version: *//p' | head -n 1)
[ -n "$version" ] || die "cannot read a version from 'etcd --version': $(etcd --version 2>&1 | head -n 3)"
case "$version" in
  3.4.*) ;;
  *) die "etcd $version found at $(command -v etcd); the tests need etcd 3.4.x (Debian etcd-server)" ;;
esac
ctl=$(etcdctl version 2>&1 | sed -n 's/^etcdctl version: *//p' | head -n 1)
case "$ctl" in
  3.4.*) ;;
  *) die "etcdctl ${ctl:-of unknown version} found at $(command -v etcdctl); the tests need etcdctl 3.4.x" ;;
esac
echo "install-etcd: etcd $version, etcdctl $ctl"
