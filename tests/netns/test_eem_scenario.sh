#!/bin/bash
# The invalid-SPI troubleshooting scenario of the EEM seed document, end to end,
# with examples/eem-hub.conf and examples/eem-spoke.conf:
#
#   hub (192.0.2.1) ==== IKEv2/ESP sVTI ==== spoke (192.0.2.2)
#          \                                   /
#           +------ rsyslogd (192.0.2.9) -----+   a real syslog host
#
# 1. The seed's conditional debugs run on both routers and go to the syslog
#    host (Debian's rsyslogd, imudp, writing a file in the test directory).
# 2. The hub loses its CHILD_SA without the spoke knowing (a DELETE lost on
#    the wire: the lab hook `test crypto drop-deletes`), so the spoke keeps
#    encrypting with SPIs the hub no longer has and the hub logs
#    %CRYPTO-4-RECVD_PKT_INV_SPI ... srcaddr=192.0.2.2, which is what the
#    command_hub applet's pattern waits for.
# 3. command_hub collects the four show commands into disk0:hub.txt, waits
#    18 s (real time: IKE and ESP must keep working meanwhile), runs
#    `undebug all` and traps the spoke; spoke_app stops the spoke's debugs.
#    `show debug` is then empty on both, as the seed's verification says.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

for t in rsyslogd python3 ping ss; do
	command -v "$t" >/dev/null || { fail "missing tool $t (scripts/deps.sh)"; exit 1; }
done
[ -x "$INSYNCD" ] && [ -x "$INSYNCCTL" ] || { fail "build insyncd and insyncctl first"; exit 1; }
# The fault is a lost DELETE, injected with the lab-only exec hook.
export INSYNC_TEST_HOOKS=1
T_START=$(date +%s)

SYSLOG_ADDR=192.0.2.9 SYSLOG_PORT=10514
# ns_add runs in a $(...) subshell, so its T_NS+= is lost there: record each
# namespace here, or lib.sh's exit trap would leave it behind.
HUB=$(ns_add hub) || exit 1
T_NS+=("$HUB")
SPK=$(ns_add spoke) || exit 1
T_NS+=("$SPK")
LAN=$(ns_add lan) || exit 1
T_NS+=("$LAN")
# One Ethernet segment (a bridge in the lan namespace): hub, spoke, and the
# syslog host on the bridge itself.
ip -n "$LAN" link add br0 type bridge || { fail "bridge"; exit 1; }
ip -n "$LAN" addr add "$SYSLOG_ADDR/24" dev br0
ip -n "$LAN" link set br0 up
ip link add vhub netns "$HUB" type veth peer name bhub netns "$LAN" || { fail "veth hub"; exit 1; }
ip link add vspk netns "$SPK" type veth peer name bspk netns "$LAN" || { fail "veth spoke"; exit 1; }
ip -n "$HUB" addr add 192.0.2.1/24 dev vhub
ip -n "$SPK" addr add 192.0.2.2/24 dev vspk
ip -n "$HUB" link set vhub up
ip -n "$SPK" link set vspk up
ip -n "$LAN" link set bhub up
ip -n "$LAN" link set bspk up
ip -n "$LAN" link set bhub master br0
ip -n "$LAN" link set bspk master br0
# The sites' inside networks (the configs route 10.0.1.0/24 and 10.0.2.0/24
# through Tunnel0).
ip -n "$HUB" addr add 10.0.1.1/32 dev lo
ip -n "$SPK" addr add 10.0.2.1/32 dev lo

# ---- the syslog host: rsyslogd in the foreground, UDP only, our own files ----
mkdir -p "$T_DIR/rsyslog"
SYSLOG=$T_DIR/syslog.txt
cat >"$T_DIR/rsyslog.conf" <<EOF
global(workDirectory="$T_DIR/rsyslog")
module(load="imudp")
input(type="imudp" address="$SYSLOG_ADDR" port="$SYSLOG_PORT")
template(name="lab" type="string"
         string="%fromhost-ip% %hostname% %syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg%\n")
*.* action(type="omfile" file="$SYSLOG" template="lab")
EOF
ip netns exec "$LAN" rsyslogd -n -f "$T_DIR/rsyslog.conf" -i "$T_DIR/rsyslog.pid" \
	>"$T_DIR/rsyslogd.log" 2>&1 &
T_PIDS+=("$!")
RSYSLOG_PID=$!
check "rsyslogd listens on udp $SYSLOG_ADDR:$SYSLOG_PORT" wait_for 10 bash -c \
	"ip netns exec $LAN ss -Hlun 'sport = :$SYSLOG_PORT' | grep -q ."

# ---- the configs: the examples plus the lab's syslog host ----
# The examples name no syslog host; the seed sends the debugs to one, so the
# copies gain `logging host` (on a port above 1023, as the rsyslogd here is
# configured like an unprivileged one) and `logging trap debugging` (as on
# IOS, debugs reach a syslog server only at that trap level). Nothing else changes. SNMP stays as
# written (`snmp-server manager` on 162, traps to 162): each daemon has a
# namespace of its own, so port 162 is free and neither
# INSYNC_SNMP_TRAP_PORT nor `snmp-server manager port N` is needed.
for side in hub spoke; do
	sed "/^logging buffered /a logging host $SYSLOG_ADDR transport udp port $SYSLOG_PORT\nlogging trap debugging" \
		"$ROOT/examples/eem-$side.conf" >"$T_DIR/eem-$side.conf"
done
check "config copies differ from the examples by the logging host and trap lines only" bash -c "
	for s in hub spoke; do
		[ \"\$(diff '$ROOT/examples/eem-'\$s.conf '$T_DIR/eem-'\$s.conf | grep '^[<>]' | tr '\n' '|')\" = \
		  '> logging host $SYSLOG_ADDR transport udp port $SYSLOG_PORT|> logging trap debugging|' ] || exit 1
	done"

start_insyncd "$HUB" hub "$T_DIR/eem-hub.conf" || { fail "hub daemon start"; exit 1; }
start_insyncd "$SPK" spoke "$T_DIR/eem-spoke.conf" || { fail "spoke daemon start"; exit 1; }
pass "hub and spoke start with eem-hub.conf and eem-spoke.conf"
check "no config errors (hub)" bash -c "! grep -qE 'PARSER-3|CONFIG_NOT_LOADED|FMPD_ERROR' '$T_DIR/hub.log'"
check "no config errors (spoke)" bash -c "! grep -qE 'PARSER-3|CONFIG_NOT_LOADED|FMPD_ERROR' '$T_DIR/spoke.log'"
check "command_hub registered" bash -c \
	"'$INSYNCCTL' -S '$T_DIR/hub.sock' show event manager policy registered | grep -q 'syslog .*command_hub'"
check "spoke_app registered" bash -c \
	"'$INSYNCCTL' -S '$T_DIR/spoke.sock' show event manager policy registered | grep -q 'snmp notification .*spoke_app'"

hub_ping() { ip netns exec "$HUB" ping -c1 -W1 -I 10.0.1.1 10.0.2.1 >/dev/null 2>&1; }
check "tunnel up" wait_for 20 hub_ping

# block NAME APPLET: the applet's entry in show event manager policy registered.
block() { ctl "$1" show event manager policy registered | awk -v a="$2" '$NF == a && $2 == "applet" {p = 1} p && /^$/ {exit} p'; }
# "in out" SPI pairs of the installed CHILD_SAs, as each side sees them.
pairs() { ctl "$1" show crypto ikev2 sa detail | sed -n 's/.*Child sa: spi in 0x\([0-9A-F]*\) out 0x\([0-9A-F]*\), INSTALLED.*/\1 \2/p' | sort; }
in_sync() { [ -n "$(pairs hub)" ] && [ "$(pairs hub)" = "$(pairs spoke | awk '{print $2, $1}' | sort)" ]; }
check "SAs in sync at start" wait_for 10 in_sync

# ---- 1. the seed's debugs, to the syslog host ----
ctl hub debug crypto condition peer ipv4 192.0.2.2 >/dev/null
ctl spoke debug crypto condition peer ipv4 192.0.2.1 >/dev/null
for side in hub spoke; do
	for cat in isakmp ipsec engine; do ctl "$side" debug crypto "$cat" >/dev/null; done
done
debug_on() { # debug_on NAME PEER: show debug lists the seed's three categories and the condition
	local s
	s=$(ctl "$1" show debugging)
	grep -q "Crypto ISAKMP debugging is on" <<<"$s" && grep -q "Crypto IPSEC debugging is on" <<<"$s" &&
		grep -q "Crypto Engine debugging is on" <<<"$s" &&
		grep -q "Crypto conditional debug currently is turned ON" <<<"$s" && grep -qx "$2" <<<"$s"
}
check "hub: show debug lists the seed's debugs and condition" debug_on hub 192.0.2.2
check "spoke: show debug lists the seed's debugs and condition" debug_on spoke 192.0.2.1
check "syslog host receives both routers (SYS-5-START)" bash -c \
	"grep -q '^192\.0\.2\.1 hub local7\.notice insyncd: *%SYS-5-START' '$SYSLOG' &&
	 grep -q '^192\.0\.2\.2 spoke local7\.notice insyncd: *%SYS-5-START' '$SYSLOG'"

# The seed's check that `| tee /append disk0:hub.txt` reaches the file.
out=$(ctl hub "show ip interface brief | tee /append disk0:hub.txt")
HUBTXT=$T_DIR/hub.data/hub.txt
check "sh ip int bri | tee /append disk0:hub.txt: printed" grep -q "Tunnel0" <<<"$out"
check "sh ip int bri | tee /append disk0:hub.txt: in the file" grep -q "Tunnel0" "$HUBTXT"
tee_lines=$(wc -l <"$HUBTXT")

# ---- 2. SAs out of sync: the hub drops its CHILD_SA, the DELETE is lost ----
old_pairs=$(pairs hub)
ping_start "$SPK" 10.0.2.1 10.0.1.1 fault
sleep 1
ctl hub test crypto drop-deletes 1 >/dev/null
ctl hub clear crypto sa >/dev/null
INV_RE='%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec.d IPSEC packet has invalid spi for destaddr=192\.0\.2\.1, prot=50, spi=0x[0-9A-F]+\([0-9]+\), srcaddr=192\.0\.2\.2, input interface='
check "hub logs %CRYPTO-4-RECVD_PKT_INV_SPI ... srcaddr=192.0.2.2" wait_for 10 grep -Eq "$INV_RE" "$T_DIR/hub.log"
# The applet's own pattern, applied to the line as logged.
pat=$(sed -n 's/^ event syslog pattern "\(.*\)"$/\1/p' "$ROOT/examples/eem-hub.conf")
inv_body=$(grep -Eo "$INV_RE.*" "$T_DIR/hub.log" | head -1)
check "the line matches command_hub's pattern ($pat)" grep -Eq "$pat" <<<"$inv_body"
check "the RECVD_PKT_INV_SPI line reached the syslog host" \
	grep -Eq "^192\.0\.2\.1 hub local7\.warning insyncd: *$INV_RE" "$SYSLOG"

# ---- 3. command_hub ----
RUN_LINE='%HA_EM-6-LOG: command_hub: command_hub is running \.\.\.'
DONE_HUB='%HA_EM-6-LOG: command_hub: DONE ON HUB'
RECV_SPK='%HA_EM-6-LOG: spoke_app: Received trap from Hub\.\.\.'
DONE_SPK='%HA_EM-6-LOG: spoke_app: DONE ON SPOKE'
check "hub logs $RUN_LINE" wait_for 5 grep -q "$RUN_LINE" "$T_DIR/hub.log"
check "the tunnel is repaired (SAs in sync, new pair)" wait_for 10 bash -c \
	"$(declare -f pairs in_sync ctl); INSYNCCTL='$INSYNCCTL' T_DIR='$T_DIR'; in_sync && [ \"\$(pairs hub)\" != '$old_pairs' ]"
ping_stop fault
echo "MEASURE spoke->hub 10 ms ping stream across the fault: longest gap $(max_gap fault) ms"

# The four show commands, appended to disk0:hub.txt by actions 3-6.
wait_for 5 grep -q "Interface: Tunnel0" "$HUBTXT"
body=$(tail -n +"$((tee_lines + 1))" "$HUBTXT")
check "hub.txt: show crypto sockets (action 3)" grep -q "Crypto Sockets" <<<"$body"
check "hub.txt: show crypto isa sa (action 4)" grep -Eq "^dst +src +state" <<<"$body"
check "hub.txt: show crypto isa sa lists the SA with the spoke" grep -Eq "^192\.0\.2\.2 +192\.0\.2\.1 " <<<"$body"
check "hub.txt: show crypto ipsec sa detail (action 5)" grep -q "interface: Tunnel0" <<<"$body"
check "hub.txt: ... detail's drop counters" grep -q "#pkts invalid sa (rcv)" <<<"$body"
check "hub.txt: show dmvpn detail (action 6): the spoke or an IOS-style error" \
	grep -Eq "^ +1 192\.0\.2\.2 |^% " <<<"$body"
check "hub.txt: the actions in the applet's order" bash -c "
	awk '/Crypto Sockets/ && !a {a=NR} /^dst +src +state/ && !b {b=NR} /interface: Tunnel0/ && !c {c=NR}
	     /Interface: Tunnel0|^% / && !d {d=NR} END {exit !(a && b > a && c > b && d > c)}' <<<\"\$0\"" "$body"

# During the 18-second wait: the applet is parked on a timer; ESP, IKE and
# the CLI go on, and both routers still debug.
sleep 2
check "during the wait: command_hub is running" bash -c \
	"$(declare -f block ctl); INSYNCCTL='$INSYNCCTL' T_DIR='$T_DIR'; block hub command_hub | grep -q ', running\$'"
check "during the wait: history shows the run as running" bash -c \
	"'$INSYNCCTL' -S '$T_DIR/hub.sock' show event manager history events | grep -q 'running .*syslog .*command_hub'"
check "during the wait: ping through the tunnel" bash -c \
	"ip netns exec '$HUB' ping -c 3 -i 0.2 -W 1 -I 10.0.1.1 10.0.2.1 | grep -q ' 0% packet loss'"
before=$(pairs hub)
check "during the wait: a CHILD_SA rekey (IKE) completes" bash -c \
	"'$INSYNCCTL' -S '$T_DIR/hub.sock' test crypto rekey child 0 >/dev/null"
check "during the wait: new SAs in sync" wait_for 5 bash -c \
	"$(declare -f pairs in_sync ctl); INSYNCCTL='$INSYNCCTL' T_DIR='$T_DIR'; in_sync && [ \"\$(pairs hub)\" != '$before' ]"
check "during the wait: ping through the rekeyed tunnel" bash -c \
	"ip netns exec '$HUB' ping -c 3 -i 0.2 -W 1 -I 10.0.1.1 10.0.2.1 | grep -q ' 0% packet loss'"
echo "--- hub# show debug (during the wait)"
ctl hub show debug | sed 's/^/    /'
check "during the wait: hub debugs still on" debug_on hub 192.0.2.2
check "during the wait: spoke debugs still on" debug_on spoke 192.0.2.1
check "during the wait: no DONE ON HUB yet" bash -c "! grep -q '$DONE_HUB' '$T_DIR/hub.log'"
check "during the wait: the spoke got no trap yet" bash -c "! grep -q '$RECV_SPK' '$T_DIR/spoke.log'"

# ---- 4. after the wait: undebug all, the trap, the spoke ----
check "hub logs $DONE_HUB" wait_for 30 grep -q "$DONE_HUB" "$T_DIR/hub.log"
check "spoke logs $RECV_SPK" wait_for 5 grep -q "$RECV_SPK" "$T_DIR/spoke.log"
check "spoke logs $DONE_SPK" wait_for 5 grep -q "$DONE_SPK" "$T_DIR/spoke.log"

# Times from the log lines' own stamps (*Mmm dd hh:mm:ss.mmm:), in ms of the day.
stamp_ms() { # stamp_ms FILE REGEX: the first matching line's time
	grep -m1 "$2" "$1" | sed -n 's/^\*[A-Z][a-z][a-z] *[0-9]* \([0-9]*\):\([0-9]*\):\([0-9]*\)\.\([0-9]*\): .*/\1 \2 \3 \4/p' |
		awk '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'
}
ms_run=$(stamp_ms "$T_DIR/hub.log" "$RUN_LINE")
ms_done=$(stamp_ms "$T_DIR/hub.log" "$DONE_HUB")
ms_recv=$(stamp_ms "$T_DIR/spoke.log" "$RECV_SPK")
ms_dspk=$(stamp_ms "$T_DIR/spoke.log" "$DONE_SPK")
elapsed() { echo $(( ( ${2:-0} - ${1:-0} + 86400000 ) % 86400000 )); }
echo "MEASURE command_hub: running -> DONE ON HUB $(elapsed "$ms_run" "$ms_done") ms;" \
	"running -> spoke's trap $(elapsed "$ms_run" "$ms_recv") ms; spoke: trap -> DONE $(elapsed "$ms_recv" "$ms_dspk") ms"
check "DONE ON HUB 18-20 s after 'is running' ($(elapsed "$ms_run" "$ms_done") ms)" \
	bash -c "d=$(elapsed "$ms_run" "$ms_done"); [ -n '$ms_done' ] && [ \$d -ge 18000 ] && [ \$d -lt 20000 ]"
check "the trap reached the spoke after the wait, within 2 s of DONE ON HUB" \
	bash -c "r=$(elapsed "$ms_run" "$ms_recv"); d=$(elapsed "$ms_done" "$ms_recv"); [ -n '$ms_recv' ] && [ \$r -ge 18000 ] && [ \$d -lt 2000 -o \$d -gt 86398000 ]"

check "hub: show debug is empty after undebug all" bash -c \
	"out=\$('$INSYNCCTL' -S '$T_DIR/hub.sock' show debug) && [ -z \"\$out\" ]"
check "spoke: show debug is empty after the trap" wait_for 5 bash -c \
	"out=\$('$INSYNCCTL' -S '$T_DIR/spoke.sock' show debug) && [ -z \"\$out\" ]"
check "spoke: SNMP manager on UDP 162 as configured" bash -c \
	"'$INSYNCCTL' -S '$T_DIR/spoke.sock' show snmp | grep -q 'SNMP manager enabled, listening on UDP port 162\$'"
check "hub: show snmp counts the trap sent" bash -c \
	"'$INSYNCCTL' -S '$T_DIR/hub.sock' show snmp | grep -q '^1 SNMP packets output'"
check "spoke: show snmp counts the notification delivered" bash -c \
	"'$INSYNCCTL' -S '$T_DIR/spoke.sock' show snmp | grep -Eq '^ *1 Notifications delivered'"
for side in hub spoke; do
	echo "--- $side# show event manager history events"
	ctl "$side" show event manager history events | sed 's/^/    /'
done
check "hub: history lists the command_hub run as success" bash -c \
	"'$INSYNCCTL' -S '$T_DIR/hub.sock' show event manager history events | grep -q 'success .*syslog .*applet: command_hub'"
check "spoke: history lists the spoke_app run as success" bash -c \
	"'$INSYNCCTL' -S '$T_DIR/spoke.sock' show event manager history events | grep -q 'success .*snmp notification .*applet: spoke_app'"
check "hub: command_hub ran once, completed, not aborted" bash -c \
	"$(declare -f block ctl); INSYNCCTL='$INSYNCCTL' T_DIR='$T_DIR'; block hub command_hub | grep -q ' run 1, skipped [0-9]*, completed 1, aborted 0\$'"
check "spoke: spoke_app triggered once, completed" bash -c \
	"$(declare -f block ctl); INSYNCCTL='$INSYNCCTL' T_DIR='$T_DIR'; block spoke spoke_app | grep -q 'triggered 1, run 1, skipped 0, completed 1, aborted 0\$'"
check "no applet errors (maxrun) on either side" bash -c \
	"! grep -q 'HA_EM-3-FMPD_ERROR' '$T_DIR/hub.log' '$T_DIR/spoke.log'"

# ---- the syslog host's record ----
sleep 0.5
dbg() { grep -c "^$1 [a-z]* local7\.debug insyncd:" "$SYSLOG"; }
echo "MEASURE syslog host: $(wc -l <"$SYSLOG") lines, debug lines: hub $(dbg 192\\.0\\.2\\.1), spoke $(dbg 192\\.0\\.2\\.2)"
check "syslog host got the hub's debug lines" [ "$(dbg '192\.0\.2\.1')" -gt 0 ]
check "syslog host got the spoke's debug lines" [ "$(dbg '192\.0\.2\.2')" -gt 0 ]
check "syslog host: hub debugs around the fault (isakmp/IKE, ipsec, engine)" bash -c "
	grep '^192\.0\.2\.1 hub local7\.debug' '$SYSLOG' | grep -q 'IKEv2' &&
	grep '^192\.0\.2\.1 hub local7\.debug' '$SYSLOG' | grep -q 'IPSEC' &&
	grep '^192\.0\.2\.1 hub local7\.debug' '$SYSLOG' | grep -q 'CRYPTO_ENGINE'"
# The seed's point: the debugs ran before the message, so the host holds what led to it.
check "syslog host: hub debug lines from before RECVD_PKT_INV_SPI" bash -c "
	awk '/^192\.0\.2\.1 hub local7\.debug/ && !d {d = NR} /RECVD_PKT_INV_SPI/ && !i {i = NR}
	     END {exit !(d && i && d < i)}' '$SYSLOG'"
check "syslog host: the applets' lines" bash -c "
	grep -q '^192\.0\.2\.1 hub local7\.info insyncd: *$RUN_LINE' '$SYSLOG' &&
	grep -q '^192\.0\.2\.1 hub local7\.info insyncd: *$DONE_HUB' '$SYSLOG' &&
	grep -q '^192\.0\.2\.2 spoke local7\.info insyncd: *$RECV_SPK' '$SYSLOG' &&
	grep -q '^192\.0\.2\.2 spoke local7\.info insyncd: *$DONE_SPK' '$SYSLOG'"
# Debugs stop with undebug all: a rekey now leaves no debug line on the host.
n_before=$(grep -c 'local7\.debug' "$SYSLOG")
before=$(pairs hub)
ctl hub test crypto rekey child 0 >/dev/null
check "after undebug all: a CHILD_SA rekey completes" wait_for 5 bash -c \
	"$(declare -f pairs in_sync ctl); INSYNCCTL='$INSYNCCTL' T_DIR='$T_DIR'; in_sync && [ \"\$(pairs hub)\" != '$before' ]"
sleep 0.5
check "after undebug all: a rekey sends no debug line to the syslog host" \
	[ "$(grep -c 'local7\.debug' "$SYSLOG")" = "$n_before" ]

# The condition narrows the debugs to the listed peer: with another peer
# listed, the spoke's rekey is not debugged; with the spoke listed, it is.
rekey_debug_lines() { # rekey_debug_lines: hub debug lines a CHILD_SA rekey sends to the host
	local n0 old
	n0=$(grep -c '^192\.0\.2\.1 hub local7\.debug' "$SYSLOG")
	old=$(pairs hub)
	ctl hub test crypto rekey child 0 >/dev/null
	wait_for 5 bash -c "$(declare -f pairs in_sync ctl); INSYNCCTL='$INSYNCCTL' T_DIR='$T_DIR'; in_sync && [ \"\$(pairs hub)\" != '$old' ]"
	sleep 0.5
	echo $(( $(grep -c '^192\.0\.2\.1 hub local7\.debug' "$SYSLOG") - n0 ))
}
ctl hub debug crypto condition peer ipv4 192.0.2.77 >/dev/null
ctl hub debug crypto ipsec >/dev/null
ctl hub debug crypto engine >/dev/null
n_other=$(rekey_debug_lines)
ctl hub undebug all >/dev/null
ctl hub debug crypto condition peer ipv4 192.0.2.2 >/dev/null
ctl hub debug crypto ipsec >/dev/null
ctl hub debug crypto engine >/dev/null
n_spoke=$(rekey_debug_lines)
ctl hub undebug all >/dev/null
check "condition peer 192.0.2.77: the spoke's rekey not debugged ($n_other lines)" [ "$n_other" = 0 ]
check "condition peer 192.0.2.2: the spoke's rekey debugged ($n_spoke lines)" [ "$n_spoke" -gt 0 ]

check "hub alive" bash -c "'$INSYNCCTL' -S '$T_DIR/hub.sock' show version >/dev/null"
check "spoke alive" bash -c "'$INSYNCCTL' -S '$T_DIR/spoke.sock' show version >/dev/null"
check "rsyslogd alive" kill -0 "$RSYSLOG_PID"
# Stop both daemons before reading their logs, so exit-time (leak) reports count.
# exited PID...: none of them runs any more (gone, or a zombie not yet reaped).
exited() {
	local p
	for p; do
		[ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && return 1
	done
	return 0
}
kill "$PID_hub" "$PID_spoke"
wait_for 10 exited "$PID_hub" "$PID_spoke" || kill -9 "$PID_hub" "$PID_spoke" 2>/dev/null
wait "$PID_hub" "$PID_spoke" 2>/dev/null
check "hub shut down cleanly" grep -q '%SYS-5-SHUTDOWN' "$T_DIR/hub.log"
check "spoke shut down cleanly" grep -q '%SYS-5-SHUTDOWN' "$T_DIR/spoke.log"
check "no sanitizer errors (hub)" no_sanitizer_errors "$T_DIR/hub.log"
check "no sanitizer errors (spoke)" no_sanitizer_errors "$T_DIR/spoke.log"
echo "MEASURE runtime $(( $(date +%s) - T_START )) s"
t_done
