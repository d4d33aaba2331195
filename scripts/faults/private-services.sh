#!/usr/bin/env bash
# Starts and stops private instances of RabbitMQ, PostgreSQL and the S3 server for fault
# injection, on their own ports with their data in one temporary folder, so that stopping them
# disturbs nothing else on the machine. Every daemon is recorded by PID and stopped by PID.
#
#   private-services.sh start      start all three (idempotent); prints the env file path
#   private-services.sh stop       stop all three
#   private-services.sh stop-rabbitmq|start-rabbitmq|stop-postgres|start-postgres|stop-s3|start-s3
#
# Ports (override by environment): AMQP 5673, Postgres 5433, S3 7481 (monitor 6790).
set -euo pipefail

root="${AUTOMAT_FAULTS_DATA:-/tmp/automat0-faults}"
amqp_port="${AUTOMAT_FAULTS_AMQP_PORT:-5673}"
pg_port="${AUTOMAT_FAULTS_PG_PORT:-5433}"
s3_port="${AUTOMAT_FAULTS_S3_PORT:-7481}"
s3_mon_port="${AUTOMAT_FAULTS_S3_MON_PORT:-6790}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node="faults-${amqp_port}@localhost"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

log() { printf '%s\n' "$*" >&2; }

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_rabbitmq() {
  local dir="${root}/rabbitmq"
  mkdir -p "${dir}/mnesia" "${dir}/log"
  if rabbitmqctl -q -n "${node}" status >/dev/null 2>&1; then return; fi
  # Loopback only; a distribution port of its own so it never clashes with the main node.
  printf 'listeners.tcp.local = 127.0.0.1:%s\nloopback_users = none\n' "${amqp_port}" \
    >"${dir}/rabbitmq.conf"
  printf '[].\n' >"${dir}/enabled_plugins"
  # The rabbitmq-server wrapper drops to the rabbitmq user, which must own the node's files.
  chown -R rabbitmq: "${dir}"
  RABBITMQ_NODENAME="${node}" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="${amqp_port}" RABBITMQ_DIST_PORT="$((amqp_port + 20000))" \
    RABBITMQ_CONFIG_FILE="${dir}/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="${dir}/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="${dir}/mnesia" RABBITMQ_LOG_BASE="${dir}/log" \
    RABBITMQ_PID_FILE="${dir}/rabbitmq.pid" \
    rabbitmq-server -detached
  rabbitmqctl -q -n "${node}" wait --timeout 60 "${dir}/rabbitmq.pid"
  log "rabbitmq ${node} on 127.0.0.1:${amqp_port} (pid $(cat "${dir}/rabbitmq.pid"))"
}

stop_rabbitmq() {
  local pidfile="${root}/rabbitmq/rabbitmq.pid"
  alive "${pidfile}" || return 0
  local pid
  pid="$(cat "${pidfile}")"
  rabbitmqctl -q -n "${node}" stop "${pidfile}" >/dev/null 2>&1 || kill "${pid}" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.2; done
  kill -0 "${pid}" 2>/dev/null && kill -9 "${pid}" 2>/dev/null || true
  log "rabbitmq ${node} stopped"
}

start_postgres() {
  local dir="${root}/postgres"
  if alive "${dir}/data/postmaster.pid.copy"; then return; fi
  if [[ ! -f "${dir}/data/PG_VERSION" ]]; then
    mkdir -p "${dir}"
    chown postgres: "${dir}"
    # initdb refuses to run as root; the cluster belongs to the postgres user.
    runuser -u postgres -- "${pg_bin}/initdb" -D "${dir}/data" -U postgres --auth=trust \
      >"${dir}/initdb.log" 2>&1
  fi
  runuser -u postgres -- "${pg_bin}/pg_ctl" -D "${dir}/data" -l "${dir}/postgres.log" -w \
    -o "-p ${pg_port} -c listen_addresses=127.0.0.1 -k ${dir}" start >/dev/null
  head -n 1 "${dir}/data/postmaster.pid" >"${dir}/data/postmaster.pid.copy"
  log "postgres on 127.0.0.1:${pg_port} (pid $(cat "${dir}/data/postmaster.pid.copy"))"
}

stop_postgres() {
  local dir="${root}/postgres"
  alive "${dir}/data/postmaster.pid.copy" || return 0
  runuser -u postgres -- "${pg_bin}/pg_ctl" -D "${dir}/data" -m fast -w stop >/dev/null
  log "postgres on ${pg_port} stopped"
}

s3_env() {
  AUTOMAT_S3_DATA="${root}/s3" AUTOMAT_S3_PORT="${s3_port}" AUTOMAT_S3_MON_PORT="${s3_mon_port}" "$@"
}

start_s3() { s3_env bash "${here}/../s3/start.sh" >/dev/null; }

# An S3 outage: only the gateway goes away, so the cluster, its objects and the keys survive,
# as they would when a real S3 endpoint is unreachable for a while.
stop_s3_gateway() {
  local pidfile="${root}/s3/run/client.rgw.pid"
  alive "${pidfile}" || return 0
  local pid
  pid="$(cat "${pidfile}")"
  kill "${pid}"
  for _ in $(seq 1 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.2; done
  log "s3 gateway stopped"
}

start_s3_gateway() {
  alive "${root}/s3/run/client.rgw.pid" && return 0
  radosgw -c "${root}/s3/ceph.conf" -n client.rgw </dev/null >>"${root}/s3/log/stdio.log" 2>&1
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:${s3_port}/" && break
    sleep 0.2
  done
  log "s3 gateway on 127.0.0.1:${s3_port} (pid $(cat "${root}/s3/run/client.rgw.pid"))"
}
stop_s3() { s3_env bash "${here}/../s3/stop.sh" >/dev/null 2>&1 || true; }

write_env() {
  local env="${root}/faults.env"
  {
    echo "AUTOMAT_AMQP_URL=amqp://guest:guest@127.0.0.1:${amqp_port}"
    echo "AUTOMAT_DATABASE_URL=postgres://postgres@127.0.0.1:${pg_port}/postgres"
    cat "${root}/s3/s3.env"
  } >"${env}"
  chmod 600 "${env}"
  echo "${env}"
}

mkdir -p "${root}"
case "${1:-}" in
  start) start_rabbitmq; start_postgres; start_s3; write_env ;;
  stop) stop_s3; stop_postgres; stop_rabbitmq ;;
  start-rabbitmq) start_rabbitmq ;;
  stop-rabbitmq) stop_rabbitmq ;;
  start-postgres) start_postgres ;;
  stop-postgres) stop_postgres ;;
  start-s3) start_s3 ;;
  stop-s3) stop_s3 ;;
  stop-s3-gateway) stop_s3_gateway ;;
  start-s3-gateway) start_s3_gateway ;;
  *) log "usage: $0 start|stop|start-<svc>|stop-<svc> (svc: rabbitmq, postgres, s3)"; exit 2 ;;
esac
