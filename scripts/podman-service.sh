#!/usr/bin/env bash
# Podman's Docker-compatible API on a private socket, for Testcontainers (see docs/testing.md).
#
#   eval "$(scripts/podman-service.sh start)"   # start it; prints the exports Testcontainers needs
#   scripts/podman-service.sh env               # print those exports again
#   scripts/podman-service.sh status            # is it running and answering?
#   scripts/podman-service.sh stop              # remove the containers startEtcd() started, end the service
#   scripts/podman-service.sh stop-containers   # only remove those containers
#
# Needs podman and runc (Debian: apt-get install podman runc). Everything lives in one directory,
# $ZTAP_PODMAN_DIR (default: $TMPDIR/ztap-podman-<uid>): the socket, the service's pid and log, and a
# containers.conf that selects runc (crun refuses hybrid cgroup hosts) and caps the containers'
# ulimits at what this process may hand out (Podman's default, nofile=1048576, fails in sandboxes
# with lower hard limits). Messages go to stderr; only the exports go to stdout.
#
# `stop` removes only containers carrying the label startEtcd() puts on them (ztap.cluster-testing),
# and ends only the service it started, by the pid it recorded.
set -euo pipefail

dir="${ZTAP_PODMAN_DIR:-${TMPDIR:-/tmp}/ztap-podman-$(id -u)}"
socket="$dir/podman.sock"
pidfile="$dir/service.pid"
logfile="$dir/service.log"
conf="$dir/containers.conf"
# The label @ztap/cluster-testing puts on every container it starts (CONTAINER_LABEL in
# packages/testing/src/etcd/container.ts).
label="ztap.cluster-testing"
start_timeout="${ZTAP_PODMAN_START_TIMEOUT:-30}"

say() { echo "podman-service: $*" >&2; }
# Milliseconds since the epoch (bash 5's EPOCHREALTIME; whole seconds on older shells).
now_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local t="${EPOCHREALTIME/[.,]/}"
    echo $((10#$t / 1000))
  else
    echo $(($(date +%s) * 1000))
  fi
}
die() {
  say "ERROR: $*"
  exit 1
}

exports() {
  cat <<EOF
export CONTAINERS_CONF='$conf'
export DOCKER_HOST='unix://$socket'
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
EOF
}

# The pid of the service this script started, if that process still runs and is that service.
service_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"system service "*"unix://$socket"* ]] || return 1
  echo "$pid"
}

# Whether the API answers GET /_ping within a second or two.
answers() {
  [ -S "$socket" ] || return 1
  if command -v curl >/dev/null 2>&1; then
    [ "$(curl -s -m 2 --unix-socket "$socket" http://d/_ping 2>/dev/null)" = "OK" ]
  else
    timeout 5 podman --remote --url "unix://$socket" version >/dev/null 2>&1
  fi
}

write_conf() {
  # This shell's hard limits, which no container may exceed; and Podman lowers its own nproc to the
  # kernel's pid_max, so a container may not exceed that either.
  local nofile nproc pid_max
  nofile="$(ulimit -Hn)"
  nproc="$(ulimit -Hu)"
  pid_max="$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)"
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ] && nproc="$pid_max"
  cat >"$conf" <<EOF
# Written by scripts/podman-service.sh.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
EOF
}

start() {
  command -v podman >/dev/null 2>&1 ||
    die "podman is not installed (Debian/Ubuntu: apt-get install podman runc)"
  command -v runc >/dev/null 2>&1 ||
    die "runc is not installed (Debian/Ubuntu: apt-get install runc); crun fails on hybrid cgroup hosts"
  mkdir -p "$dir"
  chmod 700 "$dir"
  write_conf
  if service_pid >/dev/null && answers; then
    say "already running (pid $(service_pid)) on unix://$socket"
    exports
    return
  fi
  rm -f "$socket" "$pidfile"
  local started
  started="$(now_ms)"
  # Its own session, so a Ctrl-C aimed at a test run does not end it; stop ends it by its pid.
  CONTAINERS_CONF="$conf" setsid podman system service --time=0 "unix://$socket" \
    </dev/null >"$logfile" 2>&1 &
  local pid=$!
  echo "$pid" >"$pidfile"
  local deadline=$((started + start_timeout * 1000))
  until answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "the service exited; its log ($logfile):"
      tail -n 20 "$logfile" >&2 || true
      rm -f "$pidfile"
      die "podman system service did not start"
    fi
    if [ "$(now_ms)" -ge "$deadline" ]; then
      say "no answer on $socket within ${start_timeout}s; its log ($logfile):"
      tail -n 20 "$logfile" >&2 || true
      stop_service
      die "podman system service did not answer within ${start_timeout}s"
    fi
    sleep 0.1
  done
  say "Docker API of $(podman --version) on unix://$socket (pid $pid), answering after $(($(now_ms) - started)) ms"
  exports
}

remove_containers() {
  command -v podman >/dev/null 2>&1 || return 0
  local ids
  ids="$(CONTAINERS_CONF="$conf" podman ps -aq --filter "label=$label" 2>/dev/null || true)"
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one id per word
    CONTAINERS_CONF="$conf" podman rm -f --time 2 $ids >/dev/null
    say "removed $(echo "$ids" | wc -w) container(s) labelled $label"
  else
    say "no containers labelled $label left"
  fi
}

# Signals the service: its whole process group when it leads one (start runs it with setsid, so that
# group is the service and its helpers, nothing else), else just its pid.
signal_service() {
  local signal="$1" pid="$2"
  if [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ]; then
    kill "-$signal" -- "-$pid" 2>/dev/null || true
  else
    kill "-$signal" "$pid" 2>/dev/null || true
  fi
}

stop_service() {
  local pid
  if pid="$(service_pid)"; then
    signal_service TERM "$pid"
    local deadline=$(($(now_ms) + 10000))
    while kill -0 "$pid" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      signal_service KILL "$pid"
      say "service (pid $pid) ignored SIGTERM for 10 s: killed"
    else
      say "service (pid $pid) stopped"
    fi
  fi
  rm -f "$pidfile" "$socket"
}

stop() {
  local status=0
  remove_containers || status=1
  stop_service || status=1
  return "$status"
}

status() {
  local pid
  if pid="$(service_pid)" && answers; then
    say "running (pid $pid) on unix://$socket"
    CONTAINERS_CONF="$conf" podman ps -a --filter "label=$label" --format '{{.ID}} {{.Image}} {{.Status}}' >&2 || true
  else
    say "not running"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  stop-containers) remove_containers ;;
  env) exports ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|stop-containers|status|env" >&2
    exit 2
    ;;
esac
