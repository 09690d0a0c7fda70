#!/bin/bash
# crypto ikev2 limit max-sa on a running responder, with site A's IKE SA up
# and `max-sa 1`: 200 blind initiators (forged sources) get stateless COOKIEs
# only; 20 real ones answer the COOKIE and are then refused, counted and
# logged once (rate-limited); A's tunnel keeps working throughout. Reloaded
# without the limit, B takes new SAs again.
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

CONF_B=$T_DIR/site-b.conf
{ echo "crypto ikev2 limit max-sa 1"; cat "$ROOT/examples/site-b.conf"; } >"$CONF_B"

stat() { ctl b show crypto ikev2 stats | sed -n "s/.*$1 \([0-9]*\).*/\1/p"; }
ready() { ctl "$1" show crypto ikev2 sa | grep -q READY; }
ping_ab() { ip netns exec "$A" ping -c 2 -i 0.2 -W 1 -I 10.0.1.1 10.0.2.1 >/dev/null; }
flood() { ip netns exec "$C" "$IKELOAD" -X -r 198.51.100.2 -s 10.66.0.1 -n "$1" -T "$2" >>"$T_DIR/flood.log" 2>&1; }
# initiators that answer COOKIEs (they never authenticate: B has no key for them)
real() { ip netns exec "$C" "$IKELOAD" -r 198.51.100.2 -s 10.66.1.1 -n "$1" -w "$1" -T "$2" >>"$T_DIR/flood.log" 2>&1; }

start_insyncd "$B" b "$CONF_B" || exit 1
start_insyncd "$A" a "$ROOT/examples/site-a.conf" || exit 1
check "A's IKE SA comes up under max-sa 1" wait_for 15 ready a
check "running-config shows the limit" bash -c "'$INSYNCCTL' -S '$T_DIR/b.sock' show running-config | grep -qx 'crypto ikev2 limit max-sa 1'"
check "stats show the limit" bash -c "'$INSYNCCTL' -S '$T_DIR/b.sock' show crypto ikev2 stats | grep -q 'Max IKEv2 SAs: 1 '"

flood 200 3
check "at the limit: forged requests get COOKIEs" [ "$(stat 'cookies sent')" -ge 200 ]
check "at the limit: forged requests hold nothing" [ "$(stat half-open)" = 0 ]
check "at the limit: none refused yet" [ "$(stat 'SA limit')" = 0 ]
real 20 3
check "at the limit: answered COOKIEs, then refused and counted" [ "$(stat 'SA limit')" -ge 20 ]
check "at the limit: nothing half-open" [ "$(stat half-open)" = 0 ]
check "at the limit: one IKE SA at B" [ "$(ctl b show crypto ikev2 stats | sed -n 's/^IKEv2 SAs: \([0-9]*\).*/\1/p')" = 1 ]
n=$(grep -c 'SA_REJECTED_LIMIT_REACHED' "$T_DIR/b.log")
check "at the limit: logged, rate-limited ($n lines)" [ "$n" -ge 1 -a "$n" -le 2 ]
check "at the limit: the tunnel still carries traffic" ping_ab

sed -i '/^crypto ikev2 limit max-sa/d' "$CONF_B"
ctl b reload >/dev/null
check "reloaded without it: no limit shown" bash -c "'$INSYNCCTL' -S '$T_DIR/b.sock' show crypto ikev2 stats | grep -q 'Max IKEv2 SAs: none '"
flood 20 2
check "reloaded without it: new SAs are taken" [ "$(stat half-open)" -ge 1 ]
check "reloaded without it: A's tunnel untouched" ping_ab

kill "$PID_a" "$PID_b"
wait "$PID_a" "$PID_b" 2>/dev/null
check "no sanitizer reports (A)" no_sanitizer_errors "$T_DIR/a.log"
check "no sanitizer reports (B)" no_sanitizer_errors "$T_DIR/b.log"
t_done
