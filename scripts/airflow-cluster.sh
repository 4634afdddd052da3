#!/usr/bin/env bash
# Airflow with the CeleryExecutor on this machine, natively, on loopback: the services of
# docker/compose.yaml (Postgres metadata database, Redis broker, scheduler, API server, DAG processor and
# Celery workers) as plain processes, for `make airflow` and the scale-out test.
#
#   scripts/airflow-cluster.sh start STATE_DIR [WORKERS]   start everything (default 2 workers), return when ready
#   scripts/airflow-cluster.sh stop STATE_DIR              stop every process it started, delete the database
#   scripts/airflow-cluster.sh run STATE_DIR [WORKERS]     start, wait for Ctrl-C, stop (`make airflow`)
#
# STATE_DIR/env holds the settings (source it to use the `airflow` CLI against the cluster), STATE_DIR/logs
# each service's log, STATE_DIR/pids/<service>.pid the process (group) of each. MHHS_DATA_DIR,
# MHHS_LANDING_DIR, MHHS_STANDING_DATA and MHHS_OUT_DIR pass through to the tasks (pipelines/jobs/orchestration.py).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${MHHS_VENV_BIN:-$ROOT/.venv/bin}
# The services, named as in docker/compose.yaml (tests/test_docker.py checks they match).
SERVICES=(postgres redis airflow-init scheduler api-server dag-processor worker)

usage() { echo "usage: $0 start STATE_DIR [WORKERS] | stop STATE_DIR | run STATE_DIR [WORKERS]" >&2; exit 2; }
[ $# -ge 2 ] || usage
command=$1
state=$(realpath -m "$2")
workers=${3:-2}

free_port() { "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts a service in its own process group (so stop reaches its children), logging to logs/NAME.log.
launch() {
    local name=$1; shift
    setsid "$@" >"$state/logs/$name.log" 2>&1 < /dev/null &
    echo $! >"$state/pids/$name.pid"
}

wait_for() {
    local what=$1 seconds=$2; shift 2
    for _ in $(seq "$seconds"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    echo "$what did not become ready in ${seconds}s; see $state/logs/" >&2
    return 1
}

stop() {
    [ -d "$state/pids" ] || return 0
    for pidfile in "$state"/pids/*.pid; do
        [ -e "$pidfile" ] || continue
        kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
    done
    for pidfile in "$state"/pids/*.pid; do
        [ -e "$pidfile" ] || continue
        local pid
        pid=$(cat "$pidfile")
        for _ in $(seq 30); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
        rm -f "$pidfile"
    done
    if [ -f "$state/postgres_dir" ]; then
        rm -rf "$(cat "$state/postgres_dir")"
        rm -f "$state/postgres_dir"
    fi
}

start() {
    [ -x "$BIN/airflow" ] || { echo "no Airflow in $BIN: run make setup first" >&2; exit 1; }
    if compgen -G "$state/pids/*.pid" >/dev/null; then
        echo "$state already has a running cluster: stop it first ($0 stop $state)" >&2; exit 1
    fi
    mkdir -p "$state/pids" "$state/logs" "$state/home"
    local pg_bin pg_port redis_port api_port pg_dir
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL is not installed: run make setup first" >&2; exit 1; }
    pg_port=$(free_port); redis_port=$(free_port); api_port=$(free_port)

    # PostgreSQL refuses to run as root: as root it runs as the postgres user, in a folder of its own
    # (test folders are often private to root).
    pg_dir=$(mktemp -d /tmp/mhhs-airflow-postgres.XXXXXX)
    echo "$pg_dir" >"$state/postgres_dir"
    local as_postgres=()
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$pg_dir"
        as_postgres=(runuser -u postgres --)
    fi
    "${as_postgres[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U airflow --auth=trust -E UTF8 >"$state/logs/initdb.log" 2>&1
    launch postgres "${as_postgres[@]}" "$pg_bin/postgres" -D "$pg_dir/data" -p "$pg_port" -k "$pg_dir" \
        -c listen_addresses=127.0.0.1
    wait_for PostgreSQL 60 "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" -U airflow
    "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U airflow airflow

    launch redis redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$state"
    wait_for Redis 30 redis-cli -p "$redis_port" ping

    local database="postgresql+psycopg2://airflow@127.0.0.1:$pg_port/airflow"
    cat >"$state/env" <<ENV
export AIRFLOW_HOME="$state/home"
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$database"
export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:$redis_port/0"
export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql://airflow@127.0.0.1:$pg_port/airflow"
export AIRFLOW__CELERY__WORKER_CONCURRENCY=${MHHS_WORKER_CONCURRENCY:-1}
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$api_port/execution/"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$api_port"
export AIRFLOW__API_AUTH__JWT_SECRET="$("$BIN/python" -c 'import secrets; print(secrets.token_hex(32))')"
export AIRFLOW__CORE__HOSTNAME_CALLABLE=pipelines.jobs.orchestration.worker_hostname
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=10
export MHHS_DATA_DIR="${MHHS_DATA_DIR:-$state/data}"
export MHHS_LANDING_DIR="${MHHS_LANDING_DIR:-${MHHS_DATA_DIR:-$state/data}/landing}"
export MHHS_STANDING_DATA="${MHHS_STANDING_DATA:-}"
export MHHS_OUT_DIR="${MHHS_OUT_DIR:-${MHHS_DATA_DIR:-$state/data}/outbound}"
export MHHS_AIRFLOW_URL="http://127.0.0.1:$api_port"
export PATH="$BIN:\$PATH"
ENV
    # shellcheck disable=SC1091
    source "$state/env"
    [ -n "$MHHS_STANDING_DATA" ] || unset MHHS_STANDING_DATA
    "$BIN/airflow" db migrate >"$state/logs/airflow-init.log" 2>&1 \
        || { echo "airflow db migrate failed; see $state/logs/airflow-init.log" >&2; exit 1; }
    # The ingest tasks' pool (pipelines/jobs/orchestration.py INGEST_POOL): one landing file at a time, queued
    # in the pool rather than holding a worker on the ingestion lock. Without it they are never scheduled.
    "$BIN/airflow" pools set mhhs_ingest 1 "mhhs_ingest: one landing file ingested at a time" \
        >>"$state/logs/airflow-init.log" 2>&1 \
        || { echo "airflow pools set failed; see $state/logs/airflow-init.log" >&2; exit 1; }

    launch api-server "$BIN/airflow" api-server --host 127.0.0.1 --port "$api_port"
    launch scheduler "$BIN/airflow" scheduler
    launch dag-processor "$BIN/airflow" dag-processor
    for i in $(seq "$workers"); do
        # each worker its own name (recorded as the task instances' hostname) and log server port
        launch "worker-$i" env MHHS_WORKER_NAME="worker-$i" AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="$(free_port)" \
            "$BIN/airflow" celery worker --celery-hostname "worker-$i@%h"
    done
    wait_for "the API server" 120 "$BIN/python" -c \
        "import urllib.request; urllib.request.urlopen('$MHHS_AIRFLOW_URL/api/v2/monitor/health', timeout=2)"
    echo "Airflow is up at $MHHS_AIRFLOW_URL (scheduler, DAG processor, $workers Celery workers); logs in $state/logs"
}

case $command in
    start) trap 'status=$?; [ $status -eq 0 ] || stop; exit $status' EXIT; start ;;
    stop) stop ;;
    run)
        trap 'stop; exit 0' INT TERM
        trap stop EXIT
        start
        echo "UI and API: $MHHS_AIRFLOW_URL    data: $MHHS_DATA_DIR    landing: $MHHS_LANDING_DIR"
        echo "airflow CLI against it: source $state/env    Ctrl-C stops everything"
        while true; do sleep 3600 & wait $!; done ;;
    *) usage ;;
esac
