# Shared helpers for the namespace tests. Source it; it sets a cleanup trap.
# Every namespace, process and file a test makes is recorded and removed on exit.
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
INSYNCD=$ROOT/$BUILD/insyncd
INSYNCCTL=$ROOT/$BUILD/insyncctl
T_PREFIX="ins$$"
T_DIR=$(mktemp -d /tmp/insync-t.XXXXXX)
T_NS=()
T_PIDS=()
T_FAILS=0

t_cleanup() {
	for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${T_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	# ns_add runs in $(...) subshells, so T_NS may miss names: also sweep our prefix.
	for n in "${T_NS[@]}" $(ip netns list 2>/dev/null | awk -v p="${T_PREFIX}-" 'index($1, p) == 1 {print $1}'); do
		ip netns del "$n" 2>/dev/null
	done
	[ -n "${T_KEEP:-}" ] || rm -rf "$T_DIR"
}
trap t_cleanup EXIT

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; T_FAILS=$((T_FAILS + 1)); }
check() { # check NAME CMD...
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
t_done() { [ "$T_FAILS" -eq 0 ]; }

# ns_add NAME: create a namespace with lo up; echoes the full name.
ns_add() {
	local n="${T_PREFIX}-$1"
	ip netns add "$n" || return 1
	T_NS+=("$n")
	ip -n "$n" link set lo up
	echo "$n"
}

# veth_pair NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" || return 1
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

# start_insyncd NS NAME CONF [extra args]: starts the daemon in the foreground,
# logs to $T_DIR/NAME.log; waits for its control socket.
start_insyncd() {
	local ns=$1 name=$2 conf=$3; shift 3
	mkdir -p "$T_DIR/$name.data"
	ip netns exec "$ns" "$INSYNCD" -F -f "$conf" -S "$T_DIR/$name.sock" -D "$T_DIR/$name.data" "$@" \
		>>"$T_DIR/$name.log" 2>&1 &
	local pid=$!
	T_PIDS+=("$pid")
	eval "PID_$name=$pid"
	for _ in $(seq 1 100); do
		[ -S "$T_DIR/$name.sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "insyncd $name did not start:"; cat "$T_DIR/$name.log"
	return 1
}

# ctl NAME WORDS...: run an exec command on daemon NAME.
ctl() {
	local name=$1; shift
	"$INSYNCCTL" -S "$T_DIR/$name.sock" "$@"
}

# ike_spis NAME: the local SPIs of NAME's IKE SAs, one per line. Traffic routed
# into a tunnel may bring a fresh SA up at once, so "was that SA deleted" is
# asked of an SPI, not of "no SA at all".
ike_spis() { ctl "$1" show crypto ikev2 sa detail | sed -n 's/.*Local spi: \([0-9A-F]*\).*/\1/p'; }
# ike_spi_gone NAME SPI: true when NAME no longer has the IKE SA with local SPI.
ike_spi_gone() { [ -n "$2" ] && ! ike_spis "$1" | grep -qx "$2"; }

# wait_for SECONDS CMD...: poll (every 100 ms) until CMD succeeds.
wait_for() {
	local secs=$1; shift
	local n=$((secs * 10))
	for _ in $(seq 1 "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# no_sanitizer_errors LOG: true when the log holds no ASan/UBSan/LSan report.
no_sanitizer_errors() {
	! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$1"
}
