#!/bin/bash
# Keeping SAs in sync (the seeds' scenarios), insync <-> insync and insync <->
# strongSwan, with generous bounds; measured figures go in docs/recovery.md
# (make lab). A third namespace C plays the attacker/non-peer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
. "$(dirname "$0")/strongswan.sh"
export INSYNC_TEST_HOOKS=1

A=$(ns_add a) || exit 1
B=$(ns_add b) || exit 1
C=$(ns_add c) || exit 1
veth_pair "$A" veth-a 192.0.2.1/24 "$B" veth-b 192.0.2.2/24
veth_pair "$A" veth-ac 198.51.100.1/24 "$C" veth-c 198.51.100.2/24
ip -n "$C" route add 192.0.2.0/24 via 198.51.100.1
ip netns exec "$A" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-ac.rp_filter=0
ip -n "$A" addr add 10.0.1.1/32 dev lo
ip -n "$B" addr add 10.0.2.1/32 dev lo

ready() { ctl "$1" show crypto ikev2 sa | grep -q READY; }
nsa() { ctl "$1" show crypto ikev2 sa | grep -c READY; }
# "in out" pairs of installed CHILD_SAs, as seen from each side.
pairs() { ctl "$1" show crypto ikev2 sa detail | sed -n 's/.*Child sa: spi in 0x\([0-9A-F]*\) out 0x\([0-9A-F]*\), INSTALLED.*/\1 \2/p' | sort; }
pairs_rev() { pairs "$1" | awk '{print $2, $1}' | sort; }
in_sync() { [ -n "$(pairs a)" ] && [ "$(pairs a)" = "$(pairs_rev b)" ]; }
wait_in_sync() { wait_for 10 in_sync; }
report() { echo "MEASURE $*"; }

start_insyncd "$A" a "$ROOT/examples/site-a.conf" || exit 1
start_insyncd "$B" b "$ROOT/examples/site-b.conf" || exit 1
check "tunnel up" wait_for 15 bash -c "ip netns exec $A ping -c1 -W1 -I 10.0.1.1 10.0.2.1"
check "SAs in sync at start" wait_in_sync

# (a) the peer daemon is killed with -9 and restarted, each side in turn.
for victim in b a; do
	ping_start "$A" 10.0.1.1 10.0.2.1 "kill_$victim"
	sleep 1
	pid=$(eval echo "\$PID_$victim")
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	rm -f "$T_DIR/$victim.sock"
	sleep 1
	t0=$(now_epoch)
	if [ "$victim" = a ]; then start_insyncd "$A" a "$ROOT/examples/site-a.conf"; else start_insyncd "$B" b "$ROOT/examples/site-b.conf"; fi
	wait_for 10 bash -c "[ -n \"\$(awk -v a=$t0 -F'[][]' '/bytes from/ && \$2+0 > a' $T_DIR/ping-kill_$victim)\" ]"
	ping_stop "kill_$victim"
	ms=$(first_reply_after "kill_$victim" "$t0")
	report "(a) insync $victim killed -9 and restarted: traffic back ${ms:-never} ms after restart"
	check "(a) $victim restarted: traffic back within 5 s" [ -n "$ms" ] && [ "$ms" -lt 5000 ]
	check "(a) $victim restarted: one IKE SA each side" bash -c "[ \$('$INSYNCCTL' -S $T_DIR/a.sock show crypto ikev2 sa | grep -c READY) = 1 ] && [ \$('$INSYNCCTL' -S $T_DIR/b.sock show crypto ikev2 sa | grep -c READY) = 1 ]"
	check "(a) $victim restarted: SAs match pairwise" wait_in_sync
done
check "(a) restarted side logged RECVD_PKT_INV_SPI or sent INITIAL_CONTACT" grep -qE 'RECVD_PKT_INV_SPI|SA_UP' "$T_DIR/a.log"

# (b) one DELETE is lost: A drops its CHILD_SA without telling B; B keeps
# sending on it until A's INVALID_SPI makes B replace it. The tunnel is quiet
# during the clear: a reply of A's routed into it afterwards would bring a
# fresh CHILD_SA up before B's first packet on the stale SPI (a faster repair,
# but not the one under test).
inv_a=$(grep -c 'RECVD_PKT_INV_SPI.*srcaddr=192.0.2.2' "$T_DIR/a.log")
rcv_b=$(grep -c 'INVALID_SPI_RECEIVED' "$T_DIR/b.log")
ctl a test crypto drop-deletes 1 >/dev/null
ctl a clear crypto sa >/dev/null
sleep 0.5
t0=$(now_epoch)
ping_start "$B" 10.0.2.1 10.0.1.1 lostdel
sleep 3
ping_stop lostdel
gap=$(first_reply_after lostdel "$t0")
report "(b) lost DELETE, insync<->insync: B's traffic on the stale SA answered after ${gap:-never} ms (10 ms stream)"
check "(b) lost DELETE: repaired within 5 s (${gap:-never} ms)" [ -n "$gap" ] && [ "$gap" -lt 5000 ]
check "(b) A logged RECVD_PKT_INV_SPI" [ "$(grep -c 'RECVD_PKT_INV_SPI.*srcaddr=192.0.2.2' "$T_DIR/a.log")" -gt "$inv_a" ]
check "(b) B acted on INVALID_SPI" [ "$(grep -c 'INVALID_SPI_RECEIVED' "$T_DIR/b.log")" -gt "$rcv_b" ]
check "(b) SAs match pairwise" wait_in_sync
check "(b) the flow is classified recovered" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto ipsec invalid-spi | grep -q recovered"

# (e) a bogus-SPI flood from a namespace that is no peer.
before=$(grep -c RECVD_PKT_INV_SPI "$T_DIR/a.log")
ping_start "$A" 10.0.1.1 10.0.2.1 flood
esp_flood "$C" 192.0.2.1 20000
sleep 1
ping_stop flood
lines=$(( $(grep -c RECVD_PKT_INV_SPI "$T_DIR/a.log") - before ))
report "(e) 20000 random-SPI packets: $lines log lines; tunnel gap $(max_gap flood) ms"
check "(e) flood: no IKE started toward the flooder" bash -c "! '$INSYNCCTL' -S $T_DIR/a.sock show crypto ikev2 sa | grep -q 198.51.100.2"
check "(e) flood: log lines capped ($lines)" [ "$lines" -le 100 ]
check "(e) flood: drops counted" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto datapath drops | grep -Eq 'IN_US_V4_PKT_SA_NOT_FOUND_SPI +[1-9][0-9]{3}'"
check "(e) flood: most of it dropped in the kernel (SPI filter)" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto datapath drops | grep -Eq 'Kernel SPI filter: on; dropped there \(counted above\) raw [1-9][0-9]{3}'"
check "(e) flood: the tunnel kept carrying traffic" bash -c "grep -q 'bytes from' $T_DIR/ping-flood"
check "(e) flood: flows classified non-peer" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto ipsec invalid-spi | grep -q non-peer"

# (f) spoofed unprotected INVALID_SPI and DELETE in B's name: hints only.
before_pairs=$(pairs a)
ike_spoof "$C" 192.0.2.2 192.0.2.1 invalid-spi
ike_spoof "$C" 192.0.2.2 192.0.2.1 delete
sleep 2
check "(f) spoofed INVALID_SPI/DELETE: no SA deleted" [ "$(pairs a)" = "$before_pairs" ]
check "(f) still one IKE SA" [ "$(nsa a)" = 1 ]

kill "$PID_a" "$PID_b"; wait "$PID_a" "$PID_b" 2>/dev/null
check "no sanitizer reports (A)" no_sanitizer_errors "$T_DIR/a.log"
check "no sanitizer reports (B)" no_sanitizer_errors "$T_DIR/b.log"
rm -f "$T_DIR/a.sock" "$T_DIR/b.sock"

# insync <-> strongSwan: insync restarts; INITIAL_CONTACT repairs strongSwan.
SW=$ROOT/examples/strongswan-site-b
sw_start "$B" b "$SW/strongswan.conf" "$SW/swanctl.conf" || fail "charon start"
start_insyncd "$A" a "$ROOT/examples/site-a.conf" || exit 1
check "strongSwan: tunnel up" wait_for 15 bash -c "ip netns exec $A ping -c1 -W1 -I 10.0.1.1 10.0.2.1"
# (b) a lost DELETE toward strongSwan, which ignores INVALID_SPI: the second
# round sends a DELETE for the SPI strongSwan still uses (as IOS does). Quiet
# during the clear, as in (b) above.
ctl a test crypto drop-deletes 1 >/dev/null
ctl a clear crypto sa >/dev/null
sleep 0.5
t0=$(now_epoch)
ping_start "$B" 10.0.2.1 10.0.1.1 swdel
sleep 4
ping_stop swdel
report "(b) lost DELETE toward strongSwan: its traffic on the stale SA answered after $(first_reply_after swdel "$t0") ms"
check "(b) strongSwan: repaired (recovered logged)" grep -q 'INVALID_SPI_RECOVERED' "$T_DIR/a.log"
check "(b) strongSwan: no stale CHILD_SA left" wait_for 10 bash -c "[ \$(swanctl --list-sas --uri unix://$T_DIR/sw-b/charon.vici | grep -c 'lan:.*INSTALLED') = 1 ]"
check "(b) strongSwan: traffic both ways" wait_for 5 bash -c "ip netns exec $B ping -c1 -W1 -I 10.0.2.1 10.0.1.1"
# (b') the same, but A's own traffic brings a fresh CHILD_SA up before the
# DELETE round: strongSwan then stops using the stale SPI without deleting
# that SA, so the repair itself must send the DELETE.
ping_start "$B" 10.0.2.1 10.0.1.1 swdel2
sleep 1
ctl a test crypto drop-deletes 1 >/dev/null
ctl a clear crypto sa >/dev/null
sleep 0.1 # B's 10 ms stream reaches A on the stale SPI first, well before the 1 s DELETE round
ip netns exec "$A" ping -c 3 -i 0.05 -W 1 -I 10.0.1.1 10.0.2.1 >/dev/null
sleep 3
ping_stop swdel2
check "(b') strongSwan, fresh SA first: no stale CHILD_SA left" wait_for 10 bash -c "[ \$(swanctl --list-sas --uri unix://$T_DIR/sw-b/charon.vici | grep -c 'lan:.*INSTALLED') = 1 ]"
check "(b') strongSwan, fresh SA first: traffic both ways" wait_for 5 bash -c "ip netns exec $B ping -c1 -W1 -I 10.0.2.1 10.0.1.1 && ip netns exec $A ping -c1 -W1 -I 10.0.1.1 10.0.2.1"

ping_start "$B" 10.0.2.1 10.0.1.1 swkill
sleep 1
kill -9 "$PID_a"; wait "$PID_a" 2>/dev/null; rm -f "$T_DIR/a.sock"
sleep 1
t0=$(now_epoch)
start_insyncd "$A" a "$ROOT/examples/site-a.conf"
wait_for 10 bash -c "[ -n \"\$(awk -v a=$t0 -F'[][]' '/bytes from/ && \$2+0 > a' $T_DIR/ping-swkill)\" ]"
ping_stop swkill
ms=$(first_reply_after swkill "$t0")
report "(a) insync killed -9 and restarted, peer strongSwan: traffic back ${ms:-never} ms after restart"
check "(a) strongSwan peer: traffic back within 5 s of insync's restart" [ -n "$ms" ] && [ "$ms" -lt 5000 ]
check "(a) strongSwan keeps exactly one IKE SA" bash -c "[ \$(swanctl --list-sas --uri unix://$T_DIR/sw-b/charon.vici | grep -c 'site-b:.*ESTABLISHED') = 1 ]"

# strongSwan killed -9 and restarted (it does not initiate): insync's
# on-demand DPD (dpd 10 2) finds the dead peer and re-establishes.
ping_start "$A" 10.0.1.1 10.0.2.1 swdead
sleep 1
sw_kill b
sleep 1
sw_start "$B" b "$SW/strongswan.conf" "$SW/swanctl.conf" || fail "charon restart"
t0=$(now_epoch)
wait_for 45 bash -c "[ -n \"\$(awk -v a=$t0 -F'[][]' '/bytes from/ && \$2+0 > a' $T_DIR/ping-swdead)\" ]"
ping_stop swdead
ms=$(first_reply_after swdead "$t0")
report "(a) strongSwan killed -9 and restarted: traffic back ${ms:-never} ms after its restart (insync DPD 10 s on-demand, retry 2 s)"
check "(a) strongSwan restarted: recovered within insync's DPD bound (<40 s)" [ -n "$ms" ] && [ "$ms" -lt 40000 ]
check "(a) strongSwan restarted: insync logged the dead peer" grep -q 'PEER_DEAD' "$T_DIR/a.log"
kill "$PID_a"; wait "$PID_a" 2>/dev/null
check "no sanitizer reports (A, strongSwan run)" no_sanitizer_errors "$T_DIR/a.log"
sw_kill b
t_done
