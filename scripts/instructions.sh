#!/usr/bin/env bash
# Instructions per evaluation, counted by valgrind (callgrind): repeatable on a shared machine where
# wall-clock times wander. Runs each rule with N and 2N evaluations and prints the difference / N.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p segcore --example r1_profile
bin=target/release/examples/r1_profile
count() {  # rule n
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | awk '/Collected/ {print $4}'
}
for rule in r1 hv; do
    n=20000
    a=$(count "$rule" "$n")
    b=$(count "$rule" $((2 * n)))
    echo "$rule: $(( (b - a) / n )) instructions per evaluation (bound profile)"
done
