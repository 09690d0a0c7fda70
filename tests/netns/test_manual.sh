#!/bin/bash
# ESP data plane with manual keys (examples/manual-a.conf, manual-b.conf):
#  - ping 10.0.1.1 <-> 10.0.2.1 through Tunnel0 over raw ESP, proven with
#    counters and a capture of IP protocol 50 (and no clear ICMP on the wire);
#    A's inbound SPI 0xFF0000A1 starts with 0xFF and must work;
#  - the same over ESP in UDP 4500 after a reload with `set udp-encapsulation`,
#    with the outbound sequence numbers going on under the unchanged key;
#  - invalid SPI: B sends with an SPI A does not know; A logs
#    %CRYPTO-4-RECVD_PKT_INV_SPI once per log interval, counts every packet,
#    and show crypto ipsec invalid-spi / show crypto datapath drops agree;
#    the same for UDP-encapsulated ESP (IN_TRANS_V4_IPSEC_PKT_NOT_FOUND_SPI);
#  - removing the tunnel in a reload removes the device and its route.
. "$(dirname "$0")/lib.sh"

command -v tcpdump >/dev/null || { echo "SKIP tcpdump missing"; exit 0; }
NA=$(ns_add a) || exit 1
NB=$(ns_add b) || exit 1
veth_pair "$NA" veth-a 192.0.2.1/24 "$NB" veth-b 192.0.2.2/24 || { fail "veth"; exit 1; }
ip -n "$NA" addr add 10.0.1.1/32 dev lo
ip -n "$NB" addr add 10.0.2.1/32 dev lo
for n in "$NA" "$NB"; do ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done

CA=$T_DIR/manual-a.conf CB=$T_DIR/manual-b.conf
cp "$ROOT/examples/manual-a.conf" "$CA"
cp "$ROOT/examples/manual-b.conf" "$CB"

start_insyncd "$NA" a "$CA" || { fail "start A"; exit 1; }
start_insyncd "$NB" b "$CB" || { fail "start B"; exit 1; }
pass "both daemons start"

tun_up() { ip -n "$1" link show Tunnel0 2>/dev/null | grep -q ',UP'; }
check "A: Tunnel0 exists and is up" wait_for 5 tun_up "$NA"
check "B: Tunnel0 exists and is up" wait_for 5 tun_up "$NB"
check "A: Tunnel0 has its address" bash -c "ip -n $NA -4 addr show Tunnel0 | grep -q '10.255.0.1/30'"
check "A: route 10.0.2.0/24 dev Tunnel0" bash -c "ip -n $NA route show 10.0.2.0/24 | grep -q 'dev Tunnel0'"
check "B: route 10.0.1.0/24 dev Tunnel0" bash -c "ip -n $NB route show 10.0.1.0/24 | grep -q 'dev Tunnel0'"
brief=$(ctl a show ip interface brief)
check "show ip interface brief lists Tunnel0 up/up" grep -qE '^Tunnel0 +10\.255\.0\.1 +YES manual up +up' <<<"$brief"

# capture NAME NS IF FILTER: tcpdump in the background, pcap in $T_DIR/NAME.pcap
capture() {
	ip netns exec "$2" timeout 30 tcpdump -n -U -i "$3" -w "$T_DIR/$1.pcap" "$4" >/dev/null 2>&1 &
	T_PIDS+=("$!")
	eval "CAP_$1=$!"
	sleep 1
}
stop_capture() { local p; eval "p=\$CAP_$1"; sleep 0.3; kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; }
pcount() { tcpdump -n -r "$T_DIR/$1.pcap" "${@:2}" 2>/dev/null | wc -l; }
# counter NAME REGEX: first number after REGEX in `show crypto ipsec sa`
sa_counter() { ctl "$1" show crypto ipsec sa | grep -oE "$2 [0-9]+" | head -1 | grep -oE '[0-9]+$'; }
drop_counter() { ctl "$1" show crypto datapath drops | awk -v c="$2" '$2 == c {print $3}'; }

# ---------------------------------------------------------------- raw ESP
capture raw "$NB" veth-b "ip proto 50 or icmp"
check "ping A->B over the tunnel (raw ESP)" ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 10.0.1.1 10.0.2.1
check "ping B->A over the tunnel (raw ESP)" ip netns exec "$NB" ping -c 3 -i 0.2 -W 2 -I 10.0.2.1 10.0.1.1
stop_capture raw
n_esp=$(pcount raw 'ip proto 50')
n_icmp=$(pcount raw icmp)
check "capture: >= 12 ESP packets on veth-b ($n_esp)" [ "$n_esp" -ge 12 ]
check "capture: no clear ICMP on veth-b ($n_icmp)" [ "$n_icmp" -eq 0 ]
check "capture: A->B uses SPI 0xb1" bash -c "tcpdump -n -r $T_DIR/raw.pcap 'src 192.0.2.1 and ip proto 50' 2>/dev/null | grep -q 'spi=0x000000b1'"
check "capture: B->A uses SPI 0xff0000a1" bash -c "tcpdump -n -r $T_DIR/raw.pcap 'src 192.0.2.2 and ip proto 50' 2>/dev/null | grep -q 'spi=0xff0000a1'"
sa=$(ctl a show crypto ipsec sa)
check "A: show crypto ipsec sa lists inbound 0xFF0000A1" grep -q 'spi: 0xFF0000A1(4278190241)' <<<"$sa"
check "A: show crypto ipsec sa lists outbound 0xB1" grep -q 'current outbound spi: 0xB1(177)' <<<"$sa"
check "A: transform esp-gcm 256" grep -q 'transform: esp-gcm 256' <<<"$sa"
enc=$(sa_counter a '#pkts encaps:'); dec=$(sa_counter a '#pkts decaps:')
check "A: #pkts encaps >= 6 ($enc)" [ "${enc:-0}" -ge 6 ]
check "A: #pkts decaps >= 6 ($dec) (0xFF.. SPI accepted)" [ "${dec:-0}" -ge 6 ]
ifs=$(ctl a show interfaces Tunnel0)
check "show interfaces Tunnel0: up/up" grep -q 'Tunnel0 is up, line protocol is up' <<<"$ifs"
check "show interfaces Tunnel0: packets input counted" grep -qE '^ +[1-9][0-9]* packets input' <<<"$ifs"
check "show interfaces Tunnel0: transport IP" grep -q 'Tunnel protocol/transport IPSEC/IP' <<<"$ifs"

# ---------------------------------------------------------------- ESP in UDP 4500
for c in "$CA" "$CB"; do sed -i 's/^ set transform-set TS$/ set transform-set TS\n set udp-encapsulation/' "$c"; done
check "A: reload with udp-encapsulation" ctl a reload
check "B: reload with udp-encapsulation" ctl b reload
ctl a clear crypto datapath counters >/dev/null
capture udp "$NB" veth-b "udp port 4500 or ip proto 50 or icmp"
check "ping A->B over the tunnel (UDP 4500)" ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 10.0.1.1 10.0.2.1
check "ping B->A over the tunnel (UDP 4500)" ip netns exec "$NB" ping -c 3 -i 0.2 -W 2 -I 10.0.2.1 10.0.1.1
stop_capture udp
n_udp=$(pcount udp 'udp src port 4500 and udp dst port 4500')
n_raw=$(pcount udp 'ip proto 50')
n_icmp=$(pcount udp icmp)
check "capture: >= 12 ESP-in-UDP packets ($n_udp)" [ "$n_udp" -ge 12 ]
check "capture: no raw ESP after the switch ($n_raw)" [ "$n_raw" -eq 0 ]
check "capture: no clear ICMP ($n_icmp)" [ "$n_icmp" -eq 0 ]
# Same keys on a new path: A's outbound SA goes on past its old sequence
# numbers instead of starting again at 1, which would repeat GCM nonces under
# the same key. A sent 6 pings and their replies before the switch.
seq1=$(tcpdump -n -r "$T_DIR/udp.pcap" 'src 192.0.2.1 and udp port 4500' 2>/dev/null | grep -o 'seq=0x[0-9a-f]*' | head -1 | cut -d= -f2)
check "capture: A's sequence goes on after the switch (first ${seq1:-none})" [ "$((${seq1:-0}))" -gt 6 ]
sa=$(ctl a show crypto ipsec sa)
check "A: SAs show UDP-Encaps" grep -q 'UDP-Encaps' <<<"$sa"
check "A: counters after clear count the UDP pings" [ "$(sa_counter a '#pkts decaps:')" -ge 6 ]
# A NAT keepalive (one 0xFF byte) is ignored and counted.
ip netns exec "$NB" python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1); s.bind(("192.0.2.2", 4501))
s.sendto(b"\xff", ("192.0.2.1", 4500))'
sleep 0.3
check "A: NAT keepalive counted" bash -c "$INSYNCCTL -S $T_DIR/a.sock show crypto datapath drops | grep -q 'NAT keepalives 1'"

# ---------------------------------------------------------------- invalid SPI
# B sends with SPI 0x1DB73BBB, which A does not know. Log interval 2 s on A.
inv_test() { # inv_test LABEL COUNTER_NAME
	local label=$1 cname=$2 lines n c
	ctl a clear crypto datapath counters >/dev/null
	ctl a clear logging >/dev/null
	ip netns exec "$NB" ping -c 5 -i 0.2 -W 1 -I 10.0.2.1 10.0.1.1 >/dev/null 2>&1
	sleep 0.3
	lines=$(ctl a show logging | grep -c 'RECVD_PKT_INV_SPI')
	check "$label: A logs the invalid SPI once in the interval ($lines)" [ "$lines" -eq 1 ]
	check "$label: exact log line" bash -c "$INSYNCCTL -S $T_DIR/a.sock show logging | grep -qF \"%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid spi for destaddr=192.0.2.1, prot=50, spi=0x1DB73BBB(498547643), srcaddr=192.0.2.2, input interface=veth-a\""
	c=$(drop_counter a "$cname")
	check "$label: $cname counts every packet ($c)" [ "${c:-0}" -eq 5 ]
	n=$(ctl a show crypto ipsec invalid-spi | awk '$1 == "192.0.2.2" && $3 ~ /^0x1DB73BBB/ {print $5}')
	check "$label: show crypto ipsec invalid-spi counts the flow ($n)" [ "${n:-0}" -ge 5 ]
	sleep 2.2
	ip netns exec "$NB" ping -c 1 -W 1 -I 10.0.2.1 10.0.1.1 >/dev/null 2>&1
	sleep 0.3
	lines=$(ctl a show logging | grep -c 'RECVD_PKT_INV_SPI')
	check "$label: logged again after the interval ($lines)" [ "$lines" -eq 2 ]
}
sed -i 's/^\(crypto ipsec transform-set\)/crypto ipsec invalid-spi log-interval 2\n!\n\1/' "$CA"
check "A: reload with log-interval 2" ctl a reload
sed -i 's/set session-key outbound esp 0xFF0000A1/set session-key outbound esp 0x1DB73BBB/' "$CB"
check "B: reload with an SPI unknown to A" ctl b reload
inv_test "udp" IN_TRANS_V4_IPSEC_PKT_NOT_FOUND_SPI
ctl a show crypto ipsec invalid-spi | grep -q ' udp ' && pass "udp: flow marked udp" || fail "udp: flow marked udp"
ctl a clear crypto ipsec invalid-spi >/dev/null 2>&1
for c in "$CA" "$CB"; do sed -i '/^ set udp-encapsulation$/d' "$c"; done
ctl a reload >/dev/null; ctl b reload >/dev/null
sleep 2.2 # let the udp flow's interval pass; the raw flow is the same (src, dst, spi)
inv_test "raw" IN_US_V4_PKT_SA_NOT_FOUND_SPI

# ---------------------------------------------------------------- removal
sed -i '/^interface Tunnel0/,/^!/d; /^ip route .* Tunnel0/d' "$CA"
check "A: reload without Tunnel0" ctl a reload
gone() { ! ip -n "$NA" link show Tunnel0 >/dev/null 2>&1; }
check "A: Tunnel0 device removed" wait_for 3 gone
check "A: route removed" bash -c "! ip -n $NA route show 10.0.2.0/24 | grep -q ."
check "A: no SAs left" bash -c "! $INSYNCCTL -S $T_DIR/a.sock show crypto ipsec sa | grep -q 'spi:'"

kill "$PID_a" "$PID_b"
wait "$PID_a" "$PID_b" 2>/dev/null
check "no sanitizer reports (A)" no_sanitizer_errors "$T_DIR/a.log"
check "no sanitizer reports (B)" no_sanitizer_errors "$T_DIR/b.log"
t_done
