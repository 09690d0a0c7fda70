#!/bin/bash
# Run each libFuzzer harness for a short time (CI smoke). Seeds, if any, are in
# tests/fuzz/corpus/NAME/; fuzz_config also starts from examples/*.conf.
set -eu
secs=${1:-20}
cd "$(dirname "$0")/../.."
for f in build-fuzz/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	corpus=$(mktemp -d /tmp/insync-fuzz-$n.XXXXXX)
	[ -d "tests/fuzz/corpus/$n" ] && cp -r "tests/fuzz/corpus/$n/." "$corpus/"
	[ "$n" != fuzz_config ] || cp examples/*.conf "$corpus/" # the shipped configs seed the parser
	echo "fuzz $n for ${secs}s"
	"$f" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=4096 "$corpus" >"$corpus.log" 2>&1 || {
		tail -50 "$corpus.log"; echo "FAIL fuzz $n"; exit 1; }
	grep -E '^#[0-9]+.*DONE' "$corpus.log" | tail -1 || true
	rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: all harnesses ran clean"
