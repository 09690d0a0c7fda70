#!/bin/bash
# More than one data-plane worker (INSYNC_DP_THREADS=2 on both ends, manual
# keys, raw ESP): outbound traffic is spread over the workers by the TUN's
# queues, and both encrypt on the tunnel's one outbound SA at once, each with
# its own OpenSSL contexts. Eight TCP streams each way must arrive intact:
#  - the workers are threads named insync-dp0 and insync-dp1;
#  - both of A's workers encrypt (CPU time on each) while A sends;
#  - no ICV failure on either end (shared contexts would corrupt packets);
#  - TCP gets its data through both ways.
. "$(dirname "$0")/lib.sh"

command -v iperf3 >/dev/null || { echo "SKIP iperf3 missing"; exit 0; }
NA=$(ns_add a) || exit 1
NB=$(ns_add b) || exit 1
veth_pair "$NA" veth-a 192.0.2.1/24 "$NB" veth-b 192.0.2.2/24 || { fail "veth"; exit 1; }
ip -n "$NA" addr add 10.0.1.1/32 dev lo
ip -n "$NB" addr add 10.0.2.1/32 dev lo
for n in "$NA" "$NB"; do ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done

export INSYNC_DP_THREADS=2
start_insyncd "$NA" a "$ROOT/examples/manual-a.conf" || { fail "start A"; exit 1; }
start_insyncd "$NB" b "$ROOT/examples/manual-b.conf" || { fail "start B"; exit 1; }
tun_up() { ip -n "$1" link show Tunnel0 2>/dev/null | grep -q ',UP'; }
check "A: Tunnel0 up" wait_for 5 tun_up "$NA"
check "B: Tunnel0 up" wait_for 5 tun_up "$NB"
check "ping A->B over the tunnel" ip netns exec "$NA" ping -c 2 -i 0.2 -W 2 -I 10.0.1.1 10.0.2.1

# tid_of PID NAME: the thread of PID named NAME
tid_of() { grep -lx "$2" /proc/"$1"/task/*/comm 2>/dev/null | head -1 | awk -F/ '{print $5}'; }
# ticks PID TID: utime + stime of one thread
ticks() { awk '{print $14 + $15}' /proc/"$1"/task/"$2"/stat 2>/dev/null || echo 0; }
dp0=$(tid_of "$PID_a" insync-dp0) dp1=$(tid_of "$PID_a" insync-dp1)
check "A runs two data-plane workers, insync-dp0 and insync-dp1" [ -n "$dp0" ] && [ -n "$dp1" ]
[ -n "$dp1" ] || { t_done; exit; }

# bulk FROM_NS TO_ADDR FROM_ADDR SERVER_NS: 8 streams for 2 s; megabits received
bulk() {
	ip netns exec "$4" timeout 20 iperf3 -s -1 -B "$2" >/dev/null 2>&1 &
	local srv=$!
	T_PIDS+=("$srv")
	sleep 0.5
	ip netns exec "$1" timeout 20 iperf3 -c "$2" -B "$3" -P 8 -t 2 -f m 2>/dev/null |
		awk '/SUM.*receiver/ {print int($6)}'
	wait "$srv" 2>/dev/null
}
# The TUN picks a queue per flow hash: a round can, rarely, put all eight
# streams on one queue, so up to three rounds are tried.
t1=$(ticks "$PID_a" "$dp1") ab=0
for _ in 1 2 3; do
	m=$(bulk "$NA" 10.0.2.1 10.0.1.1 "$NB")
	ab=$((ab + ${m:-0}))
	[ "$(ticks "$PID_a" "$dp1")" -gt "$t1" ] && break
done
check "A->B: 8 TCP streams get through ($ab Mbit/s, summed over the rounds)" [ "$ab" -gt 0 ]
check "A's second worker encrypted too (CPU ticks $t1 -> $(ticks "$PID_a" "$dp1"))" \
	[ "$(ticks "$PID_a" "$dp1")" -gt "$t1" ]
ba=$(bulk "$NB" 10.0.1.1 10.0.2.1 "$NA")
check "B->A: 8 TCP streams get through (${ba:-0} Mbit/s)" [ "${ba:-0}" -gt 0 ]

drop_counter() { ctl "$1" show crypto datapath drops | awk -v c="$2" '$2 == c {print $3}'; }
for d in a b; do
	icv=$(drop_counter "$d" icv-failure)
	check "$d: no ICV failure (${icv:-?})" [ "${icv:-1}" = 0 ]
done
out=$(ctl a show crypto ipsec sa | grep -oE 'pkts encaps: [0-9]+' | head -1 | grep -oE '[0-9]+$')
check "A: the SA counted its packets (${out:-0} encaps)" [ "${out:-0}" -gt 1000 ]
for d in a b; do check "$d: no sanitizer report" no_sanitizer_errors "$T_DIR/$d.log"; done
t_done
