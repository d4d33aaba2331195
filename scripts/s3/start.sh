#!/usr/bin/env bash
# Bring up a throw-away, single-node Ceph cluster (1 mon, 1 memstore OSD,
# radosgw) that serves a real S3 API on 127.0.0.1, for tests and CI.
#
# Idempotent: if the daemons recorded in the data dir are alive and the S3
# endpoint answers, it only prints the env file path. Otherwise it tears down
# whatever is left of a previous cluster and builds a fresh one (the OSD keeps
# objects in memory, so a dead cluster has nothing worth keeping anyway).
#
# stdout: the path of the env file (and nothing else); progress goes to stderr.
# See scripts/s3/README.md.
set -euo pipefail

DATA="${AUTOMAT_S3_DATA:-/tmp/automat0-s3}"
S3_PORT="${AUTOMAT_S3_PORT:-7480}"
MON_PORT="${AUTOMAT_S3_MON_PORT:-6789}"
REGION="${AUTOMAT_S3_REGION:-us-east-1}"
BUCKET="${AUTOMAT_S3_BUCKET:-automat0}"
# Upper bound for the in-memory object store; memory is only used as data is
# written, so this is a cap, not an allocation.
MEMSTORE_MB="${AUTOMAT_S3_MEMSTORE_MB:-2048}"
# How long to wait for each phase (mon, OSD, radosgw, bucket) before giving up.
TIMEOUT="${AUTOMAT_S3_TIMEOUT:-120}"

ENDPOINT="http://127.0.0.1:${S3_PORT}"
CONF="${DATA}/ceph.conf"
ENV_FILE="${DATA}/s3.env"
RUN="${DATA}/run"
LOG="${DATA}/log"
# A file that marks the directory as ours, so we never wipe a directory that
# some other tool (or a typo in AUTOMAT_S3_DATA) pointed us at.
MARKER="${DATA}/.automat0-s3"

log() { printf '[s3 %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Serialise concurrent start.sh/stop.sh runs (e.g. parallel CI jobs) on the
# same data dir. The lock file sits next to the data dir because the data dir
# itself is wiped on a rebuild. Daemons are started with 9>&- so they don't
# inherit (and hold on to) the lock.
mkdir -p "$(dirname "$DATA")"
exec 9>"${DATA%/}.lock"
flock -w 600 9 || die "could not lock ${DATA%/}.lock"
export _AUTOMAT_S3_LOCK_HELD=1

# --------------------------------------------------------------------------
# Packages
# --------------------------------------------------------------------------
# Commands we need, and the Debian package that ships each one.
declare -A PKG_OF=(
  [ceph-mon]=ceph-mon
  [monmaptool]=ceph-base
  [ceph-osd]=ceph-osd
  [radosgw]=radosgw
  [radosgw-admin]=ceph-common
  [ceph]=ceph-common
  [curl]=curl
)

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

ensure_packages() {
  local cmd pkg missing=() pkgs=()
  for cmd in "${!PKG_OF[@]}"; do
    command -v "$cmd" >/dev/null || missing+=("${PKG_OF[$cmd]}")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"

  # Install only what is missing: naming an installed package to apt-get
  # install would upgrade it (and its libraries) as a side effect.
  mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Only refresh the package lists when they can't resolve the packages
  # (fresh image) or the install fails (stale lists pointing at removed
  # versions).
  for pkg in "${pkgs[@]}"; do
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then
      as_root apt-get update -qq
      break
    fi
  done
  if ! as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2; then
    log "install failed; refreshing package lists and retrying"
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
  fi
}

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
# Random upper-case hex string of $1 bytes (2*$1 chars). od reads exactly N
# bytes, so unlike `tr </dev/urandom | head` nothing dies of SIGPIPE under
# pipefail.
random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F'; }

# Value of KEY in the env file (empty if absent).
env_get() {
  [[ -r $ENV_FILE ]] || return 0
  sed -n "s/^$1=//p" "$ENV_FILE" | head -n1
}

# Is something already listening on 127.0.0.1:$1?
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PID recorded for daemon $1 (mon.a, osd.0, client.rgw), if that process is
# alive and really is the expected program (guards against PID reuse).
# Zombies count as dead: daemons are reparented to PID 1, and in containers
# PID 1 may take a while to reap them.
live_pid() {
  local name=$1 comm pid
  case $name in
    mon.*) comm=ceph-mon ;;
    osd.*) comm=ceph-osd ;;
    *) comm=radosgw ;;
  esac
  [[ -r "$RUN/$name.pid" ]] || return 1
  pid=$(<"$RUN/$name.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] || return 1
  grep -q '^State:[[:space:]]*[^Z]' "/proc/$pid/status" 2>/dev/null || return 1
  echo "$pid"
}

# HTTP status of a SigV4-signed S3 request: s3_status METHOD PATH [curl args].
# Time limit per request: $S3_MAX_TIME (a healthy radosgw answers in ms; one
# whose OSD died hangs, so probes must not wait long).
# curl >= 7.75 signs requests itself; the explicit x-amz-content-sha256 header
# is required by S3 and curl 7.88 does not add it on its own. The credentials
# go to curl through a config on stdin, not argv, so `ps` never shows them.
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3_status() {
  local method=$1 path=$2 ak sk
  shift 2
  ak=$(env_get AUTOMAT_S3_ACCESS_KEY_ID)
  sk=$(env_get AUTOMAT_S3_SECRET_ACCESS_KEY)
  [[ -n $ak && -n $sk ]] || { echo 000; return 0; }
  printf 'user = "%s:%s"\n' "$ak" "$sk" |
    curl -K - -sS -o /dev/null -w '%{http_code}' --max-time "${S3_MAX_TIME:-5}" \
    --aws-sigv4 "aws:amz:${REGION}:s3" \
    -H "x-amz-content-sha256: ${EMPTY_SHA256}" \
    -X "$method" "$@" "${ENDPOINT}${path}" 2>/dev/null || echo 000
}

# wait_for DESCRIPTION COMMAND...: retry COMMAND every 0.5s until it succeeds
# or $TIMEOUT seconds have passed.
wait_for() {
  local what=$1 deadline=$((SECONDS + TIMEOUT))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what (logs: $LOG)"
    sleep 0.5
  done
}

ceph_cli() { timeout 30 ceph -c "$CONF" --connect-timeout 10 "$@"; }

# --------------------------------------------------------------------------
# Already running?
# --------------------------------------------------------------------------
already_running() {
  live_pid mon.a >/dev/null && live_pid osd.0 >/dev/null &&
    live_pid client.rgw >/dev/null &&
    [[ "$(env_get AUTOMAT_S3_ENDPOINT)" == "$ENDPOINT" ]] &&
    [[ "$(s3_status GET /)" == 200 ]]
}

if [[ -f $MARKER ]] && already_running; then
  log "already running at $ENDPOINT"
  echo "$ENV_FILE"
  exit 0
fi

ensure_packages
# --aws-sigv4 (request signing) appeared in curl 7.75.
curl --help all 2>/dev/null | grep -q -- --aws-sigv4 ||
  die "curl >= 7.75 (with --aws-sigv4) is required"

# --------------------------------------------------------------------------
# Fresh data dir
# --------------------------------------------------------------------------
if [[ -d $DATA && -n "$(ls -A "$DATA")" && ! -f $MARKER ]]; then
  die "$DATA is not empty and was not created by this script; refusing to touch it"
fi
if [[ -f $MARKER ]]; then
  # Leftovers of an earlier cluster (crashed, half-started, or stopped):
  # stop whatever of it still runs, then start over.
  log "cleaning up previous cluster in $DATA"
  "$(dirname "${BASH_SOURCE[0]}")/stop.sh" >&2
fi
for port in "$S3_PORT" "$MON_PORT"; do
  port_busy "$port" && die "127.0.0.1:$port is already in use by another program (set AUTOMAT_S3_PORT / AUTOMAT_S3_MON_PORT)"
done
rm -rf "$DATA"
mkdir -p "$DATA" "$RUN" "$LOG" "$DATA/mon" "$DATA/osd"
chmod 700 "$DATA"
touch "$MARKER"

FSID=$(cat /proc/sys/kernel/random/uuid)

# Everything lives under $DATA and listens on 127.0.0.1 only; /etc/ceph and
# /var/lib/ceph are never used, so this cannot disturb another cluster.
# ($name, $id and $cluster are expanded by Ceph, not by the shell.)
cat >"$CONF" <<EOF
[global]
fsid = ${FSID}
mon_host = [v2:127.0.0.1:${MON_PORT}]
mon_initial_members = a
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
# msgr2 only: one port per daemon, no legacy v1 listener.
ms_bind_msgr1 = false
ms_bind_msgr2 = true
# radosgw defaults to "secure" mode towards the monitor, which needs cephx;
# with auth disabled only "crc" works (else: get_initial_auth_request -13).
ms_mon_client_mode = crc
# Everything is on loopback and throw-away, so no cephx keys to manage.
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# One OSD: single-replica pools, CRUSH may place all copies on one OSD, and
# few PGs per pool so pools are created (peered) quickly. There is no mgr, so
# the PG autoscaler is off.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
# The monitor batches map changes for paxos_propose_interval (1s); every
# pool radosgw creates costs a few of them, so propose faster (~3x quicker
# cold start).
paxos_propose_interval = 0.05
# Don't refuse to run because /tmp is nearly full.
mon_data_avail_crit = 0
mon_data_avail_warn = 0
run_dir = ${RUN}
pid_file = ${RUN}/\$name.pid
admin_socket = ${RUN}/\$name.asok
log_file = ${LOG}/\$name.log
mon_cluster_log_file = ${LOG}/cluster.log
crash_dir = ${DATA}/crash
mon_data = ${DATA}/mon/\$cluster-\$id
osd_data = ${DATA}/osd/\$cluster-\$id
rgw_data = ${DATA}/rgw

[osd]
# Objects are kept in RAM: fast to create and nothing to clean up on disk.
osd_objectstore = memstore
memstore_device_bytes = $((MEMSTORE_MB * 1024 * 1024))

[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:${S3_PORT}
# The default (512 threads) is sized for real servers, not a 2-core CI box.
rgw_thread_pool_size = 32
# Path-style only: no wildcard DNS on localhost.
rgw_dns_name =
EOF

# --------------------------------------------------------------------------
# Monitor
# --------------------------------------------------------------------------
log "creating monitor (127.0.0.1:${MON_PORT})"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:${MON_PORT}]" \
  "$DATA/monmap" >/dev/null
ceph-mon -c "$CONF" -i a --mkfs --monmap "$DATA/monmap" >"$LOG/mkfs-mon.log" 2>&1 ||
  die "ceph-mon --mkfs failed: $(cat "$LOG/mkfs-mon.log")"
# Daemons fork into the background themselves and write their PID files
# ($RUN/<name>.pid); their stdio must not keep the caller's pipes open.
ceph-mon -c "$CONF" -i a </dev/null >>"$LOG/stdio.log" 2>&1 9>&- ||
  die "ceph-mon failed to start: $(tail -n 20 "$LOG/stdio.log")"
mon_ready() { ceph_cli mon stat >/dev/null 2>&1; }
wait_for "monitor quorum" mon_ready

# --------------------------------------------------------------------------
# OSD
# --------------------------------------------------------------------------
log "creating OSD (memstore, ${MEMSTORE_MB} MiB cap)"
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(ceph_cli osd new "$OSD_UUID")
[[ $OSD_ID == 0 ]] || die "expected new OSD id 0, got '$OSD_ID'"
mkdir -p "$DATA/osd/ceph-0"
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$LOG/mkfs-osd.log" 2>&1 ||
  die "ceph-osd --mkfs failed: $(cat "$LOG/mkfs-osd.log")"
ceph-osd -c "$CONF" -i 0 </dev/null >>"$LOG/stdio.log" 2>&1 9>&- ||
  die "ceph-osd failed to start: $(tail -n 20 "$LOG/stdio.log")"
osd_up() { ceph_cli osd dump 2>/dev/null | grep -q '^osd\.0 up '; }
wait_for "OSD to come up" osd_up

# --------------------------------------------------------------------------
# radosgw, user, bucket
# --------------------------------------------------------------------------
# Random keys, generated fresh for every cluster: the access key id here, the
# secret by radosgw itself (so it never appears on a command line), read back
# from the JSON that radosgw-admin prints. python3 comes with ceph-common.
ACCESS_KEY=$(random_hex 10)   # 20 chars, like AWS access key ids
log "creating S3 user (also creates the RGW zone and its pools)"
USER_JSON=$(timeout "$TIMEOUT" radosgw-admin -c "$CONF" user create \
  --uid=automat0 --display-name="Automat0 tests" \
  --access-key="$ACCESS_KEY" --gen-secret 2>>"$LOG/radosgw-admin.err") ||
  die "radosgw-admin user create failed: $(tail -n 20 "$LOG/radosgw-admin.err")"
SECRET_KEY=$(python3 -c '
import json, sys
keys = json.load(sys.stdin)["keys"]
print(next(k["secret_key"] for k in keys if k["access_key"] == sys.argv[1]))
' "$ACCESS_KEY" <<<"$USER_JSON") || die "could not read the secret key from radosgw-admin output"
unset USER_JSON
[[ $SECRET_KEY =~ ^[A-Za-z0-9+/]{20,}$ ]] || die "unexpected secret key format from radosgw-admin"

# Write the env file before the keys are used, readable by the owner only.
(
  umask 077
  cat >"$ENV_FILE.tmp" <<EOF
AUTOMAT_S3_ENDPOINT=${ENDPOINT}
AUTOMAT_S3_REGION=${REGION}
AUTOMAT_S3_ACCESS_KEY_ID=${ACCESS_KEY}
AUTOMAT_S3_SECRET_ACCESS_KEY=${SECRET_KEY}
AUTOMAT_S3_BUCKET=${BUCKET}
EOF
)
mv "$ENV_FILE.tmp" "$ENV_FILE"

log "starting radosgw on ${ENDPOINT}"
# radosgw only forks into the background once it has connected to the
# cluster, so this blocks for a moment (bounded by rgw_init_timeout).
radosgw -c "$CONF" -n client.rgw --rgw-init-timeout "$TIMEOUT" \
  </dev/null >>"$LOG/stdio.log" 2>&1 9>&- ||
  die "radosgw failed to start: $(tail -n 20 "$LOG/stdio.log") (see $LOG/client.rgw.log)"
s3_ready() { [[ "$(s3_status GET /)" == 200 ]]; }
wait_for "S3 endpoint" s3_ready

# The first bucket makes radosgw create the index and data pools, which takes
# a few seconds; PUT is idempotent for the owner, so just retry until 200.
log "creating bucket ${BUCKET}"
bucket_ready() { [[ "$(S3_MAX_TIME=30 s3_status PUT "/${BUCKET}")" == 200 ]]; }
wait_for "bucket ${BUCKET}" bucket_ready
[[ "$(s3_status HEAD "/${BUCKET}" --head)" == 200 ]] || die "bucket ${BUCKET} not visible after creation"

log "S3 ready at ${ENDPOINT} (bucket ${BUCKET}); env file:"
echo "$ENV_FILE"
