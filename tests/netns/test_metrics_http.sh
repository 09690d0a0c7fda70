#!/bin/bash
# The Prometheus endpoint, read by a real parser (python3-prometheus-client):
# families for SAs, tunnels, drops and IKE are present and move with traffic;
# garbage, oversized and slow clients do not hurt the daemon; a reload to a
# port that cannot be bound keeps the old listener and says so.
# Debian's python3 (python3-prometheus-client): not a pyenv python that may come first in PATH.
. "$(dirname "$0")/lib.sh"
export INSYNC_TEST_HOOKS=1

A=$(ns_add a) || exit 1
B=$(ns_add b) || exit 1
veth_pair "$A" veth-a 192.0.2.1/24 "$B" veth-b 192.0.2.2/24
ip -n "$A" addr add 10.0.1.1/32 dev lo
ip -n "$B" addr add 10.0.2.1/32 dev lo
sed 's/^end$/metrics listen 127.0.0.1 9642\nend/' "$ROOT/examples/site-a.conf" >"$T_DIR/site-a.conf"
start_insyncd "$A" a "$T_DIR/site-a.conf" || exit 1
start_insyncd "$B" b "$ROOT/examples/site-b.conf" || exit 1
check "tunnel up" wait_for 15 bash -c "ip netns exec $A ping -c 3 -i 0.2 -W1 -I 10.0.1.1 10.0.2.1"
ctl a test crypto rekey child 0 >/dev/null
sleep 0.5
ip netns exec "$A" ping -c 3 -i 0.2 -W1 -I 10.0.1.1 10.0.2.1 >/dev/null

scrape() {
	ip netns exec "$A" /usr/bin/python3 - "$@" <<'PY'
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
body = urllib.request.urlopen("http://127.0.0.1:9642/metrics", timeout=5).read().decode()
fams = {f.name: f for f in text_string_to_metric_families(body)}
def val(name, **lab):
    hits = [s.value for f in fams.values() for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in lab.items())]
    return sum(hits) if hits else None
checks = {
    "sa_packets_in": (val("insync_sa_packets_total", direction="in") or 0) >= 3,
    "sa_packets_out": (val("insync_sa_packets_total", direction="out") or 0) >= 1,
    "tunnel_peer": (val("insync_tunnel_packets_total", peer="192.0.2.2", direction="out") or 0) >= 3,
    "drops_by_cause": val("insync_datapath_drops_total", cause="IN_US_V4_PKT_SA_NOT_FOUND_SPI") is not None,
    "ike_sas_up": val("insync_ike_sas", state="ESTABLISHED") == 1,
    "child_sas": (val("insync_child_sas") or 0) >= 1,
    "rekeys": (val("insync_rekeys_total", sa="child") or 0) >= 1,
    "ike_setup_latency": (val("insync_ike_setup_duration_seconds_count") or 0) >= 1,
    "invalid_spi_family": val("insync_invalid_spi_packets_total") is not None,
}
for k, ok in checks.items():
    print(("PASS" if ok else "FAIL") + " metrics: " + k)
PY
}
scrape
check "metrics parsed by prometheus_client" bash -c "ip netns exec $A /usr/bin/python3 -c 'import urllib.request; from prometheus_client.parser import text_string_to_metric_families as p; list(p(urllib.request.urlopen(\"http://127.0.0.1:9642/metrics\", timeout=5).read().decode()))'"

# Hostile clients: garbage, an oversized request, a client that never finishes.
ip netns exec "$A" python3 - <<'PY'
import socket, time
for payload in [b"\x00\xff" * 512 + b"\r\n\r\n", b"GET /" + b"A" * 100000 + b" HTTP/1.1\r\n\r\n", b"POST /metrics HTTP/1.1\r\n\r\n"]:
    s = socket.create_connection(("127.0.0.1", 9642), timeout=5)
    try:
        s.sendall(payload)
        s.recv(4096)
    except OSError:
        pass
    s.close()
slow = [socket.create_connection(("127.0.0.1", 9642), timeout=5) for _ in range(20)]
for s in slow:
    s.send(b"GET /met")
time.sleep(1)
PY
check "daemon answers after hostile HTTP clients" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show version >/dev/null"
check "metrics still served after hostile clients" bash -c "ip netns exec $A python3 -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:9642/metrics\", timeout=5).read()'"
check "tunnel still carries traffic" ip netns exec "$A" ping -c 2 -i 0.2 -W1 -I 10.0.1.1 10.0.2.1

# A reload to a port another program holds: the reply says not all of the
# config was applied, and metrics stay on the old port.
ip netns exec "$A" python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 9643)); s.listen(1); time.sleep(30)' &
T_PIDS+=("$!")
sleep 0.5
sed -i 's/^metrics listen 127.0.0.1 9642$/metrics listen 127.0.0.1 9643/' "$T_DIR/site-a.conf"
reply=$(ctl a reload)
check "reload to a busy port: reported as applied in part" grep -q 'not all of it could be applied' <<<"$reply"
check "reload to a busy port: logged" bash -c "'$INSYNCCTL' -S $T_DIR/a.sock show logging | grep -q 'METRICS_FAIL.*9643'"
check "reload to a busy port: metrics still served on the old port" bash -c "ip netns exec $A python3 -c 'import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:9642/metrics\", timeout=5).read()'"

kill "$PID_a" "$PID_b"; wait "$PID_a" "$PID_b" 2>/dev/null
check "no sanitizer reports" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' $T_DIR/a.log $T_DIR/b.log"
t_done
