#!/bin/bash
# Rekeys lose nothing: a 10 ms ping stream runs while CHILD_SAs (and IKE SAs)
# rekey every ~20 s, insync <-> insync (with jitter, then with collisions
# forced: equal lifetimes, no jitter) and insync <-> strongSwan (both sides
# rekeying). IOS's minimum lifetime is 120 s, so insync runs with
# INSYNC_TIME_SCALE=167 (timers at 1/6): 120 s lifetimes behave as 20 s ones.
# REKEY_SECONDS sets each run's length (default 60; the issue's soak is 180).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
. "$(dirname "$0")/strongswan.sh"
DUR=${REKEY_SECONDS:-60}

A=$(ns_add a) || exit 1
B=$(ns_add b) || exit 1
veth_pair "$A" veth-a 192.0.2.1/24 "$B" veth-b 192.0.2.2/24
ip -n "$A" addr add 10.0.1.1/32 dev lo
ip -n "$B" addr add 10.0.2.1/32 dev lo
for s in a b; do
	sed -e 's/^ set security-association lifetime seconds 1800/ set security-association lifetime seconds 120/' \
	    -e 's/^ lifetime 3600/ lifetime 180/' "$ROOT/examples/site-$s.conf" >"$T_DIR/site-$s.conf"
done
pairs() { ctl "$1" show crypto ikev2 sa detail | sed -n 's/.*Child sa: spi in 0x\([0-9A-F]*\) out 0x\([0-9A-F]*\), INSTALLED.*/\1 \2/p' | sort; }
pairs_rev() { pairs "$1" | awk '{print $2, $1}' | sort; }
in_sync() { [ -n "$(pairs a)" ] && [ "$(pairs a)" = "$(pairs_rev b)" ]; }
lost() { sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$T_DIR/ping-$1"; }
# Requests lost between the first and the last reply: ping's own total also
# counts the request still in flight when the stream is stopped.
nlost() { awk -F'icmp_seq=' '/bytes from/ { split($2, a, " "); s = a[1] + 0; seen[s] = 1;
	if (!n++ || s < lo) lo = s; if (s > hi) hi = s }
	END { m = 0; for (i = lo; i <= hi; i++) if (!(i in seen)) m++; print m + 0 }' "$T_DIR/ping-$1"; }
rekeys() { ctl "$1" show crypto flight-recorder peer "$2" | grep -c 'REKEY_DONE.*CHILD'; }

run_pair() { # run_pair LABEL [env...]
	local label=$1; shift
	INSYNC_TEST_HOOKS=1 INSYNC_TIME_SCALE=167 start_insyncd "$A" a "$T_DIR/site-a.conf" || return
	INSYNC_TEST_HOOKS=1 INSYNC_TIME_SCALE=167 start_insyncd "$B" b "$T_DIR/site-b.conf" || return
	wait_for 15 bash -c "ip netns exec $A ping -c1 -W1 -I 10.0.1.1 10.0.2.1" || { fail "$label: tunnel up"; return; }
	ping_start "$A" 10.0.1.1 10.0.2.1 "$label"
	if [ "$label" = collisions ]; then
		# Force simultaneous CHILD_SA rekeys: both requests are lost once, and
		# their retransmissions cross (IKE only; ESP keeps flowing).
		for _ in 1 2; do
			sleep 3
			for n in "$A" "$B"; do
				ip netns exec "$n" nft add table inet rekeyhold
				ip netns exec "$n" nft add chain inet rekeyhold out '{ type filter hook output priority 0; }'
				ip netns exec "$n" nft add rule inet rekeyhold out udp dport 500 drop
			done
			ctl a test crypto rekey child 0 >/dev/null
			ctl b test crypto rekey child 0 >/dev/null
			sleep 0.2
			for n in "$A" "$B"; do ip netns exec "$n" nft delete table inet rekeyhold; done
		done
		sleep $((DUR - 6))
	else
		sleep "$DUR"
	fi
	ping_stop "$label"
	ctl a show crypto flight-recorder >"$T_DIR/$label-fr-a.txt"
	ctl b show crypto flight-recorder >"$T_DIR/$label-fr-b.txt"
	local n c; n=$(rekeys a 192.0.2.2)
	c=$(( $(ctl a show crypto flight-recorder peer 192.0.2.2 | grep -c REKEY_COLLISION) + $(ctl b show crypto flight-recorder peer 192.0.2.1 | grep -c REKEY_COLLISION) ))
	echo "MEASURE $label: $c rekey collisions seen"
	[ "$label" != collisions ] || check "collisions: simultaneous rekeys happened ($c) and were resolved" [ "$c" -ge 1 ]
	echo "MEASURE $label: $n CHILD_SA rekeys on A in $DUR s, loss $(lost "$label")%, longest gap $(max_gap "$label") ms"
	check "$label: CHILD_SAs rekeyed ($n)" [ "$n" -ge $(( DUR >= 60 ? 2 : 1 )) ]
	check "$label: no ping lost across rekeys ($(nlost "$label"))" [ "$(nlost "$label")" = 0 ]
	check "$label: SAs match pairwise afterwards" wait_for 10 in_sync
	check "$label: one IKE SA each side" bash -c "[ \$('$INSYNCCTL' -S $T_DIR/a.sock show crypto ikev2 sa | grep -c READY) = 1 ] && [ \$('$INSYNCCTL' -S $T_DIR/b.sock show crypto ikev2 sa | grep -c READY) = 1 ]"
	# A rekeyed CHILD_SA came from a CREATE_CHILD_SA with KE (set pfs group19).
	check "$label: show crypto ipsec sa reports PFS group19" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto ipsec sa | grep -q 'PFS (Y/N): Y, DH group: group19'"
	kill "$PID_a" "$PID_b"; wait "$PID_a" "$PID_b" 2>/dev/null
	check "$label: no sanitizer reports" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' $T_DIR/a.log $T_DIR/b.log"
	rm -f "$T_DIR/a.sock" "$T_DIR/b.sock"; mv "$T_DIR/a.log" "$T_DIR/$label-a.log"; mv "$T_DIR/b.log" "$T_DIR/$label-b.log"
}

run_pair jitter
INSYNC_REKEY_JITTER=0 run_pair collisions

# insync <-> strongSwan: strongSwan rekeys its CHILD_SA every 15 s and its IKE
# SA every 40 s; insync rekeys on its own (scaled) schedule too.
SW=$ROOT/examples/strongswan-site-b
sed -e 's/^        dpd_delay = 10s/        dpd_delay = 10s\n        rekey_time = 40s/' \
    -e 's/^                start_action = none/                start_action = none\n                rekey_time = 15s\n                life_time = 20s/' \
    "$SW/swanctl.conf" >"$T_DIR/swanctl-rekey.conf"
sw_start "$B" b "$SW/strongswan.conf" "$T_DIR/swanctl-rekey.conf" || fail "charon start"
INSYNC_TIME_SCALE=167 start_insyncd "$A" a "$T_DIR/site-a.conf" || exit 1
if wait_for 15 bash -c "ip netns exec $A ping -c1 -W1 -I 10.0.1.1 10.0.2.1"; then
	ping_start "$A" 10.0.1.1 10.0.2.1 strongswan
	sleep "$DUR"
	ping_stop strongswan
	n=$(rekeys a 192.0.2.2)
	echo "MEASURE strongswan: $n CHILD_SA rekeys on insync in $DUR s, loss $(lost strongswan)%, longest gap $(max_gap strongswan) ms"
	check "strongSwan: CHILD_SAs rekeyed ($n)" [ "$n" -ge $(( DUR >= 60 ? 2 : 1 )) ]
	check "strongSwan: no ping lost across rekeys ($(nlost strongswan))" [ "$(nlost strongswan)" = 0 ]
	sw b --list-sas >"$T_DIR/sw-sas.txt" 2>&1; ctl a show crypto ikev2 sa detail >"$T_DIR/a-sas.txt"
	check "strongSwan: one CHILD_SA installed on each side" wait_for 20 bash -c "[ \$(swanctl --list-sas --uri unix://$T_DIR/sw-b/charon.vici | grep -c 'lan:.*INSTALLED') = 1 ] && [ \$('$INSYNCCTL' -S $T_DIR/a.sock show crypto ikev2 sa detail | grep -c 'INSTALLED') = 1 ]"
else
	fail "strongSwan: tunnel up"
fi
kill "$PID_a"; wait "$PID_a" 2>/dev/null
check "strongSwan: no sanitizer reports" no_sanitizer_errors "$T_DIR/a.log"
sw_kill b
t_done
