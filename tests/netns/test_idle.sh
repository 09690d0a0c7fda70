#!/bin/bash
# Idle timeout (crypto ipsec security-association idle-time, from the seeds):
# a CHILD_SA pair with no traffic for that long is deleted on both sides (with
# a DELETE), and the sVTI comes back on the next packet routed into it; that
# packet waits in a short queue while IKE works instead of being dropped.
# site-a/b set idle-time 120; INSYNC_TIME_SCALE=50 makes that 6 s.
. "$(dirname "$0")/lib.sh"
export INSYNC_TIME_SCALE=50

A=$(ns_add a) || exit 1
B=$(ns_add b) || exit 1
veth_pair "$A" veth-a 192.0.2.1/24 "$B" veth-b 192.0.2.2/24
ip -n "$A" addr add 10.0.1.1/32 dev lo
ip -n "$B" addr add 10.0.2.1/32 dev lo
children() { ctl "$1" show crypto ikev2 sa detail | grep -c 'Child sa:.*INSTALLED'; }

start_insyncd "$A" a "$ROOT/examples/site-a.conf" || exit 1
start_insyncd "$B" b "$ROOT/examples/site-b.conf" || exit 1
check "tunnel up" wait_for 15 bash -c "ip netns exec $A ping -c1 -W1 -I 10.0.1.1 10.0.2.1"
check "idle CHILD_SA deleted on A" wait_for 20 bash -c "[ \$('$INSYNCCTL' -S $T_DIR/a.sock show crypto ikev2 sa detail | grep -c 'Child sa:') = 0 ]"
check "and on B (DELETE received)" wait_for 5 bash -c "[ \$('$INSYNCCTL' -S $T_DIR/b.sock show crypto ikev2 sa detail | grep -c 'Child sa:') = 0 ]"
check "idle deletion logged" grep -q 'IPSEC_SA_IDLE' "$T_DIR/a.log" "$T_DIR/b.log"
check "the IKE SA stays up" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto ikev2 sa | grep -q READY"
# One ping, one try: it must be held while the CHILD_SA is renegotiated, then sent.
check "the first packet after idle gets through (held, not dropped)" ip netns exec "$A" ping -c 1 -W 3 -I 10.0.1.1 10.0.2.1
check "a new CHILD_SA pair is up" wait_for 5 bash -c "[ \$('$INSYNCCTL' -S $T_DIR/a.sock show crypto ikev2 sa detail | grep -c 'Child sa:.*INSTALLED') = 1 ]"
check "held packets counted" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show crypto datapath drops | grep -Eq 'Held while a tunnel had no SA: [1-9].*sent [1-9]'"
kill "$PID_a" "$PID_b"; wait "$PID_a" "$PID_b" 2>/dev/null
check "no sanitizer reports" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' $T_DIR/a.log $T_DIR/b.log"
t_done
