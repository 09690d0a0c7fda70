#!/bin/bash
# insync benchmarks (`make bench`). It measures and prints; it never asserts.
#
#   1. throughput: iperf3 TCP, one stream, A->B, BENCH_TIME s, BENCH_RUNS times,
#      through (i) insync with manual keys (raw ESP, then ESP in UDP), (ii) insync keyed by IKEv2,
#      (iii) strongSwan charon (kernel-libipsec, ESP in UDP), (iv) wireguard-go,
#      (v) the bare veth; median and min-max, ratios insync/strongSwan and
#      insync/wireguard-go;
#   2. flood: raw ESP with random SPIs from a third namespace toward A
#      (build/bench/espflood), alone and while the manual-key tunnel carries
#      iperf3: packets/s sent, drops counted by insync, CPU, throughput
#      (BENCH_FLOOD_UDP=1: ESP in UDP 4500 at the tunnel in udp-encapsulation);
#   3. IKE setup rate: build/bench/ikeload opens BENCH_IKE_N IKE_SA+CHILD_SA
#      with distinct identities against one insyncd responder with a wildcard
#      keyring: setups/s, responder CPU, RSS per tunnel; again with X25519;
#   4. micro: the other bench/*.c programs (e.g. flightrec), as they are.
#
# Namespaces (created here, prefix bench<PID>, deleted on exit):
#   a: veth-a 192.0.2.1/24, veth-ac 203.0.113.1/24, lo 10.0.1.1/32
#   b: veth-b 192.0.2.2/24, lo 10.0.2.1/32
#   c: veth-c 203.0.113.2/24 (the flooder)
# iperf3 runs 10.0.1.1 -> 10.0.2.1 through every VPN, 192.0.2.1 -> 192.0.2.2 on
# the bare veth. IKE load: sources 10.64.0.0/16 (`local` route on lo in a).
#
# Environment: BENCH_RUNS=3 BENCH_TIME=10 BENCH_FLOOD_TIME=5 BENCH_FLOOD_PPS= BENCH_FLOOD_PROCS=1 BENCH_IKE_N=2000
#   BENCH_IKE_WINDOW=32 BENCH_IKE_BURST=256 BENCH_IKE_COOKIE=64 BENCH_PARTS="tput flood ike micro" (any subset; "ikescale"
#   is not in the default set: BENCH_SCALE_N=100000 tunnels against one responder,
#   VmRSS at 10,000 and at the end)
#   BENCH_PATHS="manual manual-udp ike ike-udp strongswan wireguard veth" (throughput paths, any subset)
#   BENCH_OUT=DIR (default build/bench/results-YYYYmmdd-HHMMSS-PID)
#   BENCH_PERF=1: also record a perf profile of insyncd (needs perf)
#   BENCH_FLOOD_UDP=1: the flood is ESP in UDP 4500, beside the manual tunnel
#     switched to ESP in UDP (the deployment strongSwan interop uses)
# Needs root and scripts/deps.sh's packages; a missing tool skips its part.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../tests/netns/lib.sh"
. "$HERE/../tests/netns/strongswan.sh"
T_PREFIX="bench$$"
trap 'exit 130' INT TERM # run lib.sh's EXIT cleanup on ^C / kill too

RUNS=${BENCH_RUNS:-3}
BT=${BENCH_TIME:-10}
FT=${BENCH_FLOOD_TIME:-5}
FLOOD_PPS=${BENCH_FLOOD_PPS:-} # empty: as fast as espflood can send
FLOOD_PROCS=${BENCH_FLOOD_PROCS:-1} # flooders side by side (each at FLOOD_PPS if set)
FLOOD_UDP=${BENCH_FLOOD_UDP:-} # 1: flood ESP in UDP 4500 at the tunnel switched to udp-encapsulation
IKE_N=${BENCH_IKE_N:-2000}
[ "$IKE_N" -ge 1 ] 2>/dev/null && [ "$IKE_N" -le 16000 ] || { echo "bench: BENCH_IKE_N must be 1..16000"; exit 1; }
IKE_W=${BENCH_IKE_WINDOW:-32}
IKE_BURST=${BENCH_IKE_BURST:-256}
IKE_COOKIE=${BENCH_IKE_COOKIE:-} # the responder's cookie-challenge (empty: its default, 64)
SCALE_N=${BENCH_SCALE_N:-100000}
[ "$SCALE_N" -ge 10000 ] 2>/dev/null && [ "$SCALE_N" -le 500000 ] && [ $((SCALE_N % 10000)) = 0 ] ||
	{ echo "bench: BENCH_SCALE_N must be a multiple of 10000 in 10000..500000"; exit 1; }
in_range() { [ "$1" -ge "$2" ] 2>/dev/null && [ "$1" -le "$3" ]; } # bounds for every knob
[ -z "$FLOOD_PPS" ] || in_range "$FLOOD_PPS" 1000 10000000 || { echo "bench: BENCH_FLOOD_PPS 1000..10000000"; exit 1; }
case $FLOOD_UDP in "" | 1) ;; *) echo "bench: BENCH_FLOOD_UDP is 1 or unset"; exit 1 ;; esac
in_range "$FLOOD_PROCS" 1 8 || { echo "bench: BENCH_FLOOD_PROCS 1..8"; exit 1; }
in_range "$RUNS" 1 20 && in_range "$BT" 2 120 && in_range "$FT" 2 60 && in_range "$IKE_W" 1 1024 &&
	in_range "$IKE_BURST" 1 1024 && { [ -z "$IKE_COOKIE" ] || in_range "$IKE_COOKIE" 1 1000; } ||
	{ echo "bench: BENCH_RUNS 1..20, BENCH_TIME 2..120, BENCH_FLOOD_TIME 2..60, BENCH_IKE_WINDOW and BENCH_IKE_BURST 1..1024, BENCH_IKE_COOKIE 1..1000"; exit 1; }
PARTS=${BENCH_PARTS:-tput flood ike micro}
PATHS=${BENCH_PATHS:-manual manual-udp ike ike-udp strongswan wireguard veth}
OUT=${BENCH_OUT:-$ROOT/$BUILD/bench/results-$(date +%Y%m%d-%H%M%S)-$$}
RES=$OUT/results.tsv
ESPFLOOD=$ROOT/$BUILD/bench/espflood
IKELOAD=$ROOT/$BUILD/bench/ikeload
HZ=$(getconf CLK_TCK)
T0=$(date +%s)

[ "$(id -u)" = 0 ] || { echo "bench: must run as root"; exit 1; }
[ -x "$INSYNCD" ] || { echo "bench: $INSYNCD missing (run make)"; exit 1; }
command -v iperf3 >/dev/null || { echo "bench: iperf3 missing (run ./scripts/deps.sh)"; exit 1; }
mkdir -p "$OUT"
: >"$RES"
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
has_path() { has_part tput && case " $PATHS " in *" $1 "*) return 0 ;; esac; return 1; }
log() { printf '[bench %3ds] %s\n' $(($(date +%s) - T0)) "$*" >&2; }
# rec PART LABEL RUN KEY=VALUE...: one result line (report.py reads them)
rec() { local IFS=$'\t'; echo "$*" >>"$RES"; }

# stop_pid PID: TERM, wait up to 5 s, KILL; forget it (lib.sh's cleanup would kill it again).
stop_pid() {
	local p=$1 i keep=()
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	for i in "${T_PIDS[@]}"; do [ "$i" = "$p" ] || keep+=("$i"); done
	T_PIDS=("${keep[@]}")
}
ticks() { # utime+stime of processes (all threads), clock ticks
	local t=0 p
	for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done
	echo $t
}
# per-thread ticks of PID: "tid ticks" lines
thread_ticks() { for f in /proc/"$1"/task/*/stat; do awk '{print $1, $14+$15}' "$f" 2>/dev/null; done; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# perf_on: BENCH_PERF=1 and perf works. perf_rec NAME PID SECS: sample PID
# (cpu-clock, call graphs) and write the flat profile to $OUT/perf-NAME.txt.
perf_on() { [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; }
# perf_rec NAME PID|all SECS: profile one process, or the whole host (flooder and softirq included).
perf_rec() {
	local who=(-p "$2")
	[ "$2" = all ] && who=(-a)
	timeout $(($3 + 20)) perf record -e cpu-clock -F 999 -g "${who[@]}" -o "$OUT/perf-$1.data" -- sleep "$3" >/dev/null 2>&1
	{
		echo "by command (thread name):"
		perf report -i "$OUT/perf-$1.data" --no-children -g none --sort comm --stdio 2>/dev/null | grep -E '^ +[0-9]'
		echo "by object:"
		perf report -i "$OUT/perf-$1.data" --no-children -g none --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]'
		echo "top symbols:"
		perf report -i "$OUT/perf-$1.data" --no-children -g none --percent-limit 1 --sort dso,symbol --stdio 2>/dev/null |
			grep -E '^ +[0-9]' | sed 's/ *- *- *$//' | head -15
	} >"$OUT/perf-$1.txt"
}

# ---------------------------------------------------------------- namespaces
NA=$(ns_add a) && NB=$(ns_add b) && NC=$(ns_add c) || { echo "bench: cannot create namespaces"; exit 1; }
T_NS+=("$NA" "$NB" "$NC") # ns_add ran in subshells: register them here for the cleanup
veth_pair "$NA" veth-a 192.0.2.1/24 "$NB" veth-b 192.0.2.2/24 || exit 1
veth_pair "$NA" veth-ac 203.0.113.1/24 "$NC" veth-c 203.0.113.2/24 || exit 1
ip -n "$NA" addr add 10.0.1.1/32 dev lo
ip -n "$NB" addr add 10.0.2.1/32 dev lo
for n in "$NA" "$NB" "$NC"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done

# ---------------------------------------------------------------- iperf3
# iperf_run LABEL SERVER BIND RUN [PIDS...]: one TCP test A->B; records Mbit/s
# and the CPU (cores) the given VPN processes used during it.
iperf_run() {
	local label=$1 srv=$2 bind=$3 run=$4 spid i c0 c1 js=$OUT/iperf-$1-$4.json
	shift 4
	ip netns exec "$NB" iperf3 -s -1 -B "$srv" -p 5201 >"$OUT/iperf-server-$label-$run.log" 2>&1 &
	spid=$!
	T_PIDS+=("$spid")
	for i in $(seq 50); do
		ip netns exec "$NB" ss -Hltn "sport = :5201" | grep -q . && break
		sleep 0.1
	done
	c0=$(ticks "$@")
	timeout $((BT + 20)) ip netns exec "$NA" iperf3 -c "$srv" -B "$bind" -p 5201 -t "$BT" -J >"$js" 2>&1
	c1=$(ticks "$@")
	stop_pid "$spid"
	python3 - "$js" "$((c1 - c0))" "$HZ" "$label" "$run" "$#" <<'EOF' >>"$RES"
import json, sys
f, ticks, hz, label, run, npids = sys.argv[1:7]
try:
    d = json.load(open(f)); e = d["end"]
    mbps = e["sum_received"]["bits_per_second"] / 1e6
    secs = e["sum_received"]["seconds"]
    rtx = e["sum_sent"].get("retransmits", 0)
    cpu = int(ticks) / int(hz) / secs if int(npids) and secs else -1
    print("tput\t%s\t%s\tmbps=%.1f\tcpu=%.2f\tretrans=%s" % (label, run, mbps, cpu, rtx))
except Exception as ex:
    print("tput\t%s\t%s\tmbps=0\tcpu=-1\terror=%s" % (label, run, str(ex).replace("\t", " ")))
EOF
	tail -1 "$RES" | cut -f2- >&2
}
iperf_runs() { local r; for r in $(seq "$RUNS"); do iperf_run "$1" "$2" "$3" "$r" "${@:4}"; done; }

# ---------------------------------------------------------------- insync
tun_up() { ip -n "$1" link show Tunnel0 2>/dev/null | grep -q ',UP'; }
ping_ab() { ip netns exec "$NA" ping -c 1 -W 1 -I 10.0.1.1 10.0.2.1 >/dev/null 2>&1; }
drop_counter() { ctl "$1" show crypto datapath drops | awk -v c="$2" '$2 == c {print $3}'; }

insync_manual_up() {
	cp "$ROOT/examples/manual-a.conf" "$T_DIR/manual-a.conf"
	cp "$ROOT/examples/manual-b.conf" "$T_DIR/manual-b.conf"
	start_insyncd "$NA" ma "$T_DIR/manual-a.conf" && start_insyncd "$NB" mb "$T_DIR/manual-b.conf" || return 1
	wait_for 5 tun_up "$NA" && wait_for 5 tun_up "$NB" && wait_for 5 ping_ab
}
insync_manual_down() { stop_pid "${PID_ma:-}"; stop_pid "${PID_mb:-}"; }

# The same manual tunnel switched to ESP in UDP 4500 (`set udp-encapsulation`,
# as strongSwan's kernel-libipsec must use): same encapsulation as (iii).
part_insync_manual_udp() {
	[ -n "${PID_ma:-}" ] && kill -0 "$PID_ma" 2>/dev/null || return 0
	log "insync, manual keys, ESP in UDP 4500 (set udp-encapsulation)"
	local c
	for c in "$T_DIR/manual-a.conf" "$T_DIR/manual-b.conf"; do
		sed -i 's/^ set transform-set TS$/ set transform-set TS\n set udp-encapsulation/' "$c"
	done
	if ctl ma reload >/dev/null && ctl mb reload >/dev/null && sleep 0.5 && wait_for 5 ping_ab &&
		ctl ma show crypto ipsec sa | grep -q UDP-Encaps; then
		iperf_runs insync-manual-udp 10.0.2.1 10.0.1.1 "$PID_ma" "$PID_mb"
		if perf_on; then
			log "perf: insyncd A and B, ESP in UDP, during one more iperf3 run"
			local p1 p2
			perf_rec udp-a "$PID_ma" $((BT - 2)) & p1=$!
			perf_rec udp-b "$PID_mb" $((BT - 2)) & p2=$!
			iperf_run insync-manual-udp-perf 10.0.2.1 10.0.1.1 1
			wait "$p1" "$p2"
		fi
	else
		log "insync manual tunnel with udp-encapsulation did not work"
		rec tput insync-manual-udp 0 mbps=0 cpu=-1 error=no-tunnel
	fi
}

part_insync_manual() {
	log "insync, manual keys (examples/manual-a.conf, manual-b.conf)"
	if ! insync_manual_up; then
		log "insync manual tunnel did not come up; see $T_DIR/ma.log"
		rec tput insync-manual 0 mbps=0 cpu=-1 error=no-tunnel
		return 1
	fi
	iperf_runs insync-manual 10.0.2.1 10.0.1.1 "$PID_ma" "$PID_mb"
	if perf_on; then
		log "perf: insyncd A (encrypt side) and B (decrypt side) during one more iperf3 run"
		local p1 p2
		perf_rec tput-a "$PID_ma" $((BT - 2)) & p1=$!
		perf_rec tput-b "$PID_mb" $((BT - 2)) & p2=$!
		iperf_run insync-manual-perf 10.0.2.1 10.0.1.1 1
		wait "$p1" "$p2"
	fi
}

ike_ready() { ctl "$1" show crypto ikev2 sa | grep -q READY; }
# part_insync_ike [udp]: the shipped site configs; with "udp", both ipsec
# profiles also get `set udp-encapsulation` (ESP in UDP 4500, GSO/GRO path).
part_insync_ike() {
	local label=insync-ike
	log "insync, IKEv2 (examples/site-a.conf, site-b.conf${1:+, set udp-encapsulation})"
	for s in a b; do
		if [ "${1:-}" = udp ]; then
			sed 's/^ set transform-set \(.*\)$/ set transform-set \1\n set udp-encapsulation/' \
				"$ROOT/examples/site-$s.conf" >"$T_DIR/site-$s.conf"
			label=insync-ike-udp
		else
			cp "$ROOT/examples/site-$s.conf" "$T_DIR/site-$s.conf"
		fi
	done
	if start_insyncd "$NA" ia "$T_DIR/site-a.conf" && start_insyncd "$NB" ib "$T_DIR/site-b.conf" &&
		wait_for 15 ike_ready ia && wait_for 10 ping_ab; then
		ctl ia show crypto ipsec sa | grep -E 'transform|spi:|UDP|encaps' | sort -u | head -6 >&2
		iperf_runs "$label" 10.0.2.1 10.0.1.1 "$PID_ia" "$PID_ib"
	else
		log "insync IKE tunnel did not come up; see $T_DIR/ia.log"
		rec tput "$label" 0 mbps=0 cpu=-1 error=no-tunnel
	fi
	stop_pid "${PID_ia:-}"
	stop_pid "${PID_ib:-}"
}

# ---------------------------------------------------------------- strongSwan
part_strongswan() {
	[ -x "$CHARON" ] && command -v swanctl >/dev/null || { log "SKIP strongSwan: charon/swanctl missing"; return 0; }
	[ -f /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] ||
		{ log "SKIP strongSwan: kernel-libipsec plugin missing"; return 0; }
	log "strongSwan charon, kernel-libipsec, ESP in UDP, AES-GCM-256"
	# Site B is examples/strongswan-site-b as shipped; site A mirrors it.
	cp "$ROOT/examples/strongswan-site-b/swanctl.conf" "$T_DIR/sw-b.swanctl"
	sed -e 's/site-b/site-a/; s/local_addrs = 192.0.2.2/local_addrs = 192.0.2.1/; s/remote_addrs = 192.0.2.1/remote_addrs = 192.0.2.2/' \
		-e '/local {/,/}/ s/id = 192.0.2.2/id = 192.0.2.1/' -e '/remote {/,/}/ s/id = 192.0.2.1/id = 192.0.2.2/' \
		-e 's|local_ts = 10.0.2.0/24|local_ts = 10.0.1.0/24|; s|remote_ts = 10.0.1.0/24|remote_ts = 10.0.2.0/24|' \
		"$ROOT/examples/strongswan-site-b/swanctl.conf" >"$T_DIR/sw-a.swanctl"
	sed 's/site-b {/bench {/' "$ROOT/examples/strongswan-site-b/strongswan.conf" >"$T_DIR/sw.conf"
	if sw_start "$NB" b "$T_DIR/sw.conf" "$T_DIR/sw-b.swanctl" && sw_start "$NA" a "$T_DIR/sw.conf" "$T_DIR/sw-a.swanctl" &&
		sw a --initiate --child lan --timeout 15 >"$T_DIR/sw-initiate.log" 2>&1 && wait_for 10 ping_ab; then
		sw a --list-sas 2>/dev/null | grep -E 'ESP|AES' | head -2 >&2
		iperf_runs strongswan 10.0.2.1 10.0.1.1 "$SWPID_a" "$SWPID_b"
	else
		log "strongSwan tunnel did not come up; see $T_DIR/sw-a/charon.log"
		rec tput strongswan 0 mbps=0 cpu=-1 error=no-tunnel
	fi
	stop_pid "${SWPID_a:-}"
	stop_pid "${SWPID_b:-}"
}

# ---------------------------------------------------------------- wireguard-go
# Each wireguard-go gets a private /run (its UAPI socket lives in /run/wireguard).
wg_ns() { # wg_ns a|b CMD...: run in that side's namespace with its private /run
	local n=$1; shift
	local ns; [ "$n" = a ] && ns=$NA || ns=$NB
	ip netns exec "$ns" unshare -m --propagation private sh -c 'mount --bind "$0/run" /run && exec "$@"' "$T_DIR/wg-$n" "$@"
}
part_wireguard() {
	command -v wireguard-go >/dev/null && command -v wg >/dev/null || { log "SKIP wireguard-go: not installed"; return 0; }
	log "wireguard-go (userspace, TUN)"
	local n i ok=1
	for n in a b; do
		mkdir -p "$T_DIR/wg-$n/run"
		(umask 077; wg genkey >"$T_DIR/wg-$n/key")
	done
	for n in a b; do
		local ns; [ "$n" = a ] && ns=$NA || ns=$NB
		ip netns exec "$ns" unshare -m --propagation private \
			sh -c 'mount --bind "$0/run" /run && exec wireguard-go -f "$1"' "$T_DIR/wg-$n" "wg$n" \
			>>"$T_DIR/wg-$n/wireguard-go.log" 2>&1 &
		eval "WGPID_$n=$!"
		T_PIDS+=("$!")
	done
	for n in a b; do
		for i in $(seq 50); do [ -S "$T_DIR/wg-$n/run/wireguard/wg$n.sock" ] && break; sleep 0.1; done
	done
	wg_ns a wg set wga listen-port 51820 private-key "$T_DIR/wg-a/key" \
		peer "$(wg pubkey <"$T_DIR/wg-b/key")" endpoint 192.0.2.2:51820 allowed-ips 10.0.2.0/24 || ok=0
	wg_ns b wg set wgb listen-port 51820 private-key "$T_DIR/wg-b/key" \
		peer "$(wg pubkey <"$T_DIR/wg-a/key")" endpoint 192.0.2.1:51820 allowed-ips 10.0.1.0/24 || ok=0
	ip -n "$NA" addr add 10.254.0.1/30 dev wga && ip -n "$NA" link set wga up &&
		ip -n "$NA" route add 10.0.2.0/24 dev wga || ok=0
	ip -n "$NB" addr add 10.254.0.2/30 dev wgb && ip -n "$NB" link set wgb up &&
		ip -n "$NB" route add 10.0.1.0/24 dev wgb || ok=0
	if [ $ok = 1 ] && wait_for 10 ping_ab; then
		iperf_runs wireguard-go 10.0.2.1 10.0.1.1 "$WGPID_a" "$WGPID_b"
	else
		log "wireguard-go tunnel did not come up; see $T_DIR/wg-a/wireguard-go.log"
		rec tput wireguard-go 0 mbps=0 cpu=-1 error=no-tunnel
	fi
	stop_pid "$WGPID_a"
	stop_pid "$WGPID_b"
}

part_veth() {
	log "bare veth (192.0.2.1 -> 192.0.2.2)"
	iperf_runs veth 192.0.2.2 192.0.2.1
}

# ---------------------------------------------------------------- flood
# Counters read around a flood: drops of raw IPPROTO_ESP (0x32) sockets in a,
# packets received on a's link to c, per-thread CPU of insyncd A.
# With BENCH_FLOOD_UDP=1 the flood is ESP in UDP to port 4500 (0x1194), and the
# socket counted is the data plane's UDP socket. A UDP socket counts its
# socket filter's drops as drops too, so the SPI filter's own are taken off.
raw_drops() {
	local tbl=raw port=0032 filt=0
	[ -n "$FLOOD_UDP" ] && tbl=udp port=1194 &&
		filt=$(ctl ma show crypto datapath drops | sed -n 's/^Kernel SPI filter: on;.* udp \([0-9]*\);.*/\1/p')
	ip netns exec "$NA" awk -v p=":$port\$" -v f="${filt:-0}" '$2 ~ p {d += $NF} END {print d - f}' "/proc/net/$tbl"
}
flood_tun() { echo "insync-manual${FLOOD_UDP:+-udp}"; } # label of the tunnel beside the flood
flood_cause() { [ -n "$FLOOD_UDP" ] && echo IN_TRANS_V4_IPSEC_PKT_NOT_FOUND_SPI || echo IN_US_V4_PKT_SA_NOT_FOUND_SPI; }
if_stat() { ip netns exec "$NA" cat "/sys/class/net/veth-ac/statistics/$1"; }
# host_ticks: busy and softirq jiffies of the whole machine (/proc/stat). A
# packet dropped by the kernel SPI filter costs softirq time in whatever
# context received it, which no insyncd thread is charged for.
host_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $8}' /proc/stat; }
host_split() { # host_split "BUSY SIRQ" "BUSY SIRQ" SECS
	awk -v b="$1" -v a="$2" -v s="$3" -v hz="$HZ" 'BEGIN {
		split(b, x, " "); split(a, y, " ")
		printf "cpu_host=%.2f\tcpu_sirq=%.2f\n", (y[1] - x[1]) / hz / s, (y[2] - x[2]) / hz / s }'
}
thread_split() { # thread_split PID BEFORE AFTER SECS: control-thread and other-thread cores
	python3 - "$@" "$HZ" <<'EOF'
import sys
pid, before, after, secs, hz = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
def parse(s):
    d = {}
    for line in s.strip().splitlines():
        t, v = line.split(); d[t] = int(v)
    return d
b, a = parse(before), parse(after)
ctl = (a.get(pid, 0) - b.get(pid, 0)) / hz / secs
oth = sum(v - b.get(t, 0) for t, v in a.items() if t != pid) / hz / secs
print("cpu_ctl=%.2f\tcpu_dp=%.2f" % (ctl, oth))
EOF
}

# flood_once LABEL RUN SECS WITH_IPERF
flood_once() {
	local label=$1 run=$2 secs=$3 with=$4 d0 d1 r0 r1 k0 k1 th0 th1 h0 h1 fpids=() fout=$OUT/flood-$1-$2
	d0=$(drop_counter ma "$(flood_cause)")
	r0=$(if_stat rx_packets); k0=$(raw_drops); th0=$(thread_ticks "$PID_ma"); h0=$(host_ticks)
	for f in $(seq "$FLOOD_PROCS"); do
		timeout $((secs + 10)) ip netns exec "$NC" "$ESPFLOOD" -d 203.0.113.1 -t "$secs" \
			${FLOOD_PPS:+-r "$FLOOD_PPS"} ${FLOOD_UDP:+-u 4500} >"$fout.$f.txt" 2>&1 &
		fpids+=($!)
		T_PIDS+=($!)
	done
	if [ "$with" = 1 ]; then
		sleep 1
		iperf_run "$(flood_tun)-flood" 10.0.2.1 10.0.1.1 "$run" "$PID_ma" "$PID_mb"
	fi
	wait "${fpids[@]}" 2>/dev/null
	h1=$(host_ticks)
	for f in "${fpids[@]}"; do stop_pid "$f"; done
	sleep 0.5 # let insync drain its socket
	d1=$(drop_counter ma "$(flood_cause)")
	r1=$(if_stat rx_packets); k1=$(raw_drops); th1=$(thread_ticks "$PID_ma")
	local sent pps split
	sent=$(cat "$fout".*.txt | sed -n 's/.*sent \([0-9]*\) packets.*/\1/p' | awk '{s += $1} END {print s + 0}')
	pps=$(cat "$fout".*.txt | sed -n 's/.* = \([0-9]*\) pps.*/\1/p' | awk '{s += $1} END {print s + 0}')
	split=$(thread_split "$PID_ma" "$th0" "$th1" "$secs")
	rec flood "$label" "$run" "secs=$secs" "sent=${sent:-0}" "sent_pps=${pps:-0}" "rx_if=$((r1 - r0))" \
		"sock_drops=$((k1 - k0))" "insync_drops=$(( ${d1:-0} - ${d0:-0} ))" $split \
		$(host_split "$h0" "$h1" "$secs")
	tail -1 "$RES" | cut -f2- >&2
}

part_flood() {
	[ -x "$ESPFLOOD" ] || { log "SKIP flood: $ESPFLOOD missing (run make)"; return 0; }
	[ -n "${PID_ma:-}" ] && kill -0 "$PID_ma" 2>/dev/null || { log "SKIP flood: no insync manual tunnel"; return 0; }
	log "flood: random-SPI ESP${FLOOD_UDP:+ in UDP 4500} from c toward a (203.0.113.1), ${FT} s alone"
	flood_once flood-only 1 "$FT" 0
	if perf_on; then
		log "perf: insyncd A during a flood"
		timeout $((FT + 10)) ip netns exec "$NC" "$ESPFLOOD" -d 203.0.113.1 -t "$FT" \
			${FLOOD_UDP:+-u 4500} >/dev/null 2>&1 &
		local fp=$!
		T_PIDS+=("$fp")
		perf_rec flood-a "$PID_ma" $((FT - 1)) &
		local pp=$!
		perf_rec flood-host all $((FT - 1))
		wait "$pp"
		wait "$fp" 2>/dev/null
		stop_pid "$fp"
	fi
	# Each flood run is paired with a run without flood just before it: the
	# host's speed drifts between minutes by more than the flood costs at a
	# low rate, so the share kept is read per pair as well as by medians.
	log "flood during iperf3 ($(flood_tun)), x$RUNS, each after a run without flood"
	local r
	for r in $(seq "$RUNS"); do
		iperf_run "$(flood_tun)-pair" 10.0.2.1 10.0.1.1 "$r" "$PID_ma" "$PID_mb"
		flood_once flood+iperf "$r" $((BT + 2)) 1
	done
	ctl ma show crypto ipsec invalid-spi 2>/dev/null | head -3 >"$OUT/invalid-spi-after-flood.txt"
	ctl ma show logging 2>/dev/null | grep -c RECVD_PKT_INV_SPI | sed 's/^/RECVD_PKT_INV_SPI log lines: /' >>"$OUT/invalid-spi-after-flood.txt"
	ctl ma show crypto datapath drops >"$OUT/drops-after-flood.txt" 2>&1
}

# ---------------------------------------------------------------- IKE setup rate
# The responder of the IKE parts: a wildcard keyring, so any source may connect.
responder_conf() {
	cat >"$T_DIR/responder.conf" <<'EOF'
hostname ike-responder
!
crypto ikev2 proposal P
 encryption aes-gcm-256
 prf sha256
 group 19 31
!
crypto ikev2 policy POL
 proposal P
!
crypto ikev2 keyring KR
 peer any
  address 0.0.0.0 0.0.0.0
  pre-shared-key insync-bench-psk-0123456789abcdef
 !
!
crypto ikev2 profile PROF
 match identity remote address 0.0.0.0 0.0.0.0
 identity local address 192.0.2.2
 authentication remote pre-share
 authentication local pre-share
 keyring local KR
!
crypto ipsec transform-set TS esp-gcm 256
 mode tunnel
!
crypto ipsec profile IPS
 set transform-set TS
 set ikev2-profile PROF
!
end
EOF
	[ -z "$IKE_COOKIE" ] || sed -i "s/^end\$/crypto ikev2 cookie-challenge $IKE_COOKIE\nend/" "$T_DIR/responder.conf"
}

cookies_sent() { ctl "$1" show crypto ikev2 stats | sed -n 's/.*cookies sent \([0-9]*\).*/\1/p'; }
# UDP datagrams the namespace dropped for a full socket receive buffer
udp_rcvbuf_errors() { ip netns exec "$1" awk '/^Udp:/ && n++ {print $6; exit}' /proc/net/snmp; }
# responder_up NAME PREFIX: start that responder in b as NAME, with PREFIX
# local in a (the loader's sources), pinned to CPU 1 (the loader takes CPU 0).
responder_up() {
	local pid
	responder_conf
	ip -n "$NA" route add local "$2" dev lo
	ip -n "$NB" route add "$2" via 192.0.2.1
	start_insyncd "$NB" "$1" "$T_DIR/responder.conf" || return 1
	eval "pid=\$PID_$1"
	taskset -a -p -c 1 "$pid" >/dev/null 2>&1
	sleep 1
}

part_ike() {
	[ -x "$IKELOAD" ] || { log "SKIP ike: $IKELOAD missing (run make)"; return 0; }
	log "IKE setup rate: $IKE_N IKE_SA+CHILD_SA from 10.64.0.0/16 against one insyncd (wildcard keyring)"
	responder_up r 10.64.0.0/16 || { rec ike responder 0 error=no-start; return 1; }
	local rss0 rss1 c0 c1 out nsa
	rss0=$(rss_kb "$PID_r")
	c0=$(ticks "$PID_r")
	out=$(timeout 120 ip netns exec "$NA" taskset -c 0 "$IKELOAD" -r 192.0.2.2 -s 10.64.0.1 -n "$IKE_N" -w "$IKE_W" -T 90 2>&1)
	c1=$(ticks "$PID_r")
	echo "$out" >"$OUT/ikeload.txt"
	echo "$out" >&2
	sleep 1
	rss1=$(rss_kb "$PID_r")
	# (show crypto ikev2 sa lists at most 4096 SAs; the stats line counts them all)
	nsa=$(ctl r show crypto ikev2 stats | sed -n 's/^IKEv2 SAs: \([0-9]*\).*CHILD_SAs: \([0-9]*\).*/\1_SAs_\2_CHILD_SAs/p')
	local ok secs rate
	ok=$(sed -n 's/.*established \([0-9]*\)\/.*/\1/p' <<<"$out")
	secs=$(sed -n 's/.* in \([0-9.]*\) s = .*/\1/p' <<<"$out")
	rate=$(sed -n 's/.* = \([0-9]*\) setups\/s.*/\1/p' <<<"$out")
	rec ike responder 1 "n=$IKE_N" "ok=${ok:-0}" "secs=${secs:-0}" "rate=${rate:-0}" \
		"resp_cpu_s=$(awk -v t=$((c1 - c0)) -v h="$HZ" 'BEGIN {printf "%.2f", t / h}')" \
		"rss0_kb=${rss0:-0}" "rss1_kb=${rss1:-0}" "sa_on_responder=$nsa" \
		"lat=$(sed -n 's/.*latency ms \(p50 [0-9]* p90 [0-9]* p99 [0-9]* max [0-9]*\).*/\1/p' <<<"$out" | tr ' ' _)"
	tail -1 "$RES" | cut -f2- >&2
	# N more (group 19) on top: the marginal memory per tunnel, without the
	# fixed costs the first tunnels pay (e.g. flight-recorder rings, 512 peers max).
	local rss2
	c0=$(ticks "$PID_r")
	out=$(timeout 120 ip netns exec "$NA" taskset -c 0 "$IKELOAD" -r 192.0.2.2 -s 10.64.64.1 -n "$IKE_N" -w "$IKE_W" -T 90 2>&1)
	c1=$(ticks "$PID_r")
	echo "$out" >"$OUT/ikeload-2.txt"
	echo "$out" >&2
	sleep 1
	rss2=$(rss_kb "$PID_r")
	rec ike responder-more 1 "n=$IKE_N" "ok=$(sed -n 's/.*established \([0-9]*\)\/.*/\1/p' <<<"$out")" \
		"secs=$(sed -n 's/.* in \([0-9.]*\) s = .*/\1/p' <<<"$out")" "rate=$(sed -n 's/.* = \([0-9]*\) setups\/s.*/\1/p' <<<"$out")" \
		"resp_cpu_s=$(awk -v t=$((c1 - c0)) -v h="$HZ" 'BEGIN {printf "%.2f", t / h}')" \
		"rss1_kb=${rss1:-0}" "rss2_kb=${rss2:-0}" \
		"sa_on_responder=$(ctl r show crypto ikev2 stats | sed -n 's/^IKEv2 SAs: \([0-9]*\).*CHILD_SAs: \([0-9]*\).*/\1_SAs_\2_CHILD_SAs/p')"
	tail -1 "$RES" | cut -f2- >&2
	# The same with X25519 (group 31), from another source range; rate and CPU only.
	c0=$(ticks "$PID_r")
	out=$(timeout 120 ip netns exec "$NA" taskset -c 0 "$IKELOAD" -r 192.0.2.2 -s 10.64.128.1 -n "$IKE_N" -w "$IKE_W" -g 31 -T 90 2>&1)
	c1=$(ticks "$PID_r")
	echo "$out" >"$OUT/ikeload-g31.txt"
	echo "$out" >&2
	rec ike responder-g31 1 "n=$IKE_N" "ok=$(sed -n 's/.*established \([0-9]*\)\/.*/\1/p' <<<"$out")" \
		"secs=$(sed -n 's/.* in \([0-9.]*\) s = .*/\1/p' <<<"$out")" "rate=$(sed -n 's/.* = \([0-9]*\) setups\/s.*/\1/p' <<<"$out")" \
		"resp_cpu_s=$(awk -v t=$((c1 - c0)) -v h="$HZ" 'BEGIN {printf "%.2f", t / h}')" \
		"lat=$(sed -n 's/.*latency ms \(p50 [0-9]* p90 [0-9]* p99 [0-9]* max [0-9]*\).*/\1/p' <<<"$out" | tr ' ' _)"
	tail -1 "$RES" | cut -f2- >&2
	# A burst: $IKE_BURST setups in flight (peers back after a reboot) keep more
	# than the cookie threshold (cookie-challenge, 64 unless BENCH_IKE_COOKIE)
	# half-open, so most setups take a COOKIE round trip first. X25519, from
	# 10.64.160.0/19 (at most 8,000 tunnels).
	local ck0 ck1 rb0 rb1 bn=$((IKE_N < 8000 ? IKE_N : 8000))
	ck0=$(cookies_sent r)
	rb0=$(udp_rcvbuf_errors "$NB")
	c0=$(ticks "$PID_r")
	out=$(timeout 120 ip netns exec "$NA" taskset -c 0 "$IKELOAD" -r 192.0.2.2 -s 10.64.160.1 -n "$bn" -w "$IKE_BURST" -g 31 -T 90 2>&1)
	c1=$(ticks "$PID_r")
	ck1=$(cookies_sent r)
	rb1=$(udp_rcvbuf_errors "$NB")
	echo "$out" >"$OUT/ikeload-burst.txt"
	echo "$out" >&2
	rec ike responder-burst 1 "n=$bn" "window=$IKE_BURST" "ok=$(sed -n 's/.*established \([0-9]*\)\/.*/\1/p' <<<"$out")" \
		"secs=$(sed -n 's/.* in \([0-9.]*\) s = .*/\1/p' <<<"$out")" "rate=$(sed -n 's/.* = \([0-9]*\) setups\/s.*/\1/p' <<<"$out")" \
		"resp_cpu_s=$(awk -v t=$((c1 - c0)) -v h="$HZ" 'BEGIN {printf "%.2f", t / h}')" \
		"cookie_challenge=${IKE_COOKIE:-64}" "cookies=$((ck1 - ck0))" "rcvbuf_errors=$((rb1 - rb0))" \
		"retransmits=$(sed -n 's/.*retransmits \([0-9]*\);.*/\1/p' <<<"$out")" \
		"lat=$(sed -n 's/.*latency ms \(p50 [0-9]* p90 [0-9]* p99 [0-9]* max [0-9]*\).*/\1/p' <<<"$out" | tr ' ' _)"
	tail -1 "$RES" | cut -f2- >&2
	if perf_on; then
		log "perf: the responder during another load from 10.64.192.0/18"
		timeout 90 ip netns exec "$NA" taskset -c 0 "$IKELOAD" -r 192.0.2.2 -s 10.64.192.1 -n "$IKE_N" -w "$IKE_W" -T 60 \
			>"$OUT/ikeload-perf.txt" 2>&1 &
		local lp=$!
		T_PIDS+=("$lp")
		perf_rec ike-responder "$PID_r" 2
		wait "$lp" 2>/dev/null
		stop_pid "$lp"
	fi
	# What one core of this machine does right now: ECDH derivations/s (the
	# floor of an IKE_SA_INIT), to read setups/s against on a shared VM.
	if command -v openssl >/dev/null; then
		local sp
		sp=$(timeout 30 taskset -c 1 openssl speed -seconds 1 ecdhp256 ecdhx25519 2>/dev/null)
		rec ike openssl-speed 1 "ecdh_p256=$(awk '/ecdh \(nistp256\)/ {print $NF}' <<<"$sp")" \
			"ecdh_x25519=$(awk '/ecdh \(X25519\)/ {print $NF}' <<<"$sp")"
		tail -1 "$RES" | cut -f2- >&2
	fi
	# Heap cost of the data-plane SAs a static tunnel adds (not created for dynamic peers).
	"$IKELOAD" -m "$IKE_N" >"$OUT/esp-sa-mem.txt" 2>&1
	cat "$OUT/esp-sa-mem.txt" >&2
	rec ike esp-sa-mem 1 "bytes_per_pair=$(sed -n 's/.* = \([0-9]*\) bytes per pair.*/\1/p' "$OUT/esp-sa-mem.txt")"
	stop_pid "$PID_r"
}

# ---------------------------------------------------------------- IKE scale
# Memory at scale: one responder takes BENCH_SCALE_N tunnels (group 19) in
# batches of 10,000 from 10.80.0.0/12; VmRSS after the first 10,000 and at the
# end. Rate is not the point here (the loader holds every engine it made).
part_ikescale() {
	[ -x "$IKELOAD" ] || { log "SKIP ikescale: $IKELOAD missing (run make)"; return 0; }
	local batch=10000 done=0 rss0 rss10 rssn first c0 c1 ok out nsa
	log "IKE scale: $SCALE_N tunnels in batches of $batch against one insyncd"
	responder_up s 10.80.0.0/12 || { rec ike scale 0 error=no-start; return 1; }
	rss0=$(rss_kb "$PID_s")
	c0=$(ticks "$PID_s")
	while [ "$done" -lt "$SCALE_N" ]; do
		# 10.80.0.0 + 1 + done, as a dotted quad
		first=$(( (10 << 24 | 80 << 16) + 1 + done ))
		first="$((first >> 24 & 255)).$((first >> 16 & 255)).$((first >> 8 & 255)).$((first & 255))"
		out=$(timeout 200 ip netns exec "$NA" taskset -c 0 "$IKELOAD" -r 192.0.2.2 -s "$first" -n "$batch" -w "$IKE_W" -T 180 2>&1)
		ok=$(sed -n 's/.*established \([0-9]*\)\/.*/\1/p' <<<"$out")
		echo "$out" >>"$OUT/ikescale.txt"
		[ "${ok:-0}" = "$batch" ] || { log "ikescale: batch at $first: ${ok:-0}/$batch established"; break; }
		done=$((done + batch))
		[ "$done" = "$batch" ] && { sleep 1; rss10=$(rss_kb "$PID_s"); }
	done
	c1=$(ticks "$PID_s")
	sleep 1
	rssn=$(rss_kb "$PID_s")
	nsa=$(ctl s show crypto ikev2 stats | sed -n 's/^IKEv2 SAs: \([0-9]*\).*CHILD_SAs: \([0-9]*\).*/\1_SAs_\2_CHILD_SAs/p')
	rec ike scale 1 "n=$SCALE_N" "ok=$done" "rss0_kb=${rss0:-0}" "rss10k_kb=${rss10:-0}" "rssn_kb=${rssn:-0}" \
		"resp_cpu_s=$(awk -v t=$((c1 - c0)) -v h="$HZ" 'BEGIN {printf "%.2f", t / h}')" "sa_on_responder=$nsa"
	tail -1 "$RES" | cut -f2- >&2
	stop_pid "$PID_s"
}

# ---------------------------------------------------------------- micro-benchmarks
# Other programs in bench/*.c that take no arguments (not the load generators).
part_micro() {
	local b
	for b in "$ROOT/$BUILD"/bench/*; do
		[ -f "$b" ] && [ -x "$b" ] || continue
		case $(basename "$b") in espflood | ikeload | results-*) continue ;; esac
		log "micro: $(basename "$b")"
		timeout 60 "$b" >"$OUT/micro-$(basename "$b").txt" 2>&1
		cat "$OUT/micro-$(basename "$b").txt" >&2
	done
}

# ---------------------------------------------------------------- main
{
	echo "date: $(date)"
	echo "host: $(nproc) CPUs, kernel $(uname -r), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
	echo "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "insync: $(git -C "$ROOT" describe --always --dirty 2>/dev/null)"
	for p in iperf3 strongswan-charon wireguard-go; do
		echo "$p: $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null)"
	done
	echo "settings: BENCH_RUNS=$RUNS BENCH_TIME=$BT BENCH_FLOOD_TIME=$FT BENCH_FLOOD_PPS=${FLOOD_PPS:-max} BENCH_FLOOD_PROCS=$FLOOD_PROCS BENCH_FLOOD_UDP=${FLOOD_UDP:-} BENCH_IKE_N=$IKE_N BENCH_IKE_WINDOW=$IKE_W BENCH_IKE_BURST=$IKE_BURST BENCH_IKE_COOKIE=${IKE_COOKIE:-64} BENCH_SCALE_N=$SCALE_N BENCH_PARTS='$PARTS' BENCH_PATHS='$PATHS'"
} | tee "$OUT/env.txt" >&2

if has_path manual || has_path manual-udp || has_part flood; then
	part_insync_manual
	if [ -n "$FLOOD_UDP" ]; then # the flood needs the tunnel in UDP first
		has_path manual-udp || has_part flood && part_insync_manual_udp
		has_part flood && part_flood
	else
		has_part flood && part_flood
		has_path manual-udp && part_insync_manual_udp
	fi
	insync_manual_down
fi
has_path ike && part_insync_ike
has_path ike-udp && part_insync_ike udp
has_path strongswan && part_strongswan
has_path wireguard && part_wireguard
has_path veth && part_veth
has_part ike && part_ike
has_part ikescale && part_ikescale
has_part micro && part_micro

echo "loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/env.txt" >&2
log "done; raw results in $OUT"
echo
python3 "$HERE/report.py" "$RES" "$OUT/env.txt" | tee "$OUT/report.md"
exit 0
