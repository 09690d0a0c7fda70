#!/bin/bash
# Run every test: the cmocka unit binaries, then the network-namespace tests
# (root only). Prints one closing summary line "N passed, N failed".
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0
failed=()
log=$(mktemp -d /tmp/insync-tests.XXXXXX)

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	if CMOCKA_MESSAGE_OUTPUT=stdout timeout 300 "$t" >"$log/$n.log" 2>&1; then
		c=$(grep -c '^\[       OK \]' "$log/$n.log")
		pass=$((pass + c))
		echo "ok   unit $n ($c tests)"
	else
		c=$(grep -c '^\[  FAILED  \]' "$log/$n.log")
		ok=$(grep -c '^\[       OK \]' "$log/$n.log")
		pass=$((pass + ok)); fail=$((fail + (c > 0 ? c : 1)))
		failed+=("unit/$n")
		echo "FAIL unit $n"; sed 's/^/    /' "$log/$n.log" | tail -40
	fi
done

if [ "$(id -u)" = 0 ] && [ -z "${INSYNC_SKIP_NETNS:-}" ]; then
	for t in tests/netns/test_*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		if BUILD=$BUILD timeout 900 bash "$t" >"$log/$n.log" 2>&1; then
			c=$(grep -c '^PASS ' "$log/$n.log"); [ "$c" -gt 0 ] || c=1
			pass=$((pass + c))
			echo "ok   netns $n ($c checks)"
		else
			c=$(grep -c '^FAIL ' "$log/$n.log"); [ "$c" -gt 0 ] || c=1
			ok=$(grep -c '^PASS ' "$log/$n.log")
			pass=$((pass + ok)); fail=$((fail + c))
			failed+=("netns/$n")
			echo "FAIL netns $n"; sed 's/^/    /' "$log/$n.log" | tail -60
		fi
	done
else
	skip=$((skip + 1))
	echo "skip netns tests (need root)"
fi

[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "logs in $log"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
