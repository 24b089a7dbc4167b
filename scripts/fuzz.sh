#!/usr/bin/env bash
# Coverage-guided fuzzing of the core (FUZZING.md): seeds the corpora from the conformance suite,
# replays the committed reproducers, builds every fuzz target once, then runs each for SECONDS
# (default 45) with libFuzzer. Exits non-zero if any target crashes, hangs (-timeout) or runs out
# of memory (-rss_limit_mb), printing the reproducer's path.
#
#   scripts/fuzz.sh            # 45 s per target (the bounded CI run)
#   scripts/fuzz.sh 3600       # an hour per target
#
# Environment: FUZZ_CPU=1 counts SECONDS as the fuzzer's CPU time rather than wall time (an hour of
# fuzzing at nice 19 on a busy machine is then still an hour of fuzzing); FUZZ_SEED=N for a reproducible run; FUZZ_TARGETS="rule tape" to run some targets only; FUZZ_SANITIZER=address for an
# AddressSanitizer build (default none: see FUZZING.md for why); FUZZ_MAX_LEN (default 4096).
# Installs what it needs on a fresh Debian machine (a C++ compiler for libFuzzer, cargo-fuzz);
# safe to run again. Never touches the main workspace's target/: fuzz/ is its own workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-45}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
    exit 2
fi
targets="${FUZZ_TARGETS:-rule definition profile_json tape context table arrow reconcile import}"
sanitizer="${FUZZ_SANITIZER:-none}"
max_len="${FUZZ_MAX_LEN:-4096}"

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: run the README's test command (scripts/test-all.sh) first" >&2
    exit 1
fi
# libfuzzer-sys compiles libFuzzer (C++) in its build script.
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
    step "installing a C++ compiler (libFuzzer is C++)"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    step "installing cargo-fuzz (cached in ~/.cargo/bin)"
    cargo install cargo-fuzz --locked --version 0.13.2
fi
# cargo-fuzz passes nightly-only flags (-Zsanitizer, sancov options); the stable toolchain accepts
# them with RUSTC_BOOTSTRAP. Only the fuzz workspace is built this way.
export RUSTC_BOOTSTRAP=1

failed=()
summary=()

step "regression inputs (fuzz/regressions/<target>/, no sanitizer)"
# A committed reproducer fails here until the core is fixed; the run goes on to fuzz regardless.
if ! nice -n 19 cargo test -q --manifest-path fuzz/Cargo.toml; then
    failed+=("regressions")
    summary+=("regressions   FAILED: cargo test --manifest-path fuzz/Cargo.toml (see above)")
fi

step "seed corpora from tests/conformance (fuzz/corpus/<target>/, kept between runs)"
nice -n 19 cargo run -q --manifest-path fuzz/Cargo.toml --example seeds -- . fuzz/corpus

step "building the fuzz targets (cargo fuzz build, sanitizer: $sanitizer)"
target_dir="fuzz/target/$sanitizer"
nice -n 19 cargo fuzz build -s "$sanitizer" --target-dir "$target_dir"
host="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$target_dir/$host/release"

# Harness checks for bugs already reported (fuzz/known_issues) are skipped while fuzzing, so the
# run explores past them; the regression test above never skips them.
known=""
if [ -f fuzz/known_issues ]; then
    known="$(awk '!/^[[:space:]]*#/ && NF {print $1}' fuzz/known_issues | paste -sd, -)"
fi
export SEGCORE_FUZZ_KNOWN="$known"

for t in $targets; do
    step "fuzzing $t for ${seconds}s${known:+ (known issues skipped: $known)}"
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log="fuzz/artifacts/$t/last-run.log"
    dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
    # FUZZ_SEED fixes libFuzzer's random seed: the test command's bounded run explores the same
    # inputs every time, so it cannot fail by luck; long runs by hand leave it unset.
    [ -n "${FUZZ_SEED:-}" ] && dict+=("-seed=$FUZZ_SEED")
    wall="$seconds"
    [ -n "${FUZZ_CPU:-}" ] && wall=$((seconds * 50))
    set +e
    nice -n 19 "$bin_dir/$t" "fuzz/corpus/$t" "${dict[@]}" \
        -max_total_time="$wall" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" \
        -artifact_prefix="fuzz/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1 &
    pid=$!
    if [ -n "${FUZZ_CPU:-}" ]; then
        # utime + stime of the fuzzer (fields 14 and 15 of /proc/PID/stat, in clock ticks); SIGINT
        # makes libFuzzer stop cleanly and print its final stats.
        tick="$(getconf CLK_TCK)"
        while kill -0 "$pid" 2>/dev/null; do
            cpu="$(awk -v t="$tick" '{print int(($14 + $15) / t)}' "/proc/$pid/stat" 2>/dev/null || echo 0)"
            if [ "${cpu:-0}" -ge "$seconds" ]; then
                kill -INT "$pid" 2>/dev/null
                # libFuzzer prints its final stats and exits. Once (2026-12-04, `arrow`) it hung
                # in futex_wait after printing them: give it 30 s, then end it; the stats are in.
                for _ in $(seq 30); do
                    kill -0 "$pid" 2>/dev/null || break
                    sleep 1
                done
                if kill -0 "$pid" 2>/dev/null && grep -q '^stat::number_of_executed_units' "$log"; then
                    echo "    (the fuzzer hung after printing its final stats; ended with SIGKILL)"
                    kill -KILL "$pid" 2>/dev/null
                fi
                break
            fi
            sleep 10
        done
    fi
    wait "$pid"
    rc=$?
    # An interrupted run (the CPU budget reached) exits 72 without having found anything; one that
    # hung after its final stats was killed (137).
    if [ -n "${FUZZ_CPU:-}" ] && { [ "$rc" -eq 72 ] || [ "$rc" -eq 137 ]; } && ! grep -q 'Test unit written to' "$log" \
        && grep -q '^stat::number_of_executed_units' "$log"; then
        rc=0
    fi
    set -e
    last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    eps="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
    summary+=("$(printf '%-13s rc=%-3s execs=%-9s exec/s=%-6s %s' "$t" "$rc" "${execs:-?}" "${eps:-?}" "$last")")
    if [ "$rc" -ne 0 ]; then
        failed+=("$t")
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" | head -n 5 || true
        repro="$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)"
        echo "FAILED: $t (exit $rc); log: $log"
        if [ -n "$repro" ]; then
            echo "reproducer: $repro"
            echo "  replay:   $bin_dir/$t $repro"
            echo "  minimise: cargo fuzz tmin -s $sanitizer --target-dir $target_dir $t $repro"
            echo "  then commit the minimised input under fuzz/regressions/$t/ (FUZZING.md)"
        fi
    else
        echo "$last"
    fi
done

step "summary ($((SECONDS - started))s in all)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}" >&2
    exit 1
fi
