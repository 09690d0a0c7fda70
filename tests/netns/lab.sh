#!/bin/bash
# The fault-injection lab (`make lab`; not part of `make check`). It breaks
# tunnels the ways the seeds describe, insync<->insync and insync<->strongSwan,
# measures each outage in a 10 ms ping stream (both directions), checks that
# the SAs match pairwise afterwards, collects the key log lines and counters,
# prints a results table and writes it into docs/recovery.md.
#
#   LAB_SOAK_SECONDS=300   length of the (c) loss soak (both pairs soak at once)
#   LAB_ONLY="ii sw soak"  run only these groups (default: all three)
#   LAB_SOAK_PAIRS="1 2"   which pairs soak (1 insync<->insync, 2 insync<->strongSwan)
#   LAB_OUT=build/lab      results.md, details.md and every daemon log end up here
#   LAB_DOC=docs/recovery.md  document whose generated section is replaced; LAB_DOC= for none
#
# Topology: two independent copies (pair 1: insync<->insync, pair 2:
# insync<->strongSwan), each in three namespaces of its own:
#   A  insync site-a  veth-a 192.0.2.1/24  <->  veth-b 192.0.2.2/24  B  insync site-b | strongSwan
#   A  veth-ac 198.51.100.1/24  <->  veth-c 198.51.100.2/24  C  (no peer: floods, spoofing)
#   LANs 10.0.1.1/32 on A's lo, 10.0.2.1/32 on B's lo.
# Every loop is bounded; only PIDs this script started are signalled (lib.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
. "$(dirname "$0")/strongswan.sh"
export INSYNC_TEST_HOOKS=1
set -u

SOAK=${LAB_SOAK_SECONDS:-300}
ONLY=${LAB_ONLY:-ii sw soak}
OUT=${LAB_OUT:-$ROOT/$BUILD/lab}
DOC=${LAB_DOC-$ROOT/docs/recovery.md}
SW=$ROOT/examples/strongswan-site-b
LAB_T0=$(date +%s)
RES=$T_DIR/results.tsv
DET=$T_DIR/details.md
: >"$RES"
: >"$DET"

[ "$(id -u)" = 0 ] || { echo "lab: needs root (network namespaces)"; exit 1; }
[ -x "$INSYNCD" ] && [ -x "$INSYNCCTL" ] || { echo "lab: build first (make -j2)"; exit 1; }
# Run a private copy of the binaries: a rebuild during the run must not mix versions.
BIN_ID="$(sha256sum "$INSYNCD" | cut -c1-12), built $(date -u -r "$INSYNCD" '+%Y-%m-%d %H:%M UTC')"
mkdir -p "$T_DIR/bin" && cp "$INSYNCD" "$INSYNCCTL" "$T_DIR/bin/" || exit 1
INSYNCD=$T_DIR/bin/insyncd INSYNCCTL=$T_DIR/bin/insyncctl
# The source the binary was (most likely) built from: HEAD now, "+changes" if src/ differs.
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo "+changes")
[ -x "$CHARON" ] && command -v swanctl >/dev/null || { echo "lab: strongSwan missing (./scripts/deps.sh)"; exit 1; }
case "$SOAK" in '' | *[!0-9]*) echo "lab: LAB_SOAK_SECONDS must be a number"; exit 1 ;; esac
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
say() { printf '[lab %4ds] %s\n' $(($(date +%s) - LAB_T0)) "$*"; }

# ---------------------------------------------------------------- topology
# mk_pair P: namespaces NS_A$P, NS_B$P, NS_C$P wired as above.
mk_pair() {
	local p=$1 a b c
	a=$(ns_add "a$p") && b=$(ns_add "b$p") && c=$(ns_add "c$p") || return 1
	veth_pair "$a" veth-a 192.0.2.1/24 "$b" veth-b 192.0.2.2/24 || return 1
	veth_pair "$a" veth-ac 198.51.100.1/24 "$c" veth-c 198.51.100.2/24 || return 1
	ip -n "$c" route add 192.0.2.0/24 via 198.51.100.1
	ip netns exec "$a" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth-ac.rp_filter=0
	# No IPv6: the kernel's router solicitations on Tunnel0 are traffic into the
	# tunnel and would bring a missing CHILD_SA back by chance (routers send none).
	for n in "$a" "$b" "$c"; do
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	ip -n "$a" addr add 10.0.1.1/32 dev lo
	ip -n "$b" addr add 10.0.2.1/32 dev lo
	eval "NS_A$p=$a NS_B$p=$b NS_C$p=$c"
}

# Daemons: insync a1, b1 (pair 1) and a2 (pair 2); strongSwan s2 (pair 2).
# CONF_<name> is the config a daemon (re)starts with, NS_<name> its namespace.
start_d() { # start_d NAME: insyncd with its config, debugs on
	local n=$1 ns conf
	eval "ns=\$NS_$n conf=\$CONF_$n"
	rm -f "$T_DIR/$n.sock"
	start_insyncd "$ns" "$n" "$conf" || return 1
	ctl "$n" debug crypto ikev2 >/dev/null
	ctl "$n" debug crypto ipsec >/dev/null
}
kill_d() { # kill_d NAME: kill -9 an insyncd this script started
	local pid
	eval "pid=\$PID_$1"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$T_DIR/$1.sock" "$T_DIR/$1.sock.pid"
}
stop_d() {
	local pid
	eval "pid=\${PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$T_DIR/$1.sock"
}
start_sw() { sw_start "$NS_B2" s2 "$SW/strongswan.conf" "$SWCONF"; }

# ---------------------------------------------------------------- SA state
# "in out" pairs of INSTALLED CHILD_SAs (upper-case hex), as each side sees them.
ipairs() { ctl "$1" show crypto ikev2 sa detail 2>/dev/null |
	sed -n 's/.*Child sa: spi in 0x\([0-9A-F]*\) out 0x\([0-9A-F]*\), INSTALLED.*/\1 \2/p' | sort; }
swpairs() { sw "$1" --list-sas 2>/dev/null | awk '
	/^  [^ ].*: #[0-9]+, reqid/ { inst = ($0 ~ /INSTALLED/); next }
	inst && $1 == "in"  { i = toupper($2); sub(/,.*/, "", i) }
	inst && $1 == "out" { o = toupper($2); sub(/,.*/, "", o); print i, o; inst = 0 }' | sort; }
# B's pairs turned around, so that they read like A's.
bpairs_rev() {
	if [ "$1" = 1 ]; then ipairs b1; else swpairs s2; fi | awk '{ print $2, $1 }' | sort
}
in_sync() { local a; a=$(ipairs "a$1"); [ -n "$a" ] && [ "$a" = "$(bpairs_rev "$1")" ]; }
ike_a() { ctl "a$1" show crypto ikev2 sa 2>/dev/null | grep -c READY; }
ike_b() {
	if [ "$1" = 1 ]; then ctl b1 show crypto ikev2 sa 2>/dev/null | grep -c READY
	else sw s2 --list-sas 2>/dev/null | grep -c '^site-b: #.*ESTABLISHED'; fi
}

# ---------------------------------------------------------------- ping streams
# gap_in NAME T0 T1: "MS RUN": the outage, i.e. the longest gap between two
# replies in [T0, T1] with at least one request unanswered in between (a gap
# without a lost request is only the host scheduling ping late), counting from
# the last reply before T0; and the longest run of consecutive requests lost.
# MS gets a "+" when the stream had not come back by T1 (the gap runs to T1).
gap_in() {
	awk -v a="$2" -v b="$3" -F'[][]' '/bytes from/ { t = $2 + 0; s = $0; sub(/.*icmp_seq=/, "", s); s += 0
		if (t < a) { p = t; ps = s; next } if (t > b) next
		if (!p) { p = a; ps = s - 1 } if (s <= ps) next
		if (s - ps > 1) { if (t - p > m) m = t - p; if (s - ps - 1 > r) r = s - ps - 1 }
		p = t; ps = s }
		END { if (!p) p = a; tail = ""; if (b - p > m && b - p > 0.1) { m = b - p; tail = "+" }
		printf "%d%s %d\n", m * 1000, tail, r }' "$T_DIR/ping-$1"
}
# outage NAME T0 T1: "MS (N lost, R in a row)" for the table; N from ping's
# closing summary (the whole stream, 1 s before the fault to the end).
outage() {
	local g n
	g=$(gap_in "$@")
	n=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$T_DIR/ping-$1" | awk '{ print $1 - $2 }')
	echo "$g" | awk -v n="${n:-?}" '{ if ($1 ~ /\+$/) printf "%s (%s lost, not back)", $1, n
		else printf "%s (%s lost, %d in a row)", $1, n, $2 }'
}
last_reply() { tac "$T_DIR/ping-$1" 2>/dev/null | awk -F'[][]' '/bytes from/ { print $2; exit }'; }
flowing() { # flowing NAME...: every stream had a reply in the last 300 ms
	local now l
	now=$(now_epoch)
	for s in "$@"; do
		l=$(last_reply "$s")
		[ -n "$l" ] && awk -v n="$now" -v l="$l" 'BEGIN { exit !(n - l < 0.3) }' || return 1
	done
}
loss_pct() { # from ping's closing summary
	sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$T_DIR/ping-$1" |
		awk '{ if ($1) printf "%.2f%% of %d", 100 * ($1 - $2) / $1, $1 }'
}
gaps_over() { # gaps_over NAME MS: how many outages (gaps with a request lost) exceed MS
	awk -v lim="$2" -F'[][]' '/bytes from/ { t = $2 + 0; s = $0; sub(/.*icmp_seq=/, "", s); s += 0
		if (p && s - ps > 1 && (t - p) * 1000 > lim) n++; p = t; ps = s }
		END { print n + 0 }' "$T_DIR/ping-$1"
}

# ---------------------------------------------------------------- nftables faults
# nft_ike_drop NS sport|dport: drop IKE leaving NS (UDP 500, and UDP 4500 with
# the non-ESP marker, i.e. not ESP in UDP) by source or destination port.
nft_ike_drop() {
	ip netns exec "$1" nft -f - <<EOF
table inet labike {
	chain out {
		type filter hook output priority 0; policy accept;
		udp $2 500 counter drop
		udp $2 4500 @th,64,32 0 counter drop
	}
}
EOF
}
nft_ike_undo() { # prints how many packets the rules dropped
	ip netns exec "$1" nft list table inet labike 2>/dev/null | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
	ip netns exec "$1" nft delete table inet labike 2>/dev/null
}
# nft_loss NS IF: drop 0.3% of what leaves IF, at random.
nft_loss() {
	ip netns exec "$1" nft -f - <<EOF
table inet labloss {
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "$2" numgen random mod 1000 < 3 counter drop
	}
}
EOF
}
nft_loss_undo() {
	ip netns exec "$1" nft list table inet labloss 2>/dev/null | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
	ip netns exec "$1" nft delete table inet labloss 2>/dev/null
}

# ---------------------------------------------------------------- counters and logs
# snap NAME: insync's sync counters as "label value" lines.
snap() {
	{
		ctl "$1" show crypto recovery 2>/dev/null | sed -n 's/^  \(.*[^ ]\) *: \([0-9][0-9]*\)$/\1|\2/p'
		ctl "$1" show crypto datapath drops 2>/dev/null | awk '/SA_NOT_FOUND_SPI/ && $2 ~ /^IN_US_V4/ { print "inv-spi-drops|" $3 }'
		ctl "$1" show crypto ikev2 stats 2>/dev/null |
			sed -n 's/.*dropped \([0-9]*\), retransmits \([0-9]*\).*/ike-queue-dropped|\1\nretransmits|\2/p'
	} | sed -e 's/^INVALID_SPI notifies sent|/notify-sent|/' -e 's/^Recovery IKE SAs initiated|/recovery-IKE|/' \
		-e 's/^Rate-limited (token buckets)|/rate-limited|/' -e 's/^Counted only (non-peer\/dynamic)|/count-only|/' \
		-e 's/^Persistent flows|/persistent|/' -e 's/^Recovered flows|/recovered|/' \
		-e 's/^INVALID_SPI received (acted on)|/INVALID_SPI-rcvd|/' -e 's/^INVALID_SPI hints (unprotected)|/hints|/' \
		-e 's/^INITIAL_CONTACT received|/IC-rcvd|/' -e 's/^Dead peers|/dead|/' -e 's/^ike-queue-dropped|/ike-dropped|/'
}
# snap_delta BEFORE AFTER: "label +N" for counters that moved (a restart resets them).
snap_delta() {
	awk -F'|' 'NR == FNR { b[$1] = $2; next } { d = $2 - b[$1]; if (d < 0) d = $2; if (d > 0) printf "%s %d, ", $1, d }' \
		"$1" "$2" | sed 's/, $//'
}
log_of() { case "$1" in s2) echo "$T_DIR/sw-s2/charon.log" ;; *) echo "$T_DIR/$1.log" ;; esac; }
nlines() { local f; f=$(log_of "$1"); [ -f "$f" ] && wc -l <"$f" || echo 0; }
new_lines() { tail -n +$(($2 + 1)) "$(log_of "$1")" 2>/dev/null; } # new_lines NAME FROM
# tags NAME FROM: the IOS-style messages logged since line FROM, "TAG xN".
tags() {
	new_lines "$1" "$2" | grep -o '%[A-Z0-9]*-[0-7]-[A-Z_]*' | sed 's/^%//' | sort | uniq -c |
		awk '{ printf "%s%s", (n++ ? ", " : ""), $2 ($1 > 1 ? " x" $1 : "") }'
}
# swtags FROM: what strongSwan logged that matters here.
swtags() {
	new_lines s2 "$1" | awk '
		/N\(INVAL_SPI\)/ && /parsed INFORMATIONAL request/ { c["INVALID_SPI received (ignored)"]++ }
		/retransmit [0-9]+ of request/ { c["retransmits"]++ }
		/received DELETE for (ESP )?CHILD_SA/ { c["DELETE for CHILD_SA"]++ }
		/received DELETE for IKE_SA/ { c["DELETE for IKE_SA"]++ }
		/INITIAL_CONTACT|N\(INIT_CONTACT\)/ && /parsed IKE_AUTH request/ { c["INITIAL_CONTACT"]++ }
		/giving up after/ { c["gave up (retransmits)"]++ }
		/CHILD_SA .* established/ { c["CHILD_SA established"]++ }
		/IKE_SA .* established/ { c["IKE_SA established"]++ }
		/received retransmit of request/ { c["resent cached response"]++ }
		END { for (k in c) printf "%s%s x%d", (n++ ? ", " : ""), k, c[k] }'
}
# excerpt NAME FROM: the key lines, at most 12, with the timestamps.
excerpt() {
	new_lines "$1" "$2" | grep -E "$3" | head -n 12
}
KEY_RE='%[A-Z0-9]+-[0-7]-|Retransmit|INVALID_SPI|INITIAL_CONTACT|collision|Liveness|CHILD_SA up|outbound now|not sent|resending cached|deleted|rekeyed|no response'
SW_KEY_RE='INVAL_SPI|retransmit|DELETE|INIT_CONTACT|giving up|established|deleting|closing|received retransmit'

# ---------------------------------------------------------------- scenarios
# sc_begin ID P TITLE: counters and log positions, then both ping streams (1 s
# of baseline before the fault).
SC_N=0
SC_DIRS="ab ba" # which streams the next scenario runs (A->B, B->A)
sc_begin() {
	SC_ID=$1 SC_P=$2 SC_TITLE=$3 SC_NOTE="" SC_N=$((SC_N + 1))
	SC_A="a$2" SC_B=$([ "$2" = 1 ] && echo b1 || echo s2)
	SC_S="st${SC_N}"
	[ "$SC_DIRS" = "ab ba" ] || SC_TITLE="$SC_TITLE [only the $(echo "$SC_DIRS" | sed 's/ab/A->B/; s/ba/B->A/') stream]"
	say "($SC_ID) pair $SC_P: $SC_TITLE"
	ctl "$SC_A" clear crypto ipsec invalid-spi >/dev/null 2>&1
	[ "$2" = 1 ] && ctl b1 clear crypto ipsec invalid-spi >/dev/null 2>&1
	SC_LA=$(nlines "$SC_A") SC_LB=$(nlines "$SC_B")
	snap "$SC_A" >"$T_DIR/snapA.$SC_N"
	if [ "$2" = 1 ]; then snap "$SC_B" >"$T_DIR/snapB.$SC_N"; else : >"$T_DIR/snapB.$SC_N"; fi
	case " $SC_DIRS " in *" ab "*) eval "ping_start \"\$NS_A$2\" 10.0.1.1 10.0.2.1 ${SC_S}ab" ;; esac
	case " $SC_DIRS " in *" ba "*) eval "ping_start \"\$NS_B$2\" 10.0.2.1 10.0.1.1 ${SC_S}ba" ;; esac
	sleep 1
	SC_T0=$(now_epoch)
}
sc_fault() { SC_T0=$(now_epoch); } # the fault happens now
note() { SC_NOTE="${SC_NOTE:+$SC_NOTE; }$*"; }
# sc_wait SECS: until both streams flow and the SAs match (bounded), then 1 s more.
sc_wait() {
	local n=$(($1 * 5))
	for _ in $(seq 1 "$n"); do
		flowing $(for d in $SC_DIRS; do echo "${SC_S}$d"; done) && in_sync "$SC_P" && break
		sleep 0.2
	done
	sleep 1
}
sc_end() {
	local t1 gab=- gba=- sync ia ib la lb ca cb sa diag=""
	t1=$(now_epoch)
	case " $SC_DIRS " in *" ab "*) ping_stop "${SC_S}ab" ;; esac
	case " $SC_DIRS " in *" ba "*) ping_stop "${SC_S}ba" ;; esac
	case " $SC_DIRS " in *" ab "*) gab=$(outage "${SC_S}ab" "$SC_T0" "$t1") ;; esac
	case " $SC_DIRS " in *" ba "*) gba=$(outage "${SC_S}ba" "$SC_T0" "$t1") ;; esac
	if wait_for 3 in_sync "$SC_P"; then sync="yes ($(ipairs "$SC_A" | wc -l) pair)"
	else
		sync="**NO**"
		diag="A's INSTALLED CHILD_SAs (in out): $(ipairs "$SC_A" | paste -sd, -); B's, turned around: $(bpairs_rev "$SC_P" | paste -sd, -)"
	fi
	ia=$(ike_a "$SC_P") ib=$(ike_b "$SC_P")
	la=$(tags "$SC_A" "$SC_LA")
	if [ "$SC_P" = 1 ]; then lb=$(tags b1 "$SC_LB"); else lb=$(swtags "$SC_LB"); fi
	snap "$SC_A" >"$T_DIR/snapA2.$SC_N"
	ca=$(snap_delta "$T_DIR/snapA.$SC_N" "$T_DIR/snapA2.$SC_N")
	cb=""
	if [ "$SC_P" = 1 ]; then snap b1 >"$T_DIR/snapB2.$SC_N"; cb=$(snap_delta "$T_DIR/snapB.$SC_N" "$T_DIR/snapB2.$SC_N"); fi
	sa=$(ctl "$SC_A" show crypto ipsec invalid-spi 2>/dev/null | awk '$1 ~ /^[0-9]/ && NF >= 9 { c[$8 "/" $9]++ } END { for (k in c) printf "%s%s x%d", (n++ ? ", " : ""), k, c[k] }')
	local notes="A: ${la:-none}${ca:+ [$ca]}; B: ${lb:-none}${cb:+ [$cb]}${sa:+; A flows ${sa}}${SC_NOTE:+; $SC_NOTE}${diag:+; $diag}"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\n' "$SC_ID" "$([ "$SC_P" = 1 ] && echo "insync-insync" || echo "insync-strongSwan")" \
		"$SC_TITLE" "$gab" "$gba" "$sync" "$ia" "$ib" "$notes" >>"$RES"
	say "   outage A->B ${gab}, B->A ${gba}; in sync: $sync; IKE SAs $ia/$ib"
	say "   $notes"
	{
		echo "### ($SC_ID) $([ "$SC_P" = 1 ] && echo "insync-insync" || echo "insync-strongSwan"): $SC_TITLE"
		echo
		echo "Outage (ms) A->B ${gab}, B->A ${gba}; SAs match: $sync; IKE SAs A/B $ia/$ib."
		[ -n "$diag" ] && echo "$diag."
		echo
		echo '```'
		echo "A ($SC_A):"
		excerpt "$SC_A" "$SC_LA" "$KEY_RE"
		echo "B ($SC_B):"
		if [ "$SC_P" = 1 ]; then excerpt b1 "$SC_LB" "$KEY_RE"; else excerpt s2 "$SC_LB" "$SW_KEY_RE"; fi
		echo "A: show crypto ipsec invalid-spi"
		ctl "$SC_A" show crypto ipsec invalid-spi 2>/dev/null | head -n 12
		echo '```'
		echo
	} >>"$DET"
	SC_DIRS="ab ba"
	# A scenario that left the SAs apart must not spoil the next one.
	if [ "$sync" = "**NO**" ] || [ "$ia" != 1 ] || [ "$ib" != 1 ]; then
		say "   resetting pair $SC_P (clear crypto session on A, then traffic from A)"
		ctl "$SC_A" clear crypto session >/dev/null 2>&1
		sleep 1
		eval "ip netns exec \"\$NS_A$SC_P\" ping -c 20 -i 0.5 -w 10 -W 1 -I 10.0.1.1 10.0.2.1 >/dev/null 2>&1 &"
		local rp=$!
		wait_for 15 in_sync "$SC_P" || say "   pair $SC_P still not in sync"
		kill "$rp" 2>/dev/null
		wait "$rp" 2>/dev/null
	fi
}

# (a) kill -9 VICTIM and restart it DOWN seconds later.
sc_kill() { # sc_kill ID P VICTIM DOWN MAXWAIT TITLE
	local id=$1 p=$2 v=$3 down=$4 maxw=$5 tr back dead
	sc_begin "$id" "$p" "$6"
	sc_fault
	if [ "$v" = s2 ]; then sw_kill s2; else kill_d "$v"; fi
	sleep "$down"
	tr=$(now_epoch)
	if [ "$v" = s2 ]; then start_sw || note "charon restart failed"; else start_d "$v" || note "insyncd restart failed"; fi
	sc_wait "$maxw"
	back=$(first_reply_after "${SC_S}ab" "$tr")
	note "A->B back ${back:-never} ms after the restart"
	dead=$(new_lines "a$p" "$SC_LA" | grep -m1 -E 'PEER_DEAD' | sed -n 's/^\*[A-Za-z]* *[0-9]* \([0-9:.]*\):.*/\1/p')
	[ -n "$dead" ] && note "A declared the peer dead $(awk -v a="$SC_T0" -v b="$(date -d "$dead" +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the kill"
	sc_end
}

# (b) one DELETE is lost (insync's test hook): A drops its CHILD_SA, B is not told.
sc_lost_delete() { # sc_lost_delete ID P MAXWAIT
	sc_begin "$1" "$2" "one DELETE lost (A: test crypto drop-deletes 1; clear crypto sa)"
	ctl "a$2" test crypto drop-deletes 1 >/dev/null
	sc_fault
	ctl "a$2" clear crypto sa >/dev/null
	sleep 0.5
	sc_wait "$3"
	sc_end
}

# (b') the DELETE's first transmission is dropped by nftables on its way out of A.
sc_nft_delete() { # sc_nft_delete ID P
	local n
	sc_begin "$1" "$2" "DELETE dropped by nftables (A's outgoing IKE dropped for 300 ms around clear crypto sa)"
	nft_ike_drop "$(eval echo "\$NS_A$2")" dport
	sc_fault
	ctl "a$2" clear crypto sa >/dev/null
	sleep 0.3
	n=$(nft_ike_undo "$(eval echo "\$NS_A$2")")
	note "nft dropped $n IKE packet(s) from A"
	sc_wait 15
	sc_end
}

# (d) the responder's answer to a CHILD_SA rekey is lost once.
sc_lost_ccsa() { # sc_lost_ccsa ID P INITIATOR(a|b)
	local id=$1 p=$2 who=$3 resp_ns before n
	if [ "$who" = a ]; then resp_ns=$(eval echo "\$NS_B$p"); else resp_ns=$(eval echo "\$NS_A$p"); fi
	sc_begin "$id" "$p" "CREATE_CHILD_SA response lost (rekey started by $([ "$who" = a ] && echo A || echo B), the responder's next IKE packet dropped)"
	before=$(ipairs "a$p")
	nft_ike_drop "$resp_ns" sport
	sc_fault
	if [ "$who" = a ]; then
		ctl "a$p" test crypto rekey child 0 >/dev/null || note "rekey command failed"
	elif [ "$p" = 1 ]; then
		ctl b1 test crypto rekey child 0 >/dev/null || note "rekey command failed"
	else
		timeout 30 swanctl --rekey --child lan --uri "unix://$T_DIR/sw-s2/charon.vici" >/dev/null 2>&1 &
		T_PIDS+=("$!")
	fi
	sleep 0.3
	n=$(nft_ike_undo "$resp_ns")
	note "nft dropped $n IKE packet(s) from the responder"
	sleep 6
	sc_wait 10
	[ "$(ipairs "a$p")" != "$before" ] && note "rekeyed: yes" || note "rekeyed: **no** (same SPIs)"
	sc_end
}

# (e) random-SPI ESP from C, which is no peer.
sc_flood() { # sc_flood ID P COUNT [UDP_PORT]
	local id=$1 p=$2 cnt=$3 port=${4:-} c l0 l1
	sc_begin "$id" "$p" "bogus-SPI flood from C (no peer): $cnt packets, $([ -n "$port" ] && echo "ESP in UDP/$port" || echo "raw ESP")"
	eval "c=\$NS_C$p"
	l0=$(new_lines "a$p" 0 | grep -c RECVD_PKT_INV_SPI)
	sc_fault
	if [ -n "$port" ]; then esp_flood_from "$c" 198.51.100.2 192.0.2.1 "$cnt" 0 "$port"; else esp_flood "$c" 192.0.2.1 "$cnt"; fi
	note "flood took $(awk -v a="$SC_T0" -v b="$(now_epoch)" 'BEGIN { printf "%.1f", b - a }') s"
	sleep 1
	l1=$(new_lines "a$p" 0 | grep -c RECVD_PKT_INV_SPI)
	note "$((l1 - l0)) RECVD_PKT_INV_SPI lines for $cnt packets"
	ctl "a$p" show crypto ikev2 sa 2>/dev/null | grep -q 198.51.100.2 && note "**IKE toward the flooder**"
	sc_wait 5
	sc_end
}

# (e') the same with the peer's address forged as the source; 2 s into the
# flood A is asked to rekey its CHILD_SA (does the rekey survive the flood?).
sc_flood_forged() { # sc_flood_forged ID P COUNT RATE [UDP_PORT]
	local id=$1 p=$2 cnt=$3 rate=$4 port=${5:-} c fpid before
	sc_begin "$id" "$p" "bogus-SPI flood from C with B's address forged: $cnt packets at ${rate}/s, $([ -n "$port" ] && echo "ESP in UDP/$port" || echo "raw ESP"); A rekeys its CHILD_SA 2 s in"
	eval "c=\$NS_C$p"
	before=$(ipairs "a$p")
	# Debugs off on A: one debug line per notify would fill the log's 200 lines/s cap.
	ctl "a$p" undebug all >/dev/null
	sc_fault
	esp_flood_from "$c" 192.0.2.2 192.0.2.1 "$cnt" "$rate" "${port:-0}" &
	fpid=$!
	T_PIDS+=("$fpid")
	sleep 2
	ctl "a$p" test crypto rekey child 0 >/dev/null || note "rekey command failed"
	for _ in $(seq 1 300); do kill -0 "$fpid" 2>/dev/null || break; sleep 0.1; done
	wait "$fpid" 2>/dev/null
	note "flood took $(awk -v a="$SC_T0" -v b="$(now_epoch)" 'BEGIN { printf "%.1f", b - a }') s"
	sleep 2
	sc_wait 10
	[ "$(ipairs "a$p")" != "$before" ] && note "CHILD_SA rekeyed: yes" || note "CHILD_SA rekeyed: **no** (same SPIs)"
	note "$(new_lines "a$p" "$SC_LA" | grep -c 'INVALID_SPI_RECOVERED') INVALID_SPI_RECOVERED lines"
	sc_end
	ctl "a$p" debug crypto ikev2 >/dev/null
	ctl "a$p" debug crypto ipsec >/dev/null
}

# (f) spoofed unprotected INVALID_SPI and DELETE in B's name, from C.
sc_spoof() { # sc_spoof ID P
	local before c
	sc_begin "$1" "$2" "spoofed unprotected INVALID_SPI and DELETE (5 of each, B's address, from C)"
	eval "c=\$NS_C$2"
	before=$(ipairs "a$2")
	sc_fault
	ike_spoof "$c" 192.0.2.2 192.0.2.1 invalid-spi
	ike_spoof "$c" 192.0.2.2 192.0.2.1 delete
	sleep 3
	[ "$(ipairs "a$2")" = "$before" ] && note "A's CHILD_SAs unchanged" || note "**A's CHILD_SAs changed**"
	sc_wait 5
	sc_end
}

# ---------------------------------------------------------------- (c) the soak
# Both pairs at once: 0.3% random loss on both veth ends, rekeys forced every
# 10 s in a cycle (A's CHILD_SA, B's CHILD_SA, both at once, A's IKE SA, B's
# IKE SA), SA state sampled every 2 s.
soak_action() { # soak_action P K
	local p=$1 k=$2 vici="unix://$T_DIR/sw-s2/charon.vici"
	case $k in
	0) ctl "a$p" test crypto rekey child 0 ;;
	1) if [ "$p" = 1 ]; then ctl b1 test crypto rekey child 0; else timeout 20 swanctl --rekey --child lan --uri "$vici"; fi ;;
	2) if [ "$p" = 1 ]; then ctl b1 test crypto rekey child 0 & ctl a1 test crypto rekey child 0; wait $!
	   else timeout 20 swanctl --rekey --child lan --uri "$vici" & ctl a2 test crypto rekey child 0; wait $!; fi ;;
	3) ctl "a$p" test crypto rekey ike 192.0.2.2 ;;
	4) if [ "$p" = 1 ]; then ctl b1 test crypto rekey ike 192.0.2.1; else timeout 20 swanctl --rekey --ike site-b --uri "$vici"; fi ;;
	esac
}
SOAK_KINDS=("A-child" "B-child" "both-child" "A-IKE" "B-IKE")
soak() {
	local pairs=${LAB_SOAK_PAIRS:-1 2} p t end k=0 i=0 lastact=0 now bad
	for p in $pairs; do
		case " ${PAIR_UP:-} " in *" $p "*) ;; *) setup_pair "$p" || return 1 ;; esac
	done
	say "(c) soak: $SOAK s, 0.3% loss both ways, forced rekeys every 10 s, pairs:$pairs"
	for p in $pairs; do
		if [ "$p" = 1 ]; then stop_d a1; stop_d b1; else stop_d a2; sw_kill s2; fi
		eval "CONF_a$p=$T_DIR/site-a-120.conf"
		[ "$p" = 1 ] && CONF_b1=$T_DIR/site-b-120.conf
		start_d "a$p" || return 1
		if [ "$p" = 1 ]; then start_d b1 || return 1; else start_sw || return 1; fi
		wait_for 20 in_sync "$p" || say "   pair $p: SAs not in sync before the soak"
		eval "SOAK_LA$p=\$(nlines a$p) SOAK_LB$p=\$(nlines $([ "$p" = 1 ] && echo b1 || echo s2))"
		snap "a$p" >"$T_DIR/soakA.$p"
		[ "$p" = 1 ] && snap b1 >"$T_DIR/soakB.1"
		eval "nft_loss \"\$NS_A$p\" veth-a; nft_loss \"\$NS_B$p\" veth-b"
		eval "ping_start \"\$NS_A$p\" 10.0.1.1 10.0.2.1 soak${p}ab; ping_start \"\$NS_B$p\" 10.0.2.1 10.0.1.1 soak${p}ba"
		eval "SOAK_BAD$p=0 SOAK_RUN$p=0 SOAK_MAXRUN$p=0 SOAK_ACT$p=0 SOAK_FAIL$p=0"
	done
	sleep 1
	t=$(now_epoch)
	end=$(($(date +%s) + SOAK))
	for i in $(seq 1 $((SOAK / 2 + 5))); do
		now=$(date +%s)
		[ "$now" -ge "$end" ] && break
		if [ $((now - lastact)) -ge 10 ] && [ $((end - now)) -ge 12 ]; then
			lastact=$now
			for p in $pairs; do
				local kind; kind=$([ $((now - ${t%.*})) -lt $((SOAK / 2)) ] && echo $((k % 5)) || echo $((3 + k % 2)))
				if soak_action "$p" "$kind" >/dev/null 2>&1; then eval "SOAK_ACT$p=\$((SOAK_ACT$p + 1))"
				else eval "SOAK_FAIL$p=\$((SOAK_FAIL$p + 1)) SOAK_FAILK$p=\"\${SOAK_FAILK$p:-} ${SOAK_KINDS[$kind]}\""; fi
			done
			k=$((k + 1))
		fi
		sleep 2
		for p in $pairs; do
			# a sample out of sync is normal for a moment around a rekey; a run of 3 (6 s) is not
			if in_sync "$p"; then eval "SOAK_RUN$p=0"
			else
				eval "SOAK_BAD$p=\$((SOAK_BAD$p + 1)) SOAK_RUN$p=\$((SOAK_RUN$p + 1))"
				eval "[ \$SOAK_RUN$p -gt \$SOAK_MAXRUN$p ] && SOAK_MAXRUN$p=\$SOAK_RUN$p"
			fi
		done
	done
	for p in $pairs; do
		local da db ca cb gab gba sync ia ib la lb nch_a nch_b rk_a rk_b ike_rk ndel_a ndel_b
		eval "da=\$(nft_loss_undo \"\$NS_A$p\"); db=\$(nft_loss_undo \"\$NS_B$p\")"
		sleep 3
		local t1; t1=$(now_epoch)
		ping_stop "soak${p}ab"
		ping_stop "soak${p}ba"
		gab=$(outage "soak${p}ab" "$t" "$t1") gba=$(outage "soak${p}ba" "$t" "$t1")
		if wait_for 10 in_sync "$p"; then sync="yes ($(ipairs "a$p" | wc -l) pair)"; else sync="**NO**"; fi
		ia=$(ike_a "$p") ib=$(ike_b "$p")
		local sla slb b; eval "sla=\$SOAK_LA$p slb=\$SOAK_LB$p"
		b=$([ "$p" = 1 ] && echo b1 || echo s2)
		la=$(tags "a$p" "$sla")
		if [ "$p" = 1 ]; then lb=$(tags b1 "$slb"); else lb=$(swtags "$slb"); fi
		snap "a$p" >"$T_DIR/soakA2.$p"; ca=$(snap_delta "$T_DIR/soakA.$p" "$T_DIR/soakA2.$p")
		cb=""; [ "$p" = 1 ] && { snap b1 >"$T_DIR/soakB2.1"; cb=$(snap_delta "$T_DIR/soakB.1" "$T_DIR/soakB2.1"); }
		rk_a=$(new_lines "a$p" "$sla" | grep -c 'CHILD_SA up.*(rekey)')
		ike_rk=$(new_lines "a$p" "$sla" | grep -c 'IKE SA rekeyed')
		local coll; coll=$(new_lines "a$p" "$sla" | grep -c 'rekey collision')
		local bad maxrun acts fails failk
		eval "bad=\$SOAK_BAD$p maxrun=\$SOAK_MAXRUN$p acts=\$SOAK_ACT$p fails=\$SOAK_FAIL$p failk=\${SOAK_FAILK$p:-}"
		local notes="ping loss A->B $(loss_pct "soak${p}ab"), B->A $(loss_pct "soak${p}ba"); outages > 200 ms: $(gaps_over "soak${p}ab" 200)/$(gaps_over "soak${p}ba" 200); nft dropped $da (A) + $db (B) packets; forced rekeys $((acts + fails)) ($fails refused${failk:+:$failk}); CHILD_SA rekeys completed on A $rk_a, IKE SA rekeys seen by A $ike_rk, collisions seen by A $coll; samples out of sync $bad (longest run $((maxrun * 2)) s); A: ${la:-none}${ca:+ [$ca]}; B: ${lb:-none}${cb:+ [$cb]}"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\n' "c" "$([ "$p" = 1 ] && echo "insync-insync" || echo "insync-strongSwan")" \
			"rekeys under 0.3% random loss both ways, ${SOAK} s (CHILD_SA lifetime 120 s; a rekey forced every 10 s)" \
			"$gab" "$gba" "$sync" "$ia" "$ib" "$notes" >>"$RES"
		say "   pair $p: longest outage A->B ${gab}, B->A ${gba}; in sync: $sync; IKE SAs $ia/$ib"
		say "   $notes"
		{
			echo "### (c) $([ "$p" = 1 ] && echo "insync-insync" || echo "insync-strongSwan"): rekeys under loss, ${SOAK} s"
			echo
			echo "Longest outage (ms) A->B ${gab}, B->A ${gba}; SAs match: $sync; IKE SAs A/B $ia/$ib."
			echo
			echo '```'
			echo "A (a$p), the lines that are not routine:"
			new_lines "a$p" "$sla" | grep -E '%[A-Z0-9]+-[0-4]-|PEER_DEAD|INVALID_SPI|no response|refused|failed' | head -n 15
			echo "B ($b):"
			if [ "$p" = 1 ]; then new_lines b1 "$slb" | grep -E '%[A-Z0-9]+-[0-4]-|PEER_DEAD|INVALID_SPI|no response|refused|failed' | head -n 15
			else new_lines s2 "$slb" | grep -E 'giving up|INVAL_SPI|failed|error' | head -n 15; fi
			echo '```'
			echo
		} >>"$DET"
	done
}

# ---------------------------------------------------------------- configs
sed 's/lifetime seconds 1800/lifetime seconds 120/' "$ROOT/examples/site-a.conf" >"$T_DIR/site-a-120.conf"
sed 's/lifetime seconds 1800/lifetime seconds 120/' "$ROOT/examples/site-b.conf" >"$T_DIR/site-b-120.conf"
SWCONF=$SW/swanctl.conf

setup_pair() { # setup_pair P: namespaces and the daemons with the example configs
	mk_pair "$1" || return 1
	if [ "$1" = 1 ]; then
		NS_a1=$NS_A1 NS_b1=$NS_B1 CONF_a1=$ROOT/examples/site-a.conf CONF_b1=$ROOT/examples/site-b.conf
		start_d a1 && start_d b1 || return 1
	else
		NS_a2=$NS_A2 CONF_a2=$ROOT/examples/site-a.conf
		start_sw && start_d a2 || return 1
	fi
	wait_for 15 in_sync "$1" || say "pair $1: tunnel not up"
	PAIR_UP="${PAIR_UP:-} $1"
}

say "insync lab: groups '$ONLY', soak ${SOAK} s; logs end up in $OUT"
if want ii; then
	setup_pair 1 || exit 1
	sc_kill a-B 1 b1 1 20 "insync B killed -9, restarted 1 s later"
	sc_kill a-A 1 a1 1 20 "insync A killed -9, restarted 1 s later"
	SC_DIRS=ba sc_lost_delete b 1 15
	sc_lost_delete b-both 1 10
	sc_lost_ccsa d-A 1 a
	sc_lost_ccsa d-B 1 b
	sc_flood e 1 20000
	sc_flood_forged e-forged 1 20000 4000
	sc_spoof f 1
fi
if want sw; then
	setup_pair 2 || exit 1
	sc_kill a-A 2 a2 1 20 "insync A killed -9, restarted 1 s later"
	sc_kill a-B 2 s2 2 60 "strongSwan B killed -9, restarted 2 s later (start_action none)"
	SC_DIRS=ba sc_lost_delete b 2 40
	sc_lost_delete b-both 2 20
	sc_nft_delete b-nft 2
	sc_lost_ccsa d-A 2 a
	sc_lost_ccsa d-B 2 b
	sc_flood e 2 20000 4500
	sc_flood_forged e-forged 2 20000 4000 4500
	sc_spoof f 2
fi
want soak && soak

# ---------------------------------------------------------------- report
RC=0
for n in a1 b1 a2; do
	[ -f "$T_DIR/$n.log" ] && ! no_sanitizer_errors "$T_DIR/$n.log" && { echo "sanitizer report in $n.log"; RC=1; }
done
crashed=""
for n in a1 b1 a2; do
	eval "pid=\${PID_$n:-}"
	# a dead child stays a zombie until reaped: ask the daemon instead of kill -0
	[ -n "$pid" ] && ! ctl "$n" show version >/dev/null 2>&1 && crashed="$crashed $n"
done
[ -n "$crashed" ] && { echo "insyncd exited unexpectedly:$crashed"; RC=1; }
stop_d a1; stop_d b1; stop_d a2
[ -n "${SWPID_s2:-}" ] && sw_kill s2

ELAPSED=$(($(date +%s) - LAB_T0))
MACHINE="$(uname -srm), $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), Debian $(cat /etc/debian_version 2>/dev/null)"
SWVER=$(dpkg-query -W -f='${Version}' strongswan-charon 2>/dev/null)
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $MACHINE; insync ${REV:-?} ($BUILD/insyncd sha256 $BIN_ID), strongSwan ${SWVER:-?} (kernel-libipsec, ESP in UDP)."
	echo "Command: \`LAB_SOAK_SECONDS=$SOAK make lab\` (groups: $ONLY), $ELAPSED s in all."
	echo
	echo "| # | peers | fault | outage A→B, ms (pings lost, longest run) | outage B→A, ms (pings lost, longest run) | SAs match after | IKE SAs A/B | key log lines [counter deltas], notes |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -F'\t' '{ n = $8; gsub(/\|/, "\\|", n); printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, n }' "$RES"
	echo
	echo "Outage: the longest gap between two replies of a 10 ms ping stream, from the fault to the"
	echo "end of the scenario, with at least one request lost in between (\"+\": not back when the"
	echo "scenario ended); then the pings lost in the whole stream (1 s before the fault to the"
	echo "end) and the longest run of consecutive pings lost. A gap with a single lost ping can"
	echo "be stretched by the host scheduling ping late; the run length cannot."
	echo "A is insync (examples/site-a.conf); B is insync (site-b.conf) or strongSwan"
	echo "(examples/strongswan-site-b). Log lines are the %FAC-SEV-MNEMONIC messages each side"
	echo "logged during the scenario (for strongSwan, matching charon log lines); counter deltas"
	echo "are from \`show crypto recovery\`, \`show crypto datapath drops\` and"
	echo "\`show crypto ikev2 stats\` (ike-dropped: IKE messages dropped or tasks refused by a"
	echo "full queue). Excerpts per scenario: details.md next to the logs in \$LAB_OUT."
} >"$T_DIR/results.md"

mkdir -p "$OUT"
cp "$T_DIR/results.md" "$T_DIR/details.md" "$T_DIR/results.tsv" "$OUT/"
for f in "$T_DIR"/*.log "$T_DIR"/sw-s2/charon.log; do [ -f "$f" ] && cp "$f" "$OUT/"; done
mkdir -p "$OUT/pings" && cp "$T_DIR"/ping-* "$OUT/pings/" 2>/dev/null
echo
cat "$T_DIR/results.md"
echo
echo "Details (log excerpts per scenario): $OUT/details.md; daemon logs: $OUT/"
if [ -n "$DOC" ]; then
	if [ -f "$DOC" ] && grep -q '^<!-- lab:begin -->' "$DOC" && grep -q '^<!-- lab:end -->' "$DOC"; then
		awk -v res="$T_DIR/results.md" '
			/^<!-- lab:begin -->/ { print; while ((getline l < res) > 0) print l; skip = 1; next }
			/^<!-- lab:end -->/ { skip = 0 }
			!skip' "$DOC" >"$T_DIR/doc.new" && cat "$T_DIR/doc.new" >"$DOC"
	else
		{ echo; echo "## Measured results"; echo; echo "<!-- lab:begin -->"; cat "$T_DIR/results.md"; echo "<!-- lab:end -->"; } >>"$DOC"
	fi
	echo "Results written into $DOC"
fi
exit $RC
