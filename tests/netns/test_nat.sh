#!/bin/bash
# Site A behind a real NAT (nftables masquerade in a router namespace): the
# tunnel comes up with NAT-T (ESP in UDP 4500) and carries ping both ways.
# With `crypto ikev2 nat keepalive 5`, A (behind the NAT) sends 1-byte 0xFF
# keepalives to B's port 4500 while idle, and B sends none.
#
#   A veth-a 198.51.100.1 -- 198.51.100.254 veth-ra  R  veth-rb 192.0.2.254 -- 192.0.2.2 veth-b B
#                                              (masquerade out of veth-rb)
. "$(dirname "$0")/lib.sh"

A=$(ns_add a) || exit 1
R=$(ns_add r) || exit 1
B=$(ns_add b) || exit 1
veth_pair "$A" veth-a 198.51.100.1/24 "$R" veth-ra 198.51.100.254/24
veth_pair "$R" veth-rb 192.0.2.254/24 "$B" veth-b 192.0.2.2/24
ip -n "$A" route add default via 198.51.100.254
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$R" nft -f - <<'NFT' || fail "router: nftables masquerade"
table ip nat {
	chain post { type nat hook postrouting priority 100; oifname "veth-rb" masquerade; }
}
NFT
ip -n "$A" addr add 10.0.1.1/32 dev lo
ip -n "$B" addr add 10.0.2.1/32 dev lo

# A keeps its identity (192.0.2.1) but sits at 198.51.100.1 behind the NAT; B
# knows it by the NAT's public address, 192.0.2.254.
sed -e 's/^ tunnel source 192.0.2.1$/ tunnel source 198.51.100.1/' \
    -e 's/^crypto ikev2 proposal PROP-GCM$/crypto ikev2 nat keepalive 5\ncrypto ikev2 proposal PROP-GCM/' \
    "$ROOT/examples/site-a.conf" >"$T_DIR/a.conf"
sed -e 's/^  address 192.0.2.1$/  address 192.0.2.254/' -e 's/^ tunnel destination 192.0.2.1$/ tunnel destination 192.0.2.254/' \
    -e 's/^crypto ikev2 proposal PROP-GCM$/crypto ikev2 nat keepalive 5\ncrypto ikev2 proposal PROP-GCM/' \
    "$ROOT/examples/site-b.conf" >"$T_DIR/b.conf"

ping_ab() { ip netns exec "$A" ping -c 2 -i 0.2 -W 1 -I 10.0.1.1 10.0.2.1 >/dev/null; }
ping_ba() { ip netns exec "$B" ping -c 2 -i 0.2 -W 1 -I 10.0.2.1 10.0.1.1 >/dev/null; }
ready() { ctl "$1" show crypto ikev2 sa | grep -q READY; }
natka() { ctl "$1" show crypto ikev2 stats | sed -n 's/^NAT keepalives sent: //p'; }

start_insyncd "$A" a "$T_DIR/a.conf" || exit 1
start_insyncd "$B" b "$T_DIR/b.conf" || exit 1
check "A: IKE SA READY through the NAT" wait_for 40 ready a
check "B: IKE SA READY" wait_for 10 ready b
check "ping A->B through the NAT" wait_for 10 ping_ab
check "ping B->A through the NAT" wait_for 10 ping_ba
check "A: ESP is UDP-encapsulated" bash -c "'$INSYNCCTL' -S '$T_DIR/a.sock' show crypto ikev2 sa detail | grep -q 'UDP-encapsulated'"
check "B: A's address is the NAT's" bash -c "'$INSYNCCTL' -S '$T_DIR/b.sock' show crypto ikev2 sa | grep -q '192.0.2.254'"

# Idle tunnel: keepalives from A every 5 s, or 10 s when some ESP went out in
# the previous interval (it refreshes the NAT mapping itself).
ctl a debug crypto ikev2 >/dev/null
ip netns exec "$B" timeout 30 tcpdump -l -n -i veth-b -c 2 'udp and src host 192.0.2.254 and src port 4500 and udp[4:2] = 9 and udp[8] = 0xff' \
	>"$T_DIR/ka.txt" 2>/dev/null &
tp=$!
T_PIDS+=("$tp")
wait "$tp"
n=$(grep -c '192.0.2.254.4500 > 192.0.2.2.4500' "$T_DIR/ka.txt")
echo "MEASURE NAT keepalives seen on B's link (2 awaited, 30 s at most): $n; counters: A $(natka a), B $(natka b)"
check "B's link sees A's 1-byte NAT keepalives ($n)" [ "$n" -ge 2 ]
check "A counts NAT keepalives sent ($(natka a))" [ "$(natka a)" -ge 2 ]
check "B (not behind a NAT) sends none ($(natka b))" [ "$(natka b)" = 0 ]
check "tunnel still up after the idle time" ping_ab
check "A's Tunnel0 has no IPv6 (nothing but IPv4 goes into the tunnel)" bash -c "[ -z \"\$(ip -n $A -6 addr show dev Tunnel0)\" ]"
kill "$PID_a" "$PID_b"; wait "$PID_a" "$PID_b" 2>/dev/null
check "no sanitizer reports" bash -c "! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' '$T_DIR/a.log' '$T_DIR/b.log'"
t_done
