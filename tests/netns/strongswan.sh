# strongSwan (Debian charon with kernel-libipsec) as a real peer inside a test
# namespace. Each instance gets a private /run (charon's pid file path is fixed)
# through a private mount namespace. Source after lib.sh.
CHARON=${CHARON:-/usr/lib/ipsec/charon}

# sw_start NS NAME STRONGSWAN_CONF_TEMPLATE SWANCTL_CONF_TEMPLATE
# Templates may use @DIR@ for the instance's runtime directory.
sw_start() {
	local ns=$1 name=$2 d=$T_DIR/sw-$2
	mkdir -p "$d/run" "$d/swanctl"
	for s in x509 x509ca x509ocsp x509aa x509ac x509crl pubkey private rsa ecdsa bliss pkcs8 pkcs12; do
		mkdir -p "$d/swanctl/$s"
	done
	sed "s|@DIR@|$d|g" "$3" >"$d/strongswan.conf"
	sed "s|@DIR@|$d|g" "$4" >"$d/swanctl/swanctl.conf"
	ip netns exec "$ns" unshare -m --propagation private \
		sh -c 'mount --bind "$0/run" /run && STRONGSWAN_CONF="$0/strongswan.conf" exec '"$CHARON" "$d" \
		>>"$d/charon.stdout" 2>&1 &
	local pid=$!
	T_PIDS+=("$pid")
	eval "SWPID_$name=$pid"
	for _ in $(seq 1 100); do
		[ -S "$d/charon.vici" ] && break
		sleep 0.1
	done
	[ -S "$d/charon.vici" ] || { echo "charon $name did not start"; cat "$d/charon.stdout" "$d/charon.log" 2>/dev/null | tail -20; return 1; }
	sw "$name" --load-all --file "$d/swanctl/swanctl.conf" >/dev/null
}

# sw NAME ARGS...: swanctl against instance NAME.
sw() {
	local name=$1; shift
	swanctl "$@" --uri "unix://$T_DIR/sw-$name/charon.vici"
}

# sw_kill NAME: kill -9 the instance (fault injection).
sw_kill() {
	local pid
	eval "pid=\$SWPID_$1"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$T_DIR/sw-$1/charon.vici" "$T_DIR/sw-$1/run/charon.pid"
}
