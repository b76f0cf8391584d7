"""The WSGI entry point: gunicorn wsgi:app."""

import sys

from portal import create_app
from portal.settings import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # A bad setting is an operator's mistake, not a crash: one line naming the key, no traceback.
    sys.stderr.write(f"portal: configuration error: {exc}\n")
    raise SystemExit(3) from None
