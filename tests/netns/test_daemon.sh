#!/bin/bash
# Foundation integration test: insyncd in a fresh namespace with site-a.conf,
# driven with insyncctl: running config, debug, reload (good and broken),
# pipes to disk0:, garbage on the control socket, and a clean SIGTERM exit.
. "$(dirname "$0")/lib.sh"

NS=$(ns_add a) || exit 1
ip -n "$NS" addr add 192.0.2.1/24 dev lo
ip -n "$NS" addr add 10.0.1.1/32 dev lo
CONF=$T_DIR/site-a.conf
cp "$ROOT/examples/site-a.conf" "$CONF"

check "config check accepts site-a" "$INSYNCD" -n -f "$CONF"
printf 'hostname x\ncrypto ikev2 profile P\n lifetime 5\n' >"$T_DIR/bad.conf"
out=$("$INSYNCD" -n -f "$T_DIR/bad.conf" 2>&1); rc=$?
check "config check rejects bad file with exit 2" [ "$rc" = 2 ]
check "config check names FILE:LINE:COL" grep -q "bad.conf:3:" <<<"$out"

start_insyncd "$NS" a "$CONF" || { fail "daemon start"; exit 1; }
pass "daemon starts"

run=$(ctl a show running-config)
check "show running-config has hostname" grep -q '^hostname site-a' <<<"$run"
check "show running-config has the keyring" grep -q 'crypto ikev2 keyring KEYS' <<<"$run"
check "secrets are masked" bash -c "! grep -q insync-example-key <<<\"\$0\"" "$run"
check "unmasked shows secrets" bash -c "ctl() { \"$INSYNCCTL\" -S \"$T_DIR/a.sock\" \"\$@\"; }; ctl sh run unmasked | grep -q insync-example-key"
check "prefix: sh ver" ctl a sh ver
out=$(ctl a show crypto frobnicate); rc=$?
check "invalid command exits 1" [ "$rc" = 1 ]
check "invalid command has caret" grep -q "% Invalid input detected at '^' marker." <<<"$out"
# Commands on stdin: a line over the limit is refused whole, not cut in two.
out=$(python3 -c 'print("show " + "x" * 5000); print("show version")' | "$INSYNCCTL" -S "$T_DIR/a.sock" 2>&1)
check "stdin: an over-long line is refused" grep -q "Command line too long" <<<"$out"
check "stdin: its tail is not run as a command" bash -c "[ \$(grep -c 'Invalid input' <<<"\$0") = 0 ]" "$out"
check "stdin: the next line runs" grep -q "insync" <<<"$out"

ctl a debug crypto isakmp >/dev/null
ctl a debug crypto ipsec >/dev/null
ctl a debug crypto condition peer ipv4 192.0.2.2 >/dev/null
dbg=$(ctl a show debug)
check "show debug lists isakmp" grep -q "Crypto ISAKMP debugging is on" <<<"$dbg"
check "show debug lists condition" grep -q "192.0.2.2" <<<"$dbg"
ctl a debug crypto condition peer ipv4 192.0.2.9 >/dev/null
check "no debug ... condition removes one" ctl a no debug crypto condition peer ipv4 192.0.2.2
dbg=$(ctl a show debug)
check "the other condition stays" grep -q "192.0.2.9" <<<"$dbg"
check "the removed one is gone" bash -c "! grep -q '192.0.2.2' <<<\"\$0\"" "$dbg"
out=$(ctl a undebug crypto condition peer ipv4 192.0.2.77); rc=$?
check "removing a condition that is not there fails" [ "$rc" = 1 ]
check "... and says so" grep -q "No debug condition for peer 192.0.2.77" <<<"$out"
ctl a no debug crypto isakmp >/dev/null
ctl a no debug crypto ipsec >/dev/null
check "show debug lists conditions alone" grep -q "192.0.2.9" <<<"$(ctl a show debug)"
ctl a undebug all >/dev/null
check "undebug all clears show debug" [ -z "$(ctl a show debug)" ]

# Pipes to disk0:
ctl a show running-config "|" redirect disk0:run.txt >/dev/null
check "redirect writes disk0 file" grep -q '^hostname site-a' "$T_DIR/a.data/run.txt"
ctl a show ip interface brief "|" append disk0:run.txt >/dev/null
ctl a show version "|" tee /append disk0:run.txt >/dev/null
check "tee /append adds to the file" grep -q 'insync IPsec VPN daemon' "$T_DIR/a.data/run.txt"
ctl a show running-config "|" redirect disk0:../escape >/dev/null
check "disk0 path cannot escape" [ ! -e "$T_DIR/escape" ]

# A broken reload changes nothing and exits 2.
before=$(ctl a show running-config)
cp "$CONF" "$CONF.good"
sed -i 's/^hostname site-a/hostname site-z/; s/^ lifetime 3600/ lifetime 99999999/' "$CONF"
out=$(ctl a reload); rc=$?
check "broken reload exits 2" [ "$rc" = 2 ]
check "broken reload prints FILE:LINE:COL" grep -q "site-a.conf:[0-9]*:[0-9]*:" <<<"$out"
check "running config unchanged after broken reload" [ "$(ctl a show running-config)" = "$before" ]
check "failed reload is logged" bash -c "\"$INSYNCCTL\" -S \"$T_DIR/a.sock\" show logging | grep -q CONFIG_NOT_LOADED"
# A good reload applies.
cp "$CONF.good" "$CONF"; sed -i 's/^hostname site-a/hostname site-r/' "$CONF"
check "good reload exits 0" ctl a reload
check "good reload applied" bash -c "\"$INSYNCCTL\" -S \"$T_DIR/a.sock\" show running-config | grep -q '^hostname site-r'"
# SIGHUP reloads too.
sed -i 's/^hostname site-r/hostname site-h/' "$CONF"
kill -HUP "$PID_a"
check "SIGHUP reloads" wait_for 5 bash -c "\"$INSYNCCTL\" -S \"$T_DIR/a.sock\" show running-config | grep -q '^hostname site-h'"
# A tunnel source the host does not have is accepted, and said.
sed -i 's/^ tunnel source 192.0.2.1$/ tunnel source 198.51.100.77/' "$CONF"
check "reload with a foreign tunnel source exits 0" ctl a reload
check "... and warns about it" bash -c "\"$INSYNCCTL\" -S \"$T_DIR/a.sock\" show logging | grep -q 'TUNNEL_SOURCE: Tunnel0: tunnel source 198.51.100.77 is not an address of this host'"
sed -i 's/^ tunnel source 198.51.100.77$/ tunnel source 192.0.2.1/' "$CONF"
ctl a reload >/dev/null

# Garbage and stalled clients on the control socket do not hurt the daemon.
python3 - "$T_DIR/a.sock" <<'PY'
import socket, sys, os
p = sys.argv[1]
for payload in [b"\xff\xff\xff\xff garbage", b"\x00\x00\x00\x00", os.urandom(5000), b"\x00\x00\x00\x05\x01sh"]:
    s = socket.socket(socket.AF_UNIX); s.connect(p); s.sendall(payload); s.close()
stalled = [socket.socket(socket.AF_UNIX) for _ in range(5)]
for s in stalled: s.connect(p)
PY
check "daemon answers after garbage" ctl a show version
out=$("$INSYNCCTL" -S "$T_DIR/nonexistent.sock" show version 2>&1); rc=$?
check "unreachable daemon exits 2" [ "$rc" = 2 ]

# Clean exit on SIGTERM: socket and pidfile gone, exit status 0.
kill -TERM "$PID_a"
wait "$PID_a"; rc=$?
check "SIGTERM exit status 0" [ "$rc" = 0 ]
check "socket removed" [ ! -e "$T_DIR/a.sock" ]
check "pidfile removed" [ ! -e "$T_DIR/a.sock.pid" ]
check "no sanitizer reports" no_sanitizer_errors "$T_DIR/a.log"
t_done
