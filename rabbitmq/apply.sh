#!/usr/bin/env bash
# Applies rabbitmq/definitions.json to a RUNNING local broker through rabbitmqctl (no HTTP API
# needed), enables the management plugin and checks the result. Safe to run repeatedly: importing
# definitions that already match changes nothing, and enabling an enabled plugin is a no-op.
# Needs rights to run rabbitmqctl (root or the rabbitmq user).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
definitions="${here}/definitions.json"
management_url="${AUTOMAT_RABBITMQ_MANAGEMENT_URL:-http://127.0.0.1:15672}"

step() { printf '\n== %s\n' "$*"; }

step "waiting for the broker"
rabbitmqctl await_startup --timeout 60

step "importing ${definitions}"
rabbitmqctl import_definitions "${definitions}"

step "enabling the management plugin"
if ! rabbitmq-plugins is_enabled rabbitmq_management >/dev/null 2>&1; then
  # A running broker only reads management.tcp.ip from its config file at boot. Unless that file
  # already sets it, pin the listener to loopback for this node before the plugin starts;
  # rabbitmq.conf in this folder makes the setting permanent.
  if ! grep -qs '^management\.tcp\.ip' /etc/rabbitmq/rabbitmq.conf; then
    rabbitmqctl eval \
      'application:set_env(rabbitmq_management, tcp_config, [{ip, "127.0.0.1"}, {port, 15672}], [{persistent, true}]).'
  fi
fi
rabbitmq-plugins enable rabbitmq_management

# The import runs asynchronously inside the broker, so the checks retry for a few seconds.
expect_listed() {
  local what="$1" count="$2"
  shift 2
  for _ in $(seq 1 20); do
    if [[ "$(rabbitmqctl -q "$@" | grep -cE '^automat')" -ge "${count}" ]]; then
      rabbitmqctl -q "$@" | grep -E '^automat'
      return 0
    fi
    sleep 0.5
  done
  echo "apply.sh: expected ${count} automat ${what} after the import" >&2
  rabbitmqctl -q "$@" >&2
  return 1
}

step "verifying exchanges"
expect_listed exchanges "$(grep -c '"type":' "${definitions}")" list_exchanges name type durable

step "verifying queues"
expect_listed queues "$(grep -c '"x-queue-type":' "${definitions}")" \
  list_queues name type durable arguments

step "verifying the management API at ${management_url}"
for _ in $(seq 1 30); do
  if curl -fsS -o /dev/null -u guest:guest "${management_url}/api/overview"; then
    curl -fsS -u guest:guest "${management_url}/api/queues?columns=name,type,durable" |
      tr '{' '\n' | grep -o '"name":"automat[^"]*"' || true
    echo "management API answers"
    exit 0
  fi
  sleep 1
done
echo "apply.sh: ${management_url}/api/overview did not answer within 30 s" >&2
exit 1
