# Fault-injection helpers for the recovery tests and the lab (source after lib.sh).

# ping_start NS SRC DST NAME: a 10 ms ping stream with timestamps, in the background.
ping_start() {
	ip netns exec "$1" ping -D -i 0.01 -W 1 -I "$2" "$3" >"$T_DIR/ping-$4" 2>&1 &
	eval "PING_$4=$!"
	T_PIDS+=("$!")
}

# ping_stop NAME: stop a stream (SIGINT makes ping print its summary).
ping_stop() {
	local pid
	eval "pid=\$PING_$1"
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# max_gap NAME [AFTER]: the longest gap between consecutive replies, in ms,
# optionally counting only replies after the epoch time AFTER.
max_gap() {
	awk -v after="${2:-0}" -F'[][]' '/bytes from/ { t = $2 + 0; if (t < after) next;
		if (p) { g = (t - p) * 1000; if (g > m) m = g } p = t }
		END { printf "%d\n", m }' "$T_DIR/ping-$1"
}

# first_reply_after NAME EPOCH: ms from EPOCH to the first reply after it ("" if none).
first_reply_after() {
	awk -v after="$2" -F'[][]' '/bytes from/ { t = $2 + 0; if (t > after) { printf "%d\n", (t - after) * 1000; exit } }' \
		"$T_DIR/ping-$1"
}

now_epoch() { date +%s.%N; }

# esp_flood NS DST COUNT [RATE_PPS]: raw ESP packets with random SPIs (not a peer).
esp_flood() {
	ip netns exec "$1" python3 - "$2" "$3" "${4:-0}" <<'PY'
import os, socket, struct, sys, time
dst, n, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
pay = os.urandom(64)
gap = 1.0 / rate if rate > 0 else 0
for i in range(n):
    spi = int.from_bytes(os.urandom(4), "big") | 0x100
    s.sendto(struct.pack("!II", spi, i + 1) + pay, (dst, 0))
    if gap:
        time.sleep(gap)
PY
}

# ike_spoof NS SRC DST KIND: an unprotected INFORMATIONAL from a forged source
# with random IKE SPIs: KIND is invalid-spi (N(INVALID_SPI)) or delete (D(IKE)).
ike_spoof() {
	ip netns exec "$1" python3 - "$2" "$3" "$4" <<'PY'
import os, socket, struct, sys
src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "delete":
    first, body = 42, struct.pack("!BBHBBH", 0, 0, 8, 1, 0, 0)
else:
    first, body = 41, struct.pack("!BBHBBH", 0, 0, 12, 3, 0, 11) + os.urandom(4)
ike = os.urandom(8) + os.urandom(8) + struct.pack("!BBBBII", first, 0x20, 37, 0x08, 0, 28 + len(body)) + body
udp = struct.pack("!HHHH", 500, 500, 8 + len(ike), 0) + ike
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton(src), socket.inet_aton(dst)) + udp
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for _ in range(5):
    s.sendto(ip, (dst, 0))
PY
}

# esp_flood_from NS SRC DST COUNT [RATE_PPS] [UDP_PORT]: like esp_flood, but
# with a forged IP source (IP_HDRINCL) and, when UDP_PORT is given, as ESP in
# UDP (source and destination port UDP_PORT, e.g. 4500). SRC may be the
# sender's own address or a peer's (the forged-source case).
esp_flood_from() {
	ip netns exec "$1" python3 - "$2" "$3" "$4" "${5:-0}" "${6:-0}" <<'PY'
import os, socket, struct, sys, time
src, dst, n, rate, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
pay = os.urandom(64)
gap = 1.0 / rate if rate > 0 else 0
for i in range(n):
    spi = int.from_bytes(os.urandom(4), "big") | 0x100
    esp = struct.pack("!II", spi, i + 1) + pay
    if port:
        body, proto = struct.pack("!HHHH", port, port, 8 + len(esp), 0) + esp, 17
    else:
        body, proto = esp, 50
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), i & 0xFFFF, 0, 64, proto, 0,
                     socket.inet_aton(src), socket.inet_aton(dst)) + body
    s.sendto(ip, (dst, 0))
    if gap:
        time.sleep(gap)
PY
}
