#!/bin/bash
# insync <-> insync over IKEv2: site-a.conf and site-b.conf come up by
# themselves, carry ping both ways, rekey the CHILD_SA and the IKE SA without
# loss, and tear down cleanly with `clear crypto session`.
. "$(dirname "$0")/lib.sh"

A=$(ns_add a) || exit 1
B=$(ns_add b) || exit 1
veth_pair "$A" veth-a 192.0.2.1/24 "$B" veth-b 192.0.2.2/24
ip -n "$A" addr add 10.0.1.1/32 dev lo
ip -n "$B" addr add 10.0.2.1/32 dev lo

ping_ab() { ip netns exec "$A" ping -c 2 -i 0.2 -W 1 -I 10.0.1.1 10.0.2.1 >/dev/null; }
ping_ba() { ip netns exec "$B" ping -c 2 -i 0.2 -W 1 -I 10.0.2.1 10.0.1.1 >/dev/null; }
ready() { ctl "$1" show crypto ikev2 sa | grep -q READY; }
nsa() { ctl "$1" show crypto ikev2 sa | grep -c READY; }
spi_out() { ctl "$1" show crypto ikev2 sa detail | sed -n 's/.*Child sa: spi in 0x\([0-9A-F]*\) out 0x\([0-9A-F]*\), INSTALLED.*/\2/p' | head -1; }

export INSYNC_TEST_HOOKS=1
cp "$ROOT/examples/site-a.conf" "$T_DIR/a.conf"
start_insyncd "$A" a "$T_DIR/a.conf" || exit 1
start_insyncd "$B" b "$ROOT/examples/site-b.conf" || exit 1
check "A: IKE SA READY" wait_for 15 ready a
check "B: IKE SA READY" wait_for 5 ready b
check "ping A->B" wait_for 10 ping_ab
check "ping B->A" ping_ba
check "exactly one IKE SA on A" test "$(nsa a)" = 1
check "exactly one IKE SA on B" test "$(nsa b)" = 1
check "ESP counted on A" bash -c "'$INSYNCCTL' -S '$T_DIR/a.sock' show crypto ipsec sa | grep -Eq '#pkts [1-9]'"
# The first CHILD_SA comes from IKE_AUTH, which has no KE even with set pfs.
check "first CHILD_SA: no PFS" bash -c "'$INSYNCCTL' -S '$T_DIR/a.sock' show crypto ipsec sa | grep -q 'PFS (Y/N): N, DH group: none'"

# CHILD_SA rekey started by A, while a ping stream runs: no loss.
old=$(spi_out a)
ip netns exec "$A" ping -c 150 -i 0.01 -W 1 -I 10.0.1.1 10.0.2.1 >"$T_DIR/ping1" 2>&1 &
pp=$!
sleep 0.3
ctl a test crypto rekey child 0 >/dev/null
wait $pp
check "CHILD_SA rekeyed (new outbound SPI on A)" bash -c "[ -n \"$(spi_out a)\" ] && [ \"$(spi_out a)\" != '$old' ]"
check "no loss during CHILD_SA rekey" grep -q ' 0% packet loss' "$T_DIR/ping1"

# Reload: an unchanged tunnel keeps its SAs; a changed one is renegotiated.
before=$(spi_out a)
ctl a reload >/dev/null
sleep 0.5
check "reload, same config: the tunnel's SAs are left alone" [ "$(spi_out a)" = "$before" ]
sed -i 's/^ set security-association lifetime seconds 1800/ set security-association lifetime seconds 900/' "$T_DIR/a.conf"
ctl a reload >/dev/null
check "reload, changed ipsec profile: the tunnel is renegotiated" wait_for 10 bash -c "s=\$('$INSYNCCTL' -S $T_DIR/a.sock show crypto ikev2 sa detail | sed -n 's/.*INSTALLED.*age [0-9]*\/\([0-9]*\) sec/\1/p'); [ \"\$s\" = 900 ]"
check "reload, changed: traffic flows" wait_for 10 ping_ab
check "reload, changed: one IKE SA each side" wait_for 10 bash -c "[ \$('$INSYNCCTL' -S $T_DIR/a.sock show crypto ikev2 sa | grep -c READY) = 1 ] && [ \$('$INSYNCCTL' -S $T_DIR/b.sock show crypto ikev2 sa | grep -c READY) = 1 ]"

old_b=$(ike_spis b)
ctl a clear crypto session >/dev/null
check "clear crypto session: B's IKE SA is deleted" wait_for 10 ike_spi_gone b "$old_b"
check "traffic brings the tunnel back" wait_for 15 ping_ab

kill "$PID_a" "$PID_b"; wait "$PID_a" "$PID_b" 2>/dev/null
check "no sanitizer reports (A)" no_sanitizer_errors "$T_DIR/a.log"
check "no sanitizer reports (B)" no_sanitizer_errors "$T_DIR/b.log"
t_done
