#!/bin/sh
# Install every Debian package insync's build, tests, lab and benchmarks need.
# Idempotent: does nothing when all are present. Run as root.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev llvm \
libssl-dev libcmocka-dev libmnl-dev libedit-dev libbpf-dev libsnmp-dev snmp snmptrapd \
iproute2 nftables iputils-ping tcpdump iperf3 procps psmisc \
strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins libstrongswan-standard-plugins \
wireguard-go wireguard-tools rsyslog python3 python3-prometheus-client linux-perf openssl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
