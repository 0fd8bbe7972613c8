#!/usr/bin/env python
"""Run the real alignak-backend 1.4.16 (Eve 0.7.9 / Flask 0.12) with its MongoDB storage
replaced by an in-memory mongomock client (no MongoDB server needed).

Usage: launch.py PORT (listens on 127.0.0.1). Data is lost on exit. Started by run-backend.sh.
"""
import os
import sys

import json  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = os.path.join(HERE, 'settings.json')
# A smaller page limit (ALIGNAK_WS_BACKEND_PAGE_LIMIT) makes tests cross pages with few items.
if os.environ.get('ALIGNAK_WS_BACKEND_PAGE_LIMIT'):
    with open(SETTINGS) as f:
        settings = json.load(f)
    limit = int(os.environ['ALIGNAK_WS_BACKEND_PAGE_LIMIT'])
    settings['PAGINATION_LIMIT'] = limit
    settings['PAGINATION_DEFAULT'] = limit
    SETTINGS = os.path.join(os.getcwd(), 'settings.json')
    with open(SETTINGS, 'w') as f:
        json.dump(settings, f)
os.environ.setdefault('ALIGNAK_BACKEND_CONFIGURATION_FILE', SETTINGS)

import mongomock  # noqa: E402
import pymongo  # noqa: E402

# One shared in-memory server for every client the app creates
_STORE = mongomock.MongoClient()._store


class MockClient(mongomock.MongoClient):
    """mongomock client accepting the pymongo 3 kwargs used by Flask-PyMongo 0.5"""
    def __init__(self, *args, **kwargs):
        for k in list(kwargs):
            if k not in ('document_class', 'tz_aware', 'connect', 'read_preference'):
                kwargs.pop(k)
        kwargs['_store'] = _STORE
        super().__init__(*args, **kwargs)


pymongo.MongoClient = MockClient
pymongo.MongoReplicaSetClient = MockClient
import flask_pymongo  # noqa: E402
import flask_pymongo.wrappers  # noqa: E402
flask_pymongo.MongoClient = MockClient
flask_pymongo.MongoReplicaSetClient = MockClient
flask_pymongo.wrappers.MongoClient = MockClient
flask_pymongo.wrappers.MongoReplicaSetClient = MockClient

from alignak_backend.app import app  # noqa: E402  (creates realm All, admin user, ...)



@app.route('/_launcher_pid')
def _launcher_pid():
    """Which process answers on this port: run-backend.sh waits for its own, not for another
    server that took the port meanwhile. Not one of the backend's resources (no auth)."""
    return str(os.getpid())


port = int(sys.argv[1]) if len(sys.argv) > 1 else int(app.config.get('PORT', 15000))
# HTTPS when run-backend.sh is given a certificate (PEM chain) and its key.
cert = os.environ.get('ALIGNAK_WS_BACKEND_CERT')
key = os.environ.get('ALIGNAK_WS_BACKEND_KEY')
tls = (cert, key) if cert and key else None
print("alignak-backend (mongomock) listening on %s://127.0.0.1:%d"
      % ('https' if tls else 'http', port), flush=True)
app.run(host='127.0.0.1', port=port, debug=False, threaded=True, use_reloader=False,
        ssl_context=tls)
