#!/bin/bash
# A spoofed-source IKE_SA_INIT flood against site B: 2,000 initiators from
# 10.66.0.0/16 (namespace c) that never read a reply, as a flood with forged
# sources looks to B. B keeps at most `crypto ikev2 cookie-challenge` (64, the
# default) half-open SAs and answers the rest with stateless COOKIEs; site A,
# started in the middle of the flood, still comes up and carries traffic.
. "$(dirname "$0")/lib.sh"
IKELOAD=$ROOT/$BUILD/bench/ikeload
[ -x "$IKELOAD" ] || { echo "FAIL $IKELOAD missing (run make)"; exit 1; }

A=$(ns_add a) || exit 1
B=$(ns_add b) || exit 1
C=$(ns_add c) || exit 1
veth_pair "$A" veth-a 192.0.2.1/24 "$B" veth-b 192.0.2.2/24
veth_pair "$C" veth-c 198.51.100.1/24 "$B" veth-bc 198.51.100.2/24
ip -n "$A" addr add 10.0.1.1/32 dev lo
ip -n "$B" addr add 10.0.2.1/32 dev lo
ip -n "$C" route add local 10.66.0.0/16 dev lo
ip -n "$B" route add 10.66.0.0/16 via 198.51.100.1

stat() { ctl b show crypto ikev2 stats | sed -n "s/.*$1 \([0-9]*\).*/\1/p"; }
ready() { ctl "$1" show crypto ikev2 sa | grep -q READY; }
ping_ab() { ip netns exec "$A" ping -c 2 -i 0.2 -W 1 -I 10.0.1.1 10.0.2.1 >/dev/null; }
at_threshold() { [ "$(stat half-open)" = 64 ]; }

start_insyncd "$B" b "$ROOT/examples/site-b.conf" || exit 1
ip netns exec "$C" "$IKELOAD" -X -r 198.51.100.2 -s 10.66.0.1 -n 2000 -T 12 >"$T_DIR/flood.log" 2>&1 &
fp=$!
T_PIDS+=("$fp")
check "flood: B holds 64 half-open SAs" wait_for 8 at_threshold

max=0
for _ in $(seq 1 10); do
	h=$(stat half-open)
	[ "${h:-0}" -gt "$max" ] && max=$h
	sleep 0.2
done
check "flood: never more than 64 half-open (max $max)" [ "$max" = 64 ]
check "flood: the rest got COOKIEs" wait_for 5 bash -c "[ \$('$INSYNCCTL' -S '$T_DIR/b.sock' show crypto ikev2 stats | sed -n 's/.*cookies sent \([0-9]*\).*/\1/p') -ge 1900 ]"

start_insyncd "$A" a "$ROOT/examples/site-a.conf" || exit 1
check "during the flood: A's IKE SA comes up" wait_for 15 ready a
check "during the flood: ping A->B" wait_for 10 ping_ab
kill -0 "$fp" 2>/dev/null
check "the flood was still running" [ $? = 0 ]
wait "$fp"
check "the flooder saw B's answers" grep -Eq 'ikeload: blind 2000 initiators .* rx [1-9]' "$T_DIR/flood.log"
check "after the flood: still one IKE SA each side" bash -c "[ \$('$INSYNCCTL' -S '$T_DIR/a.sock' show crypto ikev2 sa | grep -c READY) = 1 ]"
check "after the flood: ping A->B" ping_ab

kill "$PID_a" "$PID_b"
wait "$PID_a" "$PID_b" 2>/dev/null
check "no sanitizer reports (A)" no_sanitizer_errors "$T_DIR/a.log"
check "no sanitizer reports (B)" no_sanitizer_errors "$T_DIR/b.log"
t_done
