#!/usr/bin/env bash
# Stop the local Ceph/S3 cluster started by scripts/s3/start.sh.
#
# Only the processes recorded in the PID files of the data dir are signalled,
# and only if they still are the expected program (a stale PID file must not
# make us kill an unrelated process that got the same PID).
# The OSD keeps objects in memory, so stopping discards all S3 data; the next
# start.sh builds a fresh cluster with new keys.
set -euo pipefail

DATA="${AUTOMAT_S3_DATA:-/tmp/automat0-s3}"
RUN="${DATA}/run"
# Seconds to wait for a clean exit before SIGKILL.
GRACE="${AUTOMAT_S3_STOP_GRACE:-15}"

log() { printf '[s3 %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ ! -d $DATA ]]; then
  log "nothing running (no data dir $DATA)"
  exit 0
fi

# Same lock as start.sh (which sets _AUTOMAT_S3_LOCK_HELD when it calls us).
if [[ -z ${_AUTOMAT_S3_LOCK_HELD:-} ]]; then
  exec 9>"${DATA%/}.lock"
  flock -w 600 9 || { log "ERROR: could not lock ${DATA%/}.lock"; exit 1; }
fi

# Is PID $1 running? Zombies count as exited: daemons are reparented to PID 1,
# which in containers may take a while to reap them.
running() { grep -q '^State:[[:space:]]*[^Z]' "/proc/$1/status" 2>/dev/null; }

# wait_gone PID SECONDS: true once PID has exited, false on timeout.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while running "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# PID of daemon $1 from its PID file, if that process is alive and still is
# the expected program.
live_pid() {
  local name=$1 comm pid
  case $name in
    mon.*) comm=ceph-mon ;;
    osd.*) comm=ceph-osd ;;
    *) comm=radosgw ;;
  esac
  [[ -r "$RUN/$name.pid" ]] || return 1
  pid=$(<"$RUN/$name.pid")
  [[ $pid =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] || return 1
  running "$pid" || return 1
  echo "$pid"
}

# stop_daemons SIGNAL NAME...: send SIGNAL to each running daemon, then wait
# for all of them; SIGKILL whatever is still alive after $GRACE seconds.
stopped=0
stop_daemons() {
  local sig=$1 name pid
  shift
  local -A pids=()
  for name in "$@"; do
    pid=$(live_pid "$name") || continue
    log "stopping $name (pid $pid, SIG$sig)"
    kill "-$sig" "$pid" 2>/dev/null || true
    pids[$name]=$pid
  done
  for name in "${!pids[@]}"; do
    pid=${pids[$name]}
    if ! wait_gone "$pid" "$GRACE"; then
      log "$name (pid $pid) still alive after ${GRACE}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || { log "ERROR: $name (pid $pid) did not exit"; exit 1; }
    fi
    stopped=$((stopped + 1))
  done
}

if live_pid mon.a >/dev/null && live_pid osd.0 >/dev/null; then
  # Healthy cluster: one at a time, clients first. radosgw needs the OSD and
  # monitor to shut down cleanly, and the OSD waits (up to 5s) for the
  # monitor to acknowledge its shutdown. Each takes ~2s.
  stop_daemons TERM client.rgw
  stop_daemons TERM osd.0
  stop_daemons TERM mon.a
else
  # Half-dead cluster (a daemon crashed or was killed): radosgw would hang
  # on SIGTERM waiting for the missing OSD, and there is nothing left worth
  # a clean shutdown, so kill the survivors outright.
  stop_daemons KILL client.rgw osd.0 mon.a
fi
rm -f "$RUN"/*.pid

if ((stopped == 0)); then
  log "nothing running (data dir: $DATA)"
else
  log "stopped $stopped daemon(s)"
fi
