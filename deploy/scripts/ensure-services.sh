#!/usr/bin/env bash
# Start RabbitMQ and PostgreSQL when they are installed but not answering, then wait
# until each port answers. Fails loudly if a service is missing or will not start.
set -euo pipefail

wait_for() {  # name, command; up to 60 s
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then echo "$name is up"; return 0; fi
    sleep 1
  done
  echo "ERROR: $name did not come up" >&2
  return 1
}

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
rabbit_up() { timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672' 2>/dev/null && rabbitmq-diagnostics -q ping >/dev/null 2>&1; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ERROR: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1
fi
if ! postgres_up; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
wait_for PostgreSQL postgres_up

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "ERROR: RabbitMQ is not installed (apt-get install rabbitmq-server)" >&2; exit 1
fi
if ! rabbit_up; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
fi
wait_for RabbitMQ rabbit_up
