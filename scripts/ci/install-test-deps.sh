#!/usr/bin/env bash
# Installs what the tests run besides Node, with apt when it is missing (as root, or through sudo):
# systemd-analyze (verify, security, syscall-filter), strace (the program traced against the
# units' sandbox), prlimit, setpriv and unshare (util-linux), ip (iproute2, to bring up the
# loopback of a network namespace a test makes for itself), openssl, and etcd 3.4
# (scripts/ci/install-etcd.sh). The tests that need them fail, never skip, without them.
# `npm run test:deps` and .ci/run call this.
set -euo pipefail
cd "$(dirname "$0")/../.."

die() {
  echo "install-test-deps: $*" >&2
  exit 1
}

missing=()
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# The tests use openssl as an independent TLS peer and certificate checker.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if ((${#missing[@]})); then
  bash "$(dirname "$0")/apt-install.sh" install-test-deps "${missing[@]}" || exit 1
fi
systemd-analyze --version | head -n 1
strace -V | head -n 1
# A container may forbid ptrace; say so here rather than as a test failure.
strace -f -qq -o /dev/null true || die "strace cannot trace processes here (ptrace not permitted?)"
# The README's HA walk-through runs on its fixed ports in a network namespace of its own.
if [ "$(id -u)" = 0 ]; then netns=(unshare --net); else netns=(unshare --net --map-root-user); fi
"${netns[@]}" ip link set lo up || die "cannot make a network namespace here (${netns[*]} ip link set lo up failed)"

# The etcd tests start real etcd 3.4 members (Debian etcd-server): installed here, never skipped.
bash scripts/ci/install-etcd.sh || die "cannot install etcd-server 3.4 (see above)"
etcd --version | head -n 1
