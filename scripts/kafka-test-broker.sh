#!/usr/bin/env bash
# kafka-test-broker.sh — start/stop a throwaway single-node Kafka-protocol broker
# on 127.0.0.1 for tests and CI. Everything it creates lives in DIR.
#
#   kafka-test-broker.sh start  DIR   # prints the bootstrap address (127.0.0.1:PORT) on stdout
#   kafka-test-broker.sh stop   DIR   # SIGTERM, wait, SIGKILL if needed; DIR is left for the caller
#   kafka-test-broker.sh status DIR   # exit 0 when running
#   kafka-test-broker.sh install [IMPL]  # only fetch/build what IMPL needs (warm a cache)
#
# Files in DIR: broker.pid, bootstrap (HOST:PORT), impl, broker.log, tansu.db* (tansu),
# data/ + server.properties (apache). `start` again on the same DIR reuses the port and data.
#
# Implementations (KAFKA_BROKER_IMPL):
#   tansu  (default) Kafka-compatible broker in Rust, `cargo install tansu` from
#          cargo's registry (one build of ~25 min on 2 cores, then cached),
#          SQLite file storage in DIR.
#   apache real Apache Kafka 4.x KRaft (combined broker+controller), jars resolved
#          by Maven into ~/.m2. Needs Java 17+ and a machine whose Maven can reach
#          Maven Central (NOT the `rust` machine kind).
#   mock   librdkafka's built-in mock cluster, held by a Python process
#          (pip install confluent-kafka into a cached venv). No CreateTopics
#          from other processes: topics are auto-created (4 partitions).
#   auto   apache when Maven resolves it, else tansu.
#
# Environment: KAFKA_BROKER_IMPL, KAFKA_VERSION (4.4.0), TANSU_VERSION (0.6.0), TANSU_STORAGE (sqlite|memory),
#   KAFKA_TEST_CACHE (~/.cache/kafka-test-broker), KAFKA_HEAP_OPTS (-Xms128m -Xmx512m),
#   KAFKA_START_TIMEOUT (seconds, 90).
set -euo pipefail

IMPL="${KAFKA_BROKER_IMPL:-tansu}"
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
# dynostore = memory:// engine (NOT in tansu's default features); libsql = sqlite:// file engine
TANSU_FEATURES="${TANSU_FEATURES:-dynostore,libsql}"
# sqlite (default): file DIR/tansu.db, survives a restart. memory: tansu 0.6.0's memory engine
# cannot serve a fetch that starts inside a producer batch, so a consumer resuming from a
# committed offset mid-batch gets nothing — do not use it for offset/restart tests.
TANSU_STORAGE="${TANSU_STORAGE:-sqlite}"
CACHE="${KAFKA_TEST_CACHE:-$HOME/.cache/kafka-test-broker}"
HEAP="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"

log() { echo "kafka-test-broker: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

free_port() { # [PREFERRED]: reuse PREFERRED when it can still be bound
  python3 - "${1:-0}" <<'EOF'
import socket, sys
want = int(sys.argv[1] or 0)
for p in ([want] if want else []) + [0]:
    s = socket.socket()
    # As the broker binds (Java sets SO_REUSEADDR): a port in TIME_WAIT after a stop is free.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p)); print(s.getsockname()[1]); break
    except OSError:
        pass
    finally:
        s.close()
EOF
}

# Kafka ApiVersions v0 request; succeeds when a broker answers with error_code 0.
probe() { # HOST PORT
  python3 - "$1" "$2" <<'EOF'
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    s = socket.create_connection((host, port), timeout=2)
    cid = b"probe"
    body = struct.pack(">hhih", 18, 0, 7, len(cid)) + cid
    s.sendall(struct.pack(">i", len(body)) + body)
    hdr = b""
    while len(hdr) < 4:
        c = s.recv(4 - len(hdr))
        if not c: sys.exit(1)
        hdr += c
    n = struct.unpack(">i", hdr)[0]
    resp = b""
    while len(resp) < n:
        c = s.recv(n - len(resp))
        if not c: sys.exit(1)
        resp += c
    corr, err = struct.unpack(">ih", resp[:6])
    sys.exit(0 if corr == 7 and err == 0 else 1)
except Exception:
    sys.exit(1)
EOF
}

# ---------------------------------------------------------------- tansu
tansu_bin() { echo "$CACHE/tansu-$TANSU_VERSION-${TANSU_FEATURES//,/-}/bin/tansu"; }
tansu_install() {
  [ -x "$(tansu_bin)" ] && return 0
  command -v cargo >/dev/null || die "cargo not found (tansu is built with cargo install)"
  mkdir -p "$CACHE"
  ( # one build at a time, even when several test runs start together
    flock 9
    [ -x "$(tansu_bin)" ] && exit 0
    log "building tansu $TANSU_VERSION with cargo (one time, ~25 min on 2 cores; log: $CACHE/tansu-build.log)"
    cargo install "tansu@$TANSU_VERSION" --locked --features "$TANSU_FEATURES" \
      --root "$(dirname "$(dirname "$(tansu_bin)")")" --target-dir "$CACHE/tansu-target" \
      >"$CACHE/tansu-build.log" 2>&1 || { tail -20 "$CACHE/tansu-build.log" >&2; exit 1; }
    rm -rf "$CACHE/tansu-target"
  ) 9>"$CACHE/install.lock" || die "cargo install tansu failed"
}
tansu_start() { # DIR PORT
  local dir="$1" port="$2"
  tansu_install
  local storage="memory://tansu/"
  [ "$TANSU_STORAGE" = sqlite ] && storage="sqlite://tansu.db"   # relative to cwd (= DIR)
  # cwd = DIR: tansu reads a .env from its working directory if present.
  ( cd "$dir" && exec nohup "$(tansu_bin)" broker \
      --cluster-id "test-$port" \
      --listener-url "tcp://127.0.0.1:$port" \
      --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "$storage" \
      >"$dir/broker.log" 2>&1 </dev/null ) &
  echo $! >"$dir/broker.pid"
}

# ---------------------------------------------------------------- apache
apache_dir() { echo "$CACHE/apache-kafka-$KAFKA_VERSION"; }
apache_cp_ok() {
  local cpf; cpf="$(apache_dir)/classpath.txt"
  [ -s "$cpf" ] || return 1
  local j; for j in $(tr ':' ' ' <"$cpf"); do [ -f "$j" ] || return 1; done
}
apache_install() {
  apache_cp_ok && return 0
  command -v java >/dev/null || die "java not found (Apache Kafka 4.x needs Java 17+)"
  command -v mvn >/dev/null || die "mvn not found"
  local d; d="$(apache_dir)"; mkdir -p "$d"
  cat >"$d/pom.xml" <<EOF
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.test</groupId><artifactId>kafka-test-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven into ~/.m2"
  (
    flock 9
    apache_cp_ok && exit 0
    mvn -B -q -f "$d/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
        -DincludeScope=runtime -Dmdep.outputFile="$d/classpath.txt" >"$d/mvn.log" 2>&1 \
      || { grep -m3 '\[ERROR\]' "$d/mvn.log" >&2; rm -f "$d/classpath.txt"; exit 1; }
  ) 9>"$d/install.lock" || return 1
  apache_cp_ok || return 1
}
apache_start() { # DIR PORT
  local dir="$1" port="$2" cport
  # A restart on the same DIR keeps the controller port and the formatted storage (a new
  # cluster id or voter address would not match the data).
  if [ -f "$dir/cport" ]; then
    cport="$(cat "$dir/cport")"
  else
    cport="$(free_port)"
    while [ "$cport" = "$port" ]; do cport="$(free_port)"; done
    echo "$cport" >"$dir/cport"
  fi
  apache_install || die "could not resolve Apache Kafka jars with Maven (is Maven Central reachable?)"
  local cp; cp="$(cat "$(apache_dir)/classpath.txt")"
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cid; cid="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>>"$dir/broker.log" | tail -1)"
    java -cp "$cp" kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" \
      >>"$dir/broker.log" 2>&1 || { tail -20 "$dir/broker.log" >&2; die "StorageTool format failed"; }
  fi
  # shellcheck disable=SC2086
  ( exec nohup java $HEAP -XX:+UseG1GC -Djava.awt.headless=true -cp "$cp" \
      kafka.Kafka "$dir/server.properties" >>"$dir/broker.log" 2>&1 </dev/null ) &
  echo $! >"$dir/broker.pid"
}

# ---------------------------------------------------------------- mock
mock_install() {
  local v="$CACHE/mock-venv"
  [ -x "$v/bin/python" ] && "$v/bin/python" -c 'import confluent_kafka' 2>/dev/null && return 0
  mkdir -p "$CACHE"
  (
    flock 9
    [ -x "$v/bin/python" ] && "$v/bin/python" -c 'import confluent_kafka' 2>/dev/null && exit 0
    log "creating venv with confluent-kafka in $v"
    python3 -m venv "$v" && "$v/bin/pip" install -q confluent-kafka >&2
  ) 9>"$CACHE/install.lock" || die "pip install confluent-kafka failed"
}
mock_start() { # DIR
  local dir="$1"
  mock_install
  cat >"$dir/mock_broker.py" <<'EOF'
import signal, sys
from confluent_kafka import Producer
p = Producer({"test.mock.num.brokers": 1, "bootstrap.servers": "unused"})
md = p.list_topics(timeout=10)
b = next(iter(md.brokers.values()))
open(sys.argv[1], "w").write(f"{b.host}:{b.port}\n")
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    p.poll(1.0)
EOF
  ( exec nohup "$CACHE/mock-venv/bin/python" "$dir/mock_broker.py" "$dir/bootstrap.mock" \
      >"$dir/broker.log" 2>&1 </dev/null ) &
  echo $! >"$dir/broker.pid"
}

# ---------------------------------------------------------------- commands
is_running() { [ -s "$1/broker.pid" ] && kill -0 "$(cat "$1/broker.pid")" 2>/dev/null; }

cmd_start() {
  local dir="$1"
  mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
  is_running "$dir" && die "a broker is already running for $dir (pid $(cat "$dir/broker.pid"))"
  local impl="$IMPL"
  if [ "$impl" = auto ]; then
    if command -v mvn >/dev/null && command -v java >/dev/null && apache_install 2>/dev/null; then impl=apache; else impl=tansu; fi
  fi
  # a restart in the same DIR keeps the previous port when it is still free
  local port t0; port="$(free_port "$(cut -d: -f2 "$dir/bootstrap" 2>/dev/null || true)")"; t0=$(date +%s)
  case "$impl" in
    tansu)  tansu_start "$dir" "$port" ;;
    apache) apache_start "$dir" "$port" ;;
    mock)   mock_start "$dir" ;;
    *) die "unknown KAFKA_BROKER_IMPL=$impl (tansu|apache|mock|auto)" ;;
  esac
  echo "$impl" >"$dir/impl"
  local deadline=$(( $(date +%s) + START_TIMEOUT ))
  while :; do
    if ! is_running "$dir"; then tail -30 "$dir/broker.log" >&2; die "$impl broker exited during start-up"; fi
    if [ "$impl" = mock ]; then
      if [ -s "$dir/bootstrap.mock" ]; then port="$(cut -d: -f2 "$dir/bootstrap.mock")"; fi
    fi
    if probe 127.0.0.1 "$port"; then break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -30 "$dir/broker.log" >&2; cmd_stop "$dir"; die "$impl broker not ready after ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  log "$impl broker pid $(cat "$dir/broker.pid") ready on 127.0.0.1:$port after $(( $(date +%s) - t0 ))s"
  echo "127.0.0.1:$port"
}

cmd_stop() {
  local dir="$1"
  [ -s "$dir/broker.pid" ] || { log "no broker.pid in $dir"; return 0; }
  local pid; pid="$(cat "$dir/broker.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local i; for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then log "pid $pid ignored SIGTERM for 30s, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$dir/broker.pid"
  log "stopped pid $pid"
}

case "${1:-}" in
  start)   [ $# -eq 2 ] || die "usage: $0 start DIR"; cmd_start "$2" ;;
  stop)    [ $# -eq 2 ] || die "usage: $0 stop DIR"; cmd_stop "$2" ;;
  status)  [ $# -eq 2 ] || die "usage: $0 status DIR"; is_running "$2" && { cat "$2/bootstrap" 2>/dev/null; exit 0; }; exit 1 ;;
  install) case "${2:-$IMPL}" in tansu) tansu_install ;; apache) apache_install ;; mock) mock_install ;; *) die "install tansu|apache|mock" ;; esac ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
