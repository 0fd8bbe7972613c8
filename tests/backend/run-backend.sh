#!/usr/bin/env bash
# The real alignak-backend 1.4.16 (Eve 0.7.9 / Flask 0.12 / Werkzeug 0.11), from PyPI, on
# Python 3, with MongoDB replaced by an in-memory mongomock store (MongoDB cannot be installed
# here). Used by the end-to-end tests (tests/src/backend.rs); data is lost when it stops.
#
#   run-backend.sh install            make the virtual environment if it is missing (PyPI only)
#   run-backend.sh start PORT [DIR]   start on 127.0.0.1:PORT (run files in DIR, default
#                                     /tmp/alignak-ws-backend-PORT), wait until it answers,
#                                     print its PID
#   run-backend.sh stop PORT [DIR]     stop it (SIGTERM, then SIGKILL), wait until it is gone
#
# Exit status 3: python3 or its venv module is missing (the tests skip then, unless CI is
# set); any other failure (PyPI unreachable, a build that fails) is 1.
#
# With ALIGNAK_WS_BACKEND_CERT and ALIGNAK_WS_BACKEND_KEY (PEM files) it serves HTTPS only;
# with ALIGNAK_WS_BACKEND_PAGE_LIMIT=N its pages hold at most N items.
#
# The environment is made under ${ALIGNAK_WS_BACKEND_VENV:-~/.cache/alignak-ws-tests/backend-venv},
# never in the repository. On start the backend creates realm All, user admin/admin,
# timeperiods 24x7/Never, commands _internal_host_up/_echo and the host template _dummy.
#
# Why the pins (requirements.txt, installed --no-deps --no-build-isolation): jsmin 2.2.2 uses
# setup(use_2to3=...) -> setuptools<58; Eve 0.7.9 needs Cerberus<0.10, whose setup.py imports
# collections.Iterable -> py311_compat_shim.py (loaded by a .pth) puts back the aliases Python
# 3.10 removed; pymongo 3 (Flask-PyMongo 0.5 imports MongoReplicaSetClient); Flask 0.12 and
# Werkzeug 0.11 as Eve resolves them.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="${ALIGNAK_WS_BACKEND_VENV:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/alignak-ws-tests/backend-venv}"
CMD="${1:-}"
PORT="${2:-}"
RUNDIR="${3:-/tmp/alignak-ws-backend-$PORT}"
PYTHON="${PYTHON:-python3}"

usage() { echo "usage: $0 install | start PORT [DIR] | stop PORT [DIR]" >&2; exit 2; }

ready() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import alignak_backend, mongomock, eve, flask_pymongo' 2>/dev/null
}

# pip: retried downloads and a bounded wait for each (a slow mirror should not hang CI); the
# pip cache is used as usual.
pip() { "$VENV/bin/pip" --disable-pip-version-check --retries 5 --timeout 60 "$@"; }

install_venv() {
  ready && return 0
  command -v "$PYTHON" >/dev/null 2>&1 || { echo "$PYTHON is missing" >&2; exit 3; }
  "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
    || { echo "$PYTHON has no venv/ensurepip module (Debian: apt-get install python3-venv)" >&2; exit 3; }
  # One install at a time: tests start several backends at once.
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"
  flock 9
  ready && return 0
  local started=$SECONDS
  echo "making the Alignak backend's environment in $VENV (PyPI)..." >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || { rm -rf "$VENV"; echo "$PYTHON -m venv failed" >&2; exit 3; }
  printf '*\n' > "$VENV/.gitignore"
  pip install -q --upgrade pip
  pip install -q "setuptools<58" wheel
  local site
  site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  cp "$HERE/py311_compat_shim.py" "$site/"
  echo "import py311_compat_shim" > "$site/py311_compat_shim.pth"
  pip install -q --no-build-isolation --no-deps -r "$HERE/requirements.txt"
  ready || { echo "the backend's environment does not import" >&2; exit 1; }
  echo "the Alignak backend's environment was made in $((SECONDS - started)) s" >&2
}

# Whether process $1 runs (a zombie that nobody reaped yet does not: the backend is started in
# the background and outlives this script, so its parent is whatever adopts it).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [ "$state" != Z ]
}

# Stops the process of the pid file: SIGTERM, then SIGKILL after 5 s; returns once it is gone
# (so that its port is free for the next start).
stop_backend() {
  [ -f "$RUNDIR/backend.pid" ] || return 0
  local pid
  pid="$(cat "$RUNDIR/backend.pid")"
  rm -f "$RUNDIR/backend.pid"
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    alive "$pid" || return 0
    sleep 0.1
  done
  echo "process $pid did not exit" >&2
  return 1
}

# Whether `GET /version` answers on the port; with a PID, also that this process is the one
# answering (launch.py's /_launcher_pid).
answers() {
  "$VENV/bin/python" - "$PORT" "${1:-}" <<'PY'
import os, ssl, sys, urllib.request, urllib.error
scheme = "https" if os.environ.get("ALIGNAK_WS_BACKEND_CERT") else "http"
base = "%s://127.0.0.1:%s" % (scheme, sys.argv[1])
context = ssl._create_unverified_context()
try:
    urllib.request.urlopen(base + "/version", timeout=2, context=context)
except urllib.error.HTTPError:
    pass          # 401: it answers
except Exception:
    sys.exit(1)
if sys.argv[2]:
    try:
        pid = urllib.request.urlopen(base + "/_launcher_pid", timeout=2, context=context).read()
    except Exception:
        sys.exit(1)
    sys.exit(0 if pid.decode().strip() == sys.argv[2] else 1)
PY
}

case "$CMD" in
  install) install_venv; echo "environment ready: $VENV" ;;
  start)
    [ -n "$PORT" ] || usage
    install_venv
    # Another server on the port would answer for ours.
    if answers; then echo "port $PORT is in use already" >&2; exit 1; fi
    mkdir -p "$RUNDIR"
    cd "$RUNDIR"
    "$VENV/bin/python" "$HERE/launch.py" "$PORT" > "$RUNDIR/backend.log" 2>&1 &
    pid=$!
    echo "$pid" > "$RUNDIR/backend.pid"
    for _ in $(seq 1 120); do
      # Ours, still running (not another server that took the port meanwhile).
      answers "$pid" && { echo "$pid"; exit 0; }
      alive "$pid" || break
      sleep 0.25
    done
    echo "the backend does not answer on port $PORT; its log:" >&2
    tail -30 "$RUNDIR/backend.log" >&2
    stop_backend || true
    exit 1 ;;
  stop)
    [ -n "$PORT" ] || usage
    stop_backend ;;
  *) usage ;;
esac
