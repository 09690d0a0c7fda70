#!/bin/bash
# Interop with a real strongSwan peer: insync runs examples/site-a.conf in one
# namespace, Debian's charon (kernel-libipsec, encap=yes) runs site B from
# examples/strongswan-site-b in the other. Covers insync as initiator and as
# responder, ping both ways, DELETE from either side, and both algorithm sets.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/strongswan.sh"

A=$(ns_add a) || exit 1
B=$(ns_add b) || exit 1
veth_pair "$A" veth-a 192.0.2.1/24 "$B" veth-b 192.0.2.2/24
ip -n "$A" addr add 10.0.1.1/32 dev lo
ip -n "$B" addr add 10.0.2.1/32 dev lo
SW=$ROOT/examples/strongswan-site-b

ping_ab() { ip netns exec "$A" ping -c 3 -i 0.2 -W 1 -I 10.0.1.1 10.0.2.1 >/dev/null; }
ping_ba() { ip netns exec "$B" ping -c 3 -i 0.2 -W 1 -I 10.0.2.1 10.0.1.1 >/dev/null; }
sw_child_up() { sw b --list-sas 2>/dev/null | grep -q 'lan:.*INSTALLED'; }
a_ready() { ctl a show crypto ikev2 sa | grep -q READY; }
a_has_child() { ctl a show crypto ipsec sa | grep -qi 'spi'; }

run_case() { # run_case LABEL SWANCTL_TEMPLATE INSYNC_CONF
	local label=$1 swconf=$2 conf=$3
	sw_start "$B" b "$SW/strongswan.conf" "$swconf" || { fail "$label: charon start"; return; }
	start_insyncd "$A" a "$conf" || { fail "$label: insyncd start"; return; }
	check "$label: insync initiates, IKE SA READY" wait_for 15 a_ready
	check "$label: strongSwan CHILD_SA installed" wait_for 10 sw_child_up
	check "$label: ping A->B through the tunnel" wait_for 10 ping_ab
	check "$label: ping B->A through the tunnel" ping_ba
	# Bulk TCP: insync cuts the kernel's TSO super-packets into segments and
	# merges what it receives (GRO); a foreign peer must see valid packets.
	ip netns exec "$B" iperf3 -s -1 -B 10.0.2.1 >/dev/null 2>&1 &
	local sp=$!
	sleep 0.3
	check "$label: TCP bulk A->B through strongSwan (segmentation valid)" bash -c "ip netns exec $A iperf3 -c 10.0.2.1 -B 10.0.1.1 -t 2 -f m | awk '/receiver/ && \$7 > 10 {ok=1} END {exit !ok}'"
	wait $sp 2>/dev/null
	ip netns exec "$A" iperf3 -s -1 -B 10.0.1.1 >/dev/null 2>&1 &
	sp=$!
	sleep 0.3
	check "$label: TCP bulk B->A through strongSwan (coalescing valid)" bash -c "ip netns exec $B iperf3 -c 10.0.1.1 -B 10.0.2.1 -t 2 -f m | awk '/receiver/ && \$7 > 10 {ok=1} END {exit !ok}'"
	wait $sp 2>/dev/null
	check "$label: super-packets were segmented" bash -c "\"$INSYNCCTL\" -S \"$T_DIR/a.sock\" show crypto datapath drops | grep -Eq 'super-packets segmented [1-9]'"
	check "$label: ESP counted on insync" bash -c "\"$INSYNCCTL\" -S \"$T_DIR/a.sock\" show crypto ipsec sa | grep -Eq 'pkts (encaps|decaps): [1-9]'"
	# DELETE started by insync: strongSwan drops its SAs.
	ctl a clear crypto session >/dev/null
	check "$label: clear crypto session deletes strongSwan's SAs" wait_for 10 bash -c "! swanctl --list-sas --uri unix://$T_DIR/sw-b/charon.vici | grep -q 'lan:.*INSTALLED'"
	# strongSwan as initiator (insync responds).
	sw b --initiate --child lan --timeout 15 >/dev/null 2>&1
	check "$label: insync as responder, IKE SA READY" wait_for 15 a_ready
	check "$label: ping B->A after strongSwan initiated" wait_for 10 ping_ba
	# DELETE started by strongSwan: insync drops its SAs.
	local old_a
	old_a=$(ike_spis a)
	sw b --terminate --ike site-b --timeout 10 >/dev/null 2>&1
	check "$label: swanctl --terminate deletes insync's IKE SA" wait_for 10 ike_spi_gone a "$old_a"
	kill "$PID_a"; wait "$PID_a" 2>/dev/null
	check "$label: no sanitizer reports" no_sanitizer_errors "$T_DIR/a.log"
	sw_kill b
	rm -f "$T_DIR/a.sock"
}

# Case 1: AES-GCM-256, ECP-256 (the examples as written).
run_case gcm-ecp256 "$SW/swanctl.conf" "$ROOT/examples/site-a.conf"

# Case 2: AES-CBC-256 + SHA-256 with MODP-2048.
sed -e 's/aes256gcm16-prfsha256-ecp256/aes256-sha256-prfsha256-modp2048/' \
    -e 's/esp_proposals = aes256gcm16-ecp256/esp_proposals = aes256-sha256-modp2048/' \
    "$SW/swanctl.conf" >"$T_DIR/swanctl-cbc.conf"
sed -e 's/^ encryption aes-gcm-256 aes-gcm-128/ encryption aes-cbc-256\n integrity sha256/' \
    -e 's/^ group 19 31 14/ group 14/' \
    -e 's/^crypto ipsec transform-set TS esp-gcm 256/crypto ipsec transform-set TS esp-aes 256 esp-sha256-hmac/' \
    -e 's/^ set pfs group19/ set pfs group14/' \
    "$ROOT/examples/site-a.conf" >"$T_DIR/site-a-cbc.conf"
run_case cbc-modp2048 "$T_DIR/swanctl-cbc.conf" "$T_DIR/site-a-cbc.conf"
t_done
