"""gunicorn settings for the portal; gunicorn reads this file from the working directory.

Every value comes from the environment (names below), so one file serves `make run` and production:
    PORT / HOST            where to listen (default 127.0.0.1:5000; behind a load balancer: HOST=0.0.0.0)
    GUNICORN_WORKERS       worker processes (default 2; about one per core). Not WEB_CONCURRENCY:
                           gunicorn itself reads that one first and dies with a traceback when it is bad.
    GUNICORN_THREADS       threads per worker (default 8). At most ARGON2_MAX_CONCURRENT of them run a
                           password check (64 MiB each) at once; the others keep serving cheap pages.
    GUNICORN_TIMEOUT       seconds before a silent worker is killed and replaced (default 30)
    GUNICORN_KEEPALIVE     seconds an idle keep-alive connection stays open (default 5, for browsers
                           connecting directly). Behind a load balancer set it above the balancer's own
                           idle timeout (60 s on many: 65), so the balancer closes first; otherwise it may
                           send a request down a connection gunicorn is closing, and answer 502.
    FORWARDED_ALLOW_IPS    proxies whose X-Forwarded-* gunicorn believes (default 127.0.0.1); the portal's
                           own client-IP rule is PROXY_HOPS.
Keep DATABASE_POOL_SIZE at least GUNICORN_THREADS: each thread may hold a connection.
"""

import os


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SystemExit(f"gunicorn.conf.py: {name}={value} must be between {low} and {high}")
    return value


bind = f"{os.environ.get('HOST', '127.0.0.1')}:{_int('PORT', 5000, 1, 65535)}"
workers = _int("GUNICORN_WORKERS", 2, 1, 64)
threads = _int("GUNICORN_THREADS", 8, 1, 64)
worker_class = "gthread"
timeout = _int("GUNICORN_TIMEOUT", 30, 5, 600)
graceful_timeout = 30  # a restart lets requests in flight finish
keepalive = _int("GUNICORN_KEEPALIVE", 5, 1, 3600)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket is one path per user (~/.gunicorn/gunicorn.ctl): several portals on one host
# would fight over it, and nothing here uses it.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# No request body or header beyond these reaches the app (MAX_CONTENT_LENGTH caps bodies too).
limit_request_line = 8190
limit_request_fields = 100
