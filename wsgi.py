"""WSGI entry point.

* Production / PaaS: ``gunicorn wsgi:server`` (settings in gunicorn.conf.py).
* Development: ``python wsgi.py`` migrates, seeds the demo tenants, prints the
  demo logins and serves on http://127.0.0.1:$PORT (default 8050).
* Command line: ``flask --app wsgi --help``.
"""
from __future__ import annotations

import os
import sys

from portal import create_app
from portal.platform.config import ConfigError
from portal.startup import prepare

try:
    server = create_app()
except ConfigError as error:
    print(f"Cannot start the portal: {error}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    settings = server.extensions["portal"].settings
    prepare(settings)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8050"))
    print(f"Customer analytics portal: http://{host}:{port}/  (Ctrl+C to stop)", flush=True)
    server.run(host=host, port=port, debug=False, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
