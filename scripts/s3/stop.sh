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
GRACE="${AUTOMAT_S3_STOP_GRACE:-20}"

log() { printf '[s3 %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# wait_gone PID SECONDS: true once PID has exited, false on timeout.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Front to back: radosgw first (it is a client of the OSD), monitor last.
stopped=0
for name in client.rgw osd.0 mon.a; do
  pidfile="$RUN/$name.pid"
  [[ -r $pidfile ]] || continue
  case $name in
    mon.*) comm=ceph-mon ;;
    osd.*) comm=ceph-osd ;;
    *) comm=radosgw ;;
  esac
  pid=$(<"$pidfile")
  if [[ $pid =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]]; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$GRACE"; then
      log "$name (pid $pid) still alive after ${GRACE}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || { log "ERROR: $name (pid $pid) did not exit"; exit 1; }
    fi
    stopped=$((stopped + 1))
  fi
  rm -f "$pidfile"
done

if ((stopped == 0)); then
  log "nothing running (data dir: $DATA)"
else
  log "stopped $stopped daemon(s)"
fi
