#!/bin/bash
# More than one data-plane worker (INSYNC_DP_THREADS=2 on both ends, manual
# keys, raw ESP). Workers share out tunnels, not flows: Tunnel0 belongs to
# insync-dp0 and Tunnel1 to insync-dp1, so each outbound SA has one encrypting
# thread and its ESP leaves in sequence order.
#  - the workers are threads named insync-dp0 and insync-dp1, and
#    `show interfaces` names each tunnel's worker;
#  - with TCP through both tunnels at once, both of A's workers encrypt;
#  - eight streams through one tunnel arrive without a single replay drop at
#    the peer (two threads on one SA would send batches out of order, further
#    apart than a 64-packet window);
#  - no ICV failure on either end; TCP gets its data through both ways.
. "$(dirname "$0")/lib.sh"

command -v iperf3 >/dev/null || { echo "SKIP iperf3 missing"; exit 0; }
NA=$(ns_add a) || exit 1
NB=$(ns_add b) || exit 1
veth_pair "$NA" veth-a 192.0.2.1/24 "$NB" veth-b 192.0.2.2/24 || { fail "veth"; exit 1; }
# A second pair of underlay addresses: a tunnel destination is one tunnel's.
ip -n "$NA" addr add 192.0.2.4/24 dev veth-a
ip -n "$NB" addr add 192.0.2.3/24 dev veth-b
ip -n "$NA" addr add 10.0.1.1/32 dev lo
ip -n "$NA" addr add 10.0.11.1/32 dev lo
ip -n "$NB" addr add 10.0.2.1/32 dev lo
ip -n "$NB" addr add 10.0.3.1/32 dev lo
for n in "$NA" "$NB"; do ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done

# Keys by direction and tunnel; SPIs: 0x10A0/0x10A1 into A, 0x10B0/0x10B1 into B.
K_AB0=a20cc6a58b2015613d25f8c793512db0d198f7a73ba6334055862c4e707a2313dbc4579a
K_BA0=c36b03395f51a0f327731a6e3ca8d6e8a4184efe7d7b37bf3d5eedb4131f8816dc90cf07
K_AB1=00112233445566778899aabbccddeeff0f1e2d3c4b5a69788796a5b4c3d2e1f0d4c3b2a1
K_BA1=0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0a1b2c3d4
# tunnel N ME PEER HOST NET: interface TunnelN from ME to PEER, inner address
# 10.255.0.HOST/30, profile PN, and the route to NET through it.
tunnel() {
	printf 'interface Tunnel%s\n ip address 10.255.0.%s 255.255.255.252\n' "$1" "$4"
	printf ' tunnel source %s\n tunnel destination %s\n tunnel mode ipsec ipv4\n' "$2" "$3"
	printf ' tunnel protection ipsec profile P%s\n' "$1"
	printf 'ip route %s 255.255.255.0 Tunnel%s\n' "$5" "$1"
}
# profiles ME PEER: P0 and P1 with ME's SPIs and keys inbound, PEER's outbound.
profiles() {
	local k kin kout
	printf 'hostname w%s\ncrypto ipsec transform-set TS esp-gcm 256\n mode tunnel\n' "$1"
	for k in 0 1; do
		kin="K_$2$1$k" kout="K_$1$2$k"
		printf 'crypto ipsec profile P%s\n set transform-set TS\n' $k
		printf ' set session-key inbound esp 0x10%s%s cipher %s\n' "$1" $k "${!kin}"
		printf ' set session-key outbound esp 0x10%s%s cipher %s\n' "$2" $k "${!kout}"
	done
}
{ profiles A B; tunnel 0 192.0.2.1 192.0.2.2 1 10.0.2.0; tunnel 1 192.0.2.4 192.0.2.3 5 10.0.3.0; echo end; } >"$T_DIR/a.conf"
{ profiles B A; tunnel 0 192.0.2.2 192.0.2.1 2 10.0.1.0; tunnel 1 192.0.2.3 192.0.2.4 6 10.0.11.0; echo end; } >"$T_DIR/b.conf"

export INSYNC_DP_THREADS=2
start_insyncd "$NA" a "$T_DIR/a.conf" || { fail "start A"; exit 1; }
start_insyncd "$NB" b "$T_DIR/b.conf" || { fail "start B"; exit 1; }
tun_up() { ip -n "$1" link show "$2" 2>/dev/null | grep -q ',UP'; }
for t in Tunnel0 Tunnel1; do
	check "A: $t up" wait_for 5 tun_up "$NA" $t
	check "B: $t up" wait_for 5 tun_up "$NB" $t
done
check "ping A->B over Tunnel0" ip netns exec "$NA" ping -c 2 -i 0.2 -W 2 -I 10.0.1.1 10.0.2.1
check "ping A->B over Tunnel1" ip netns exec "$NA" ping -c 2 -i 0.2 -W 2 -I 10.0.11.1 10.0.3.1

# tid_of PID NAME: the thread of PID named NAME
tid_of() { grep -lx "$2" /proc/"$1"/task/*/comm 2>/dev/null | head -1 | awk -F/ '{print $5}'; }
# ticks PID TID: utime + stime of one thread
ticks() { awk '{print $14 + $15}' /proc/"$1"/task/"$2"/stat 2>/dev/null || echo 0; }
dp0=$(tid_of "$PID_a" insync-dp0) dp1=$(tid_of "$PID_a" insync-dp1)
check "A runs two data-plane workers, insync-dp0 and insync-dp1" [ -n "$dp0" ] && [ -n "$dp1" ]
[ -n "$dp1" ] || { t_done; exit; }
owner_is() { ctl a show interfaces "$1" | grep -q "data-plane worker $2)"; }
check "show interfaces: Tunnel0 is insync-dp0's" owner_is Tunnel0 insync-dp0
check "show interfaces: Tunnel1 is insync-dp1's" owner_is Tunnel1 insync-dp1

# bulk FROM_NS TO_ADDR FROM_ADDR SERVER_NS STREAMS PORT: 2 s of TCP; megabits received
bulk() {
	ip netns exec "$4" timeout 20 iperf3 -s -1 -B "$2" -p "$6" >/dev/null 2>&1 &
	local srv=$!
	T_PIDS+=("$srv")
	sleep 0.5
	ip netns exec "$1" timeout 20 iperf3 -c "$2" -B "$3" -p "$6" -P "$5" -t 2 -f m 2>/dev/null |
		awk '/SUM.*receiver/ {print int($6)}'
	wait "$srv" 2>/dev/null
}
drop_counter() { ctl "$1" show crypto datapath drops | awk -v c="$2" '$2 == c {print $3}'; }

# Both tunnels at once: each worker encrypts its own tunnel's traffic.
t0=$(ticks "$PID_a" "$dp0") t1=$(ticks "$PID_a" "$dp1")
bulk "$NA" 10.0.3.1 10.0.11.1 "$NB" 4 5202 >"$T_DIR/bulk1.txt" &
m0=$(bulk "$NA" 10.0.2.1 10.0.1.1 "$NB" 4 5201)
wait $!
m1=$(cat "$T_DIR/bulk1.txt")
check "A->B: 4 TCP streams through Tunnel0 (${m0:-0} Mbit/s)" [ "${m0:-0}" -gt 0 ]
check "A->B: 4 TCP streams through Tunnel1 (${m1:-0} Mbit/s)" [ "${m1:-0}" -gt 0 ]
check "A's insync-dp0 encrypted (CPU ticks $t0 -> $(ticks "$PID_a" "$dp0"))" \
	[ "$(ticks "$PID_a" "$dp0")" -gt "$t0" ]
check "A's insync-dp1 encrypted (CPU ticks $t1 -> $(ticks "$PID_a" "$dp1"))" \
	[ "$(ticks "$PID_a" "$dp1")" -gt "$t1" ]

# Eight streams through one tunnel, both ways: one SA, one thread, in order.
ab=$(bulk "$NA" 10.0.2.1 10.0.1.1 "$NB" 8 5201)
check "A->B: 8 TCP streams through Tunnel0 (${ab:-0} Mbit/s)" [ "${ab:-0}" -gt 0 ]
ba=$(bulk "$NB" 10.0.1.1 10.0.2.1 "$NA" 8 5201)
check "B->A: 8 TCP streams through Tunnel0 (${ba:-0} Mbit/s)" [ "${ba:-0}" -gt 0 ]

for d in a b; do
	icv=$(drop_counter "$d" icv-failure)
	check "$d: no ICV failure (${icv:-?})" [ "${icv:-1}" = 0 ]
	rp=$(drop_counter "$d" replay)
	check "$d: no replay drop (${rp:-?})" [ "${rp:-1}" = 0 ]
done
for d in a b; do check "$d: no sanitizer report" no_sanitizer_errors "$T_DIR/$d.log"; done
t_done
