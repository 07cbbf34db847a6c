#!/usr/bin/env bash
# Installs what wasm-cni needs on a fresh Debian 12 node (as root) and builds the tree.
#   system: git (.ci/run clones the checkout), iproute2, iptables, nftables, conntrack, iperf3, jq, a C compiler,
#           containernetworking-plugins (the reference binaries in /usr/lib/cni, used as the test oracle),
#           iputils-ping, podman + runc + busybox-static (the real-client e2e tests), containerd (the DaemonSet e2e
#           drives its CRI), util-linux (nsenter, unshare), strace (the no-process test of nf_tables over netlink),
#           systemd (systemd-socket-activate, for the socket-activation test; systemd need not run as PID 1)
#   npm:    the locked dev dependencies; `npm ci` runs build.sh through the `prepare` script.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in git iproute2 iptables nftables conntrack iperf3 jq gcc libc6-dev make python3 containernetworking-plugins \
    iputils-ping podman runc busybox-static containerd util-linux strace systemd; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
modprobe br_netfilter 2>/dev/null || true
modprobe ifb 2>/dev/null || true
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  bash build.sh
fi
