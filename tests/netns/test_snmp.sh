#!/bin/bash
# SNMP proven with net-snmp's own tools, in two namespaces joined by a veth:
#  - Debian's snmptrapd receives insync's cEventMgrPolicyEvent trap (sent by
#    `action snmp-trap`) and decodes its varbinds;
#  - a trap sent with the snmptrap CLI triggers an insync applet
#    (`event snmp-notification`), while a wrong community, a wrong source, a
#    wrong value and garbage datagrams trigger nothing.
. "$(dirname "$0")/lib.sh"

for t in snmptrapd snmptrap python3; do
	command -v "$t" >/dev/null || { fail "missing tool $t (scripts/deps.sh)"; exit 1; }
done
[ -x "$INSYNCD" ] && [ -x "$INSYNCCTL" ] || { fail "build insyncd and insyncctl first"; exit 1; }

# net-snmp: no MIBs (Debian ships none), numeric OIDs, state in our temp dir.
export MIBS= SNMP_PERSISTENT_DIR=$T_DIR/snmp
mkdir -p "$SNMP_PERSISTENT_DIR"
TRAPD_PORT=10162 MGR_PORT=10163

HUB=$(ns_add hub) || exit 1
SPK=$(ns_add spoke) || exit 1
veth_pair "$HUB" vhub 192.0.2.1/24 "$SPK" vspk 192.0.2.2/24 || { fail "veth"; exit 1; }
# A second address on the hub side: a source that is not src-ip-address.
ip -n "$HUB" addr add 192.0.2.3/24 dev vhub

# ---- 1. insync's trap, decoded by snmptrapd ----
cat >"$T_DIR/trapd.conf" <<EOF
disableAuthorization yes
EOF
ip netns exec "$SPK" snmptrapd -f -Lo -On -C -c "$T_DIR/trapd.conf" -m '' \
	"udp:192.0.2.2:$TRAPD_PORT" >"$T_DIR/trapd.log" 2>&1 &
T_PIDS+=("$!")

cat >"$T_DIR/hub.conf" <<EOF
hostname hub
logging buffered 65536 debugging
snmp-server enable traps event-manager
snmp-server host 192.0.2.2 version 2c public event-manager
event manager applet send_trap
 event none
 action 1.0 snmp-trap intdata1 2323232 intdata2 42 strdata "from hub"
 action 2.0 syslog msg "trap sent"
end
EOF
export INSYNC_SNMP_TRAP_PORT=$TRAPD_PORT
start_insyncd "$HUB" hub "$T_DIR/hub.conf" || { fail "hub daemon start"; exit 1; }
unset INSYNC_SNMP_TRAP_PORT
pass "hub daemon starts"
wait_for 5 grep -q "NET-SNMP version" "$T_DIR/trapd.log" || sleep 1

check "event manager run" ctl hub event manager run send_trap
check "snmptrapd received the trap" wait_for 5 grep -q "cEventMgr\|1\.3\.6\.1\.4\.1\.9\.10\.91\.2\.0\.1" "$T_DIR/trapd.log"
# snmptrapd prints the source on the record line and the varbinds on the next.
trap_line=$(grep -B1 "1\.3\.6\.1\.4\.1\.9\.10\.91\.2\.0\.1" "$T_DIR/trapd.log" | head -2 | tr "\n" " ")
check "trap comes from the hub" grep -q "\[192\.0\.2\.1\]" <<<"$trap_line"
check "snmpTrapOID is cEventMgrPolicyEvent" \
	grep -q "\.1\.3\.6\.1\.6\.3\.1\.1\.4\.1\.0 = OID: \.1\.3\.6\.1\.4\.1\.9\.10\.91\.2\.0\.1" <<<"$trap_line"
check "sysUpTime present" grep -q "\.1\.3\.6\.1\.2\.1\.1\.3\.0 = Timeticks:" <<<"$trap_line"
check "ceeHistoryPolicyIntData1 = 2323232" \
	grep -Eq "\.1\.3\.6\.1\.4\.1\.9\.10\.91\.1\.2\.3\.1\.9\.[0-9]+ = INTEGER: 2323232" <<<"$trap_line"
check "ceeHistoryPolicyIntData2 = 42" \
	grep -Eq "\.1\.3\.6\.1\.4\.1\.9\.10\.91\.1\.2\.3\.1\.10\.[0-9]+ = INTEGER: 42" <<<"$trap_line"
check "ceeHistoryPolicyStrData" \
	grep -Eq "\.1\.3\.6\.1\.4\.1\.9\.10\.91\.1\.2\.3\.1\.11\.[0-9]+ = STRING: \"from hub\"" <<<"$trap_line"
check "ceeHistoryPolicyName" \
	grep -Eq "\.1\.3\.6\.1\.4\.1\.9\.10\.91\.1\.2\.3\.1\.7\.[0-9]+ = STRING: \"send_trap\"" <<<"$trap_line"
check "applet went on after the trap" wait_for 5 bash -c \
	"\"$INSYNCCTL\" -S \"$T_DIR/hub.sock\" show logging | grep -q '%HA_EM-6-LOG: send_trap: trap sent'"
check "show snmp counts the trap" bash -c \
	"\"$INSYNCCTL\" -S \"$T_DIR/hub.sock\" show snmp | grep -q '^1 SNMP packets output'"

# ---- 2. snmptrap triggers an insync applet ----
cat >"$T_DIR/spoke.conf" <<EOF
hostname spoke
logging buffered 65536 debugging
snmp-server enable traps event-manager
snmp-server host 192.0.2.1 public event-manager
snmp-server host 192.0.2.3 public
snmp-server manager port $MGR_PORT
event manager applet spoke_app
 event snmp-notification oid 1.3.6.1.4.1.9.10.91.1.2.3.1.9. oid-val "2323232" op eq src-ip-address 192.0.2.1 maxrun 35
 action 1.0 syslog msg "Received trap from Hub..."
 action 4.0 syslog msg "DONE ON SPOKE"
end
EOF
start_insyncd "$SPK" spoke "$T_DIR/spoke.conf" || { fail "spoke daemon start"; exit 1; }
pass "spoke daemon starts"

send() { # send [snmptrap options...] VALUE
	local v=${!#}
	ip netns exec "$HUB" snmptrap -v 2c -m '' "${@:1:$#-1}" "192.0.2.2:$MGR_PORT" '' \
		1.3.6.1.4.1.9.10.91.2.0.1 1.3.6.1.4.1.9.10.91.1.2.3.1.9.5 i "$v"
}
counter() { # counter "TEXT": the number in front of TEXT in show snmp
	ctl spoke show snmp | awk -v t="$1" 'index($0, t) { print $1; exit }'
}
triggered() {
	ctl spoke show event manager policy registered | sed -n 's/.*triggered \([0-9]*\),.*/\1/p' | head -1
}

send -c private 2323232
check "wrong community is dropped" wait_for 5 bash -c "[ \"\$(\"$INSYNCCTL\" -S \"$T_DIR/spoke.sock\" show snmp | awk '/Unknown community/ {print \$1}')\" = 1 ]"
send -c public --clientaddr=192.0.2.3 2323232
check "other source delivered to EEM" wait_for 5 bash -c "[ \"\$(\"$INSYNCCTL\" -S \"$T_DIR/spoke.sock\" show snmp | awk '/Notifications delivered/ {print \$1}')\" = 1 ]"
send -c public 1111111
check "wrong value delivered to EEM" wait_for 5 bash -c "[ \"\$(\"$INSYNCCTL\" -S \"$T_DIR/spoke.sock\" show snmp | awk '/Notifications delivered/ {print \$1}')\" = 2 ]"
ip netns exec "$HUB" python3 - "$MGR_PORT" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.1", 0))
dst = ("192.0.2.2", int(sys.argv[1]))
for p in [b"", b"\x30", b"\x30\x80\x02\x01\x01\x00\x00", b"\x30\x05\x02\x01\x01\x04\x00",
          os.urandom(100), b"\x30\x82\xff\xff" + os.urandom(200), b"\x30" + os.urandom(3000)]:
    s.sendto(p, dst)
PY
check "garbage is counted as encoding errors" wait_for 5 bash -c "[ \"\$(\"$INSYNCCTL\" -S \"$T_DIR/spoke.sock\" show snmp | awk '/Encoding errors/ {print \$1}')\" -ge 6 ]"
check "nothing triggered so far" [ "$(triggered)" = 0 ]
log=$(ctl spoke show logging)
check "no applet output so far" bash -c "! grep -q 'HA_EM-6-LOG: spoke_app' <<<\"\$0\"" "$log"

send -c public 2323232
check "right trap triggers spoke_app" wait_for 5 bash -c \
	"\"$INSYNCCTL\" -S \"$T_DIR/spoke.sock\" show logging | grep -q '%HA_EM-6-LOG: spoke_app: Received trap from Hub...'"
check "spoke_app runs to the end" wait_for 5 bash -c \
	"\"$INSYNCCTL\" -S \"$T_DIR/spoke.sock\" show logging | grep -q '%HA_EM-6-LOG: spoke_app: DONE ON SPOKE'"
check "triggered once" [ "$(triggered)" = 1 ]
check "history shows success" bash -c \
	"\"$INSYNCCTL\" -S \"$T_DIR/spoke.sock\" show event manager history events | grep -q 'success.*spoke_app'"

# ---- 3. the hub's own trap reaches the spoke's manager (both insyncs) ----
cat >"$T_DIR/hub2.conf" <<EOF
hostname hub
logging buffered 65536 debugging
snmp-server enable traps event-manager
snmp-server host 192.0.2.2 public event-manager
event manager applet send_trap
 event none
 action 8.1 snmp-trap intdata1 2323232 strdata ""
end
EOF
cp "$T_DIR/hub2.conf" "$T_DIR/hub.conf"
kill "$PID_hub"
wait "$PID_hub" 2>/dev/null
rm -f "$T_DIR/hub.sock"
export INSYNC_SNMP_TRAP_PORT=$MGR_PORT
start_insyncd "$HUB" hub "$T_DIR/hub.conf" || { fail "hub daemon restart"; exit 1; }
unset INSYNC_SNMP_TRAP_PORT
ctl hub event manager run send_trap >/dev/null
check "insync v1 trap (IOS default version) triggers the spoke" wait_for 5 bash -c \
	"\"$INSYNCCTL\" -S \"$T_DIR/spoke.sock\" show event manager policy registered | grep -q 'triggered 2,'"

check "hub alive" ctl hub show version
check "spoke alive" ctl spoke show version
check "no sanitizer errors (hub)" no_sanitizer_errors "$T_DIR/hub.log"
check "no sanitizer errors (spoke)" no_sanitizer_errors "$T_DIR/spoke.log"
t_done
