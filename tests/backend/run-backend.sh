#!/usr/bin/env bash
# The real alignak-backend 1.4.16 (Eve 0.7.9 / Flask 0.12 / Werkzeug 0.11), from PyPI, on
# Python 3, with MongoDB replaced by an in-memory mongomock store (MongoDB cannot be installed
# here). Used by the end-to-end tests (tests/src/backend.rs); data is lost when it stops.
#
#   run-backend.sh install            make the virtual environment if it is missing (PyPI only)
#   run-backend.sh start PORT [DIR]   start on 127.0.0.1:PORT (run files in DIR, default
#                                     /tmp/alignak-ws-backend-PORT), wait until it answers,
#                                     print its PID
#   run-backend.sh stop PORT [DIR]
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
VENV="${ALIGNAK_WS_BACKEND_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/alignak-ws-tests/backend-venv}"
CMD="${1:-}"
PORT="${2:-}"
RUNDIR="${3:-/tmp/alignak-ws-backend-$PORT}"
PYTHON="${PYTHON:-python3}"

usage() { echo "usage: $0 install | start PORT [DIR] | stop PORT [DIR]" >&2; exit 2; }

ready() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import alignak_backend, mongomock, eve, flask_pymongo' 2>/dev/null
}

install_venv() {
  ready && return 0
  # One install at a time: tests start several backends at once.
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"
  flock 9
  ready && return 0
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  printf '*\n' > "$VENV/.gitignore"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "setuptools<58" wheel
  local site
  site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  cp "$HERE/py311_compat_shim.py" "$site/"
  echo "import py311_compat_shim" > "$site/py311_compat_shim.pth"
  "$VENV/bin/pip" install -q --no-build-isolation --no-deps -r "$HERE/requirements.txt"
  ready || { echo "the backend's environment does not import" >&2; exit 1; }
}

answers() {
  "$VENV/bin/python" - "$PORT" <<'PY'
import os, ssl, sys, urllib.request, urllib.error
scheme = "https" if os.environ.get("ALIGNAK_WS_BACKEND_CERT") else "http"
try:
    urllib.request.urlopen("%s://127.0.0.1:%s/version" % (scheme, sys.argv[1]), timeout=2,
                           context=ssl._create_unverified_context())
except urllib.error.HTTPError:
    pass          # 401: it answers
except Exception:
    sys.exit(1)
PY
}

case "$CMD" in
  install) install_venv; echo "environment ready: $VENV" ;;
  start)
    [ -n "$PORT" ] || usage
    install_venv
    mkdir -p "$RUNDIR"
    cd "$RUNDIR"
    "$VENV/bin/python" "$HERE/launch.py" "$PORT" > "$RUNDIR/backend.log" 2>&1 &
    echo $! > "$RUNDIR/backend.pid"
    for _ in $(seq 1 120); do
      answers && { cat "$RUNDIR/backend.pid"; exit 0; }
      kill -0 "$(cat "$RUNDIR/backend.pid")" 2>/dev/null || break
      sleep 0.25
    done
    echo "the backend does not answer on port $PORT; its log:" >&2
    tail -30 "$RUNDIR/backend.log" >&2
    exit 1 ;;
  stop)
    [ -n "$PORT" ] || usage
    if [ -f "$RUNDIR/backend.pid" ]; then
      kill "$(cat "$RUNDIR/backend.pid")" 2>/dev/null || true
      rm -f "$RUNDIR/backend.pid"
    fi ;;
  *) usage ;;
esac
