#!/bin/bash
# The kernel-side SPI filter (src/esp/bpf/spi_filter.bpf.c), with the real
# kernel: a random-SPI flood from a non-peer is dropped before it reaches user
# space (raw ESP and ESP in UDP), yet every packet is counted once and a
# sample still reaches the invalid-SPI table; unknown SPIs from the peer all
# pass (recovery needs them); the tunnel keeps working; with
# INSYNC_SPI_FILTER=off the data plane does the same job in user space.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

A=$(ns_add a) || exit 1
B=$(ns_add b) || exit 1
C=$(ns_add c) || exit 1
veth_pair "$A" veth-a 192.0.2.1/24 "$B" veth-b 192.0.2.2/24
veth_pair "$A" veth-ac 198.51.100.1/24 "$C" veth-c 198.51.100.2/24
ip -n "$C" route add 192.0.2.0/24 via 198.51.100.1
ip -n "$A" addr add 10.0.1.1/32 dev lo
ip -n "$B" addr add 10.0.2.1/32 dev lo

# drops NAME CAUSE: a cause's count in `show crypto datapath drops`
drops() { ctl "$1" show crypto datapath drops | awk -v c="$2" '$2 == c {print $3}'; }
# kfilter NAME FIELD: raw|udp|sampled from the "Kernel SPI filter" line
kfilter() {
	ctl "$1" show crypto datapath drops | sed -n "s/.*Kernel SPI filter: .*raw \([0-9]*\), udp \([0-9]*\); sampled to user space \([0-9]*\).*/\1 \2 \3/p" |
		awk -v f="$2" '{print (f == "raw") ? $1 : (f == "udp") ? $2 : $3}'
}
ping_ab() { ip netns exec "$A" ping -c 2 -i 0.2 -W 1 -I 10.0.1.1 10.0.2.1 >/dev/null; }

start_insyncd "$A" a "$ROOT/examples/manual-a.conf" || exit 1
start_insyncd "$B" b "$ROOT/examples/manual-b.conf" || exit 1
check "tunnel carries traffic with the filter on" wait_for 10 ping_ab
check "the filter is on" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto datapath drops | grep -q 'Kernel SPI filter: on'"

# Raw ESP flood from a non-peer.
# How many the kernel drops depends on the sender's rate (the sample is one
# packet per ms per CPU); that every packet is either dropped there or
# sampled, and counted once, does not.
v4=$(drops a IN_US_V4_PKT_SA_NOT_FOUND_SPI)
esp_flood "$C" 192.0.2.1 5000
sleep 1
k_raw=$(kfilter a raw) k_smp=$(kfilter a sampled)
check "raw flood: every packet counted once ($(( $(drops a IN_US_V4_PKT_SA_NOT_FOUND_SPI) - v4 )) of 5000)" \
	[ "$(( $(drops a IN_US_V4_PKT_SA_NOT_FOUND_SPI) - v4 ))" -eq 5000 ]
check "raw flood: dropped in the kernel ($k_raw) or sampled ($k_smp), nothing else" [ $((k_raw + k_smp)) -eq 5000 ]
check "raw flood: the kernel dropped some" [ "$k_raw" -ge 1 ]
check "raw flood: a sample reached user space" [ "$k_smp" -ge 1 ]
check "raw flood: sampled flows classified non-peer" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto ipsec invalid-spi | grep -q non-peer"

# ESP in UDP 4500 from a non-peer.
udp=$(drops a IN_TRANS_V4_IPSEC_PKT_NOT_FOUND_SPI)
esp_flood_from "$C" 198.51.100.2 192.0.2.1 3000 0 4500
sleep 1
check "UDP flood: every packet counted once" [ "$(( $(drops a IN_TRANS_V4_IPSEC_PKT_NOT_FOUND_SPI) - udp ))" -eq 3000 ]
check "UDP flood: dropped in the kernel or sampled, nothing else" [ $(( $(kfilter a udp) + $(kfilter a sampled) - k_smp )) -eq 3000 ]
check "UDP flood: the kernel dropped some ($(kfilter a udp))" [ "$(kfilter a udp)" -ge 1 ]

# Unknown SPIs from the peer's address: none dropped in the kernel.
k_raw=$(kfilter a raw)
v4=$(drops a IN_US_V4_PKT_SA_NOT_FOUND_SPI)
esp_flood "$B" 192.0.2.1 300
sleep 1
check "peer's unknown SPIs: all reach user space" [ "$(kfilter a raw)" = "$k_raw" ]
check "peer's unknown SPIs: all counted" [ "$(( $(drops a IN_US_V4_PKT_SA_NOT_FOUND_SPI) - v4 ))" -eq 300 ]
check "peer's unknown SPIs: logged with the peer's address" grep -q 'RECVD_PKT_INV_SPI.*srcaddr=192.0.2.2' "$T_DIR/a.log"
check "tunnel still carries traffic" ping_ab

ctl a clear crypto datapath counters >/dev/null
check "clear crypto datapath counters zeroes the kernel's counts" [ "$(kfilter a raw) $(kfilter a udp) $(kfilter a sampled)" = "0 0 0" ]

# The same without the filter: user space drops and counts every packet.
kill "$PID_a"; wait "$PID_a" 2>/dev/null; rm -f "$T_DIR/a.sock"
INSYNC_SPI_FILTER=off start_insyncd "$A" a "$ROOT/examples/manual-a.conf" || exit 1
check "INSYNC_SPI_FILTER=off: the filter is off" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto datapath drops | grep -q 'Kernel SPI filter: off'"
esp_flood "$C" 192.0.2.1 2000
sleep 1
check "filter off: every packet counted in user space" [ "$(drops a IN_US_V4_PKT_SA_NOT_FOUND_SPI)" -eq 2000 ]
check "filter off: tunnel carries traffic" wait_for 5 ping_ab

kill "$PID_a" "$PID_b"; wait "$PID_a" "$PID_b" 2>/dev/null
check "no sanitizer reports (A)" no_sanitizer_errors "$T_DIR/a.log"
check "no sanitizer reports (B)" no_sanitizer_errors "$T_DIR/b.log"
t_done
