"""Load: many simulated people signing in at once against 2 gunicorn workers on PostgreSQL.

Run: make bench   (or .venv/bin/python bench/load_test.py [--users 200] [--seconds 60] [--think 5]
                   [--ramp S] [--again [--pages 2]])
     --smoke: 10 users for 5 s with cheap Argon2 (the tests run it)

Each simulated person is a thread of a separate load-generator process (bench/loadgen.py's client). People
arrive one by one at random moments over --ramp seconds (default: the whole run). Each opens the login page,
takes --think seconds (on average, exponentially distributed) to type, sends the password, opens the code
page, takes another think time to read the authenticator app, sends the code, opens the account page, and
then reads it again every think time until the end, when they sign out. With --again each person instead
signs out after --pages pages and signs in again with the next of their three accounts (a TOTP code is
accepted once per 30-second step, so an account waits for the next step): the capacity test. Reported:
latency (median, p99, max) of every request and of each kind, statuses (no 5xx allowed), sign-ins completed,
and the audit rows counted in the database: exactly one `signin.second_factor` row per completed sign-in,
none lost and none duplicated.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import portal_bench as pb
import psycopg
from flask_migrate import upgrade

from portal import create_app
from portal.crypto import SecretBox
from portal.extensions import db
from portal.settings.totp import fernet_key

PEOPLE = '''"""One simulated person per thread (see bench/load_test.py); prints one JSON line."""
import json, random, sys, threading, time
from collections import Counter, defaultdict

import pyotp

sys.path.insert(0, sys.argv[5])
from loadgen import Client  # noqa: E402

base, people_file, seconds, think = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
ramp, again, pages = float(sys.argv[6]), sys.argv[7] == "again", int(sys.argv[8])
with open(people_file) as f:
    people = json.load(f)
lock = threading.Lock()
latencies, statuses, done, errors = defaultdict(list), Counter(), [0], []
start_gate = threading.Barrier(len(people) + 1)
deadline = [0.0]


def timed(kind, call):
    t0 = time.perf_counter()
    response = call()
    ms = (time.perf_counter() - t0) * 1000
    with lock:
        latencies[kind].append(ms)
        statuses[response.status_code] += 1
    return response


def pause(rng):
    time.sleep(min(rng.expovariate(1 / think), think * 5) if think > 0 else 0)


def sign_in(client, account, rng):
    """The login page, typing, the password, the code page, reading the app, the code. True if signed in."""
    page = timed("login page", lambda: client.get("/login"))
    token = client.token_of(page.text)
    pause(rng)
    timed("password", lambda: client.post("/login", {"csrf_token": token, "email": account["email"],
                                                     "password": "correct horse battery staple"}))
    page = timed("code page", lambda: client.get("/2fa/verify?method=totp"))
    token = client.token_of(page.text)
    pause(rng)
    step = int(time.time()) // 30
    code = pyotp.TOTP(account["secret"]).at(step * 30)
    response = timed("code", lambda: client.post("/2fa/verify?method=totp", {"csrf_token": token, "code": code}))
    account["last_step"] = step
    return response.status_code == 302 and response.headers.get("Location") == "/account"


def person(accounts, seed):
    try:
        visit(accounts, seed)
    except Exception as error:  # a person who gives up is reported, not lost
        with lock:
            errors.append(f"{type(error).__name__}: {error}")


def visit(accounts, seed):
    rng = random.Random(seed)
    client = Client(base)
    start_gate.wait()
    time.sleep(rng.uniform(0, ramp))  # people arrive one by one over the ramp, not in the same millisecond
    turn = 0
    while time.time() < deadline[0]:
        account = accounts[turn % len(accounts)]
        turn += 1
        while int(time.time()) // 30 <= account.get("last_step", 0):
            time.sleep(0.5)  # this account's code of this 30 s step was used: wait for the next
        client.http.cookies.clear()
        if not sign_in(client, account, rng):
            continue
        with lock:
            done[0] += 1
        page = timed("account page", lambda: client.get("/account"))
        viewed = 1
        # Signed in: read the account page now and then until the end (a few times, when signing in again).
        while time.time() < deadline[0] and (not again or viewed < pages):
            pause(rng)
            page = timed("account page", lambda: client.get("/account"))
            viewed += 1
        timed("sign out", lambda: client.post("/logout", {"csrf_token": client.token_of(page.text)}))
        if not again:
            break
        pause(rng)


threads = [threading.Thread(target=person, args=(people[n], n)) for n in range(len(people))]
for thread in threads:
    thread.start()
deadline[0] = time.time() + 3600
start_gate.wait()
started = time.time()
deadline[0] = started + seconds
for thread in threads:
    thread.join()
print(json.dumps({"latencies_ms": latencies, "statuses": dict(statuses), "sign_ins": done[0], "errors": errors,
                  "elapsed_s": time.time() - started}))
'''


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=5.0,
                        help="mean seconds a person takes to type a password or a code, or to read a page")
    parser.add_argument("--ramp", type=float, default=None,
                        help="seconds over which the people arrive (default: the whole run)")
    parser.add_argument("--again", action="store_true",
                        help="each person signs in again and again (a few pages each time): the capacity test")
    parser.add_argument("--pages", type=int, default=2, help="account pages per sign-in with --again")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.seconds, args.think = 10, 5, 0.2
    if args.ramp is None:
        args.ramp = args.seconds
    argon2 = pb.CHEAP_ARGON2 if args.smoke else pb.PRODUCTION_ARGON2
    schema = f"load_{secrets.token_hex(4)}"
    db_url = pb.BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1) + f"?options=-csearch_path%3D{schema}"
    totp_key = fernet_key()
    with psycopg.connect(pb.BASE_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    portal = None
    try:
        settings = {"PORTAL_ENV": "testing", "SECRET_KEY": "load-" + secrets.token_urlsafe(40),
                    "DATABASE_URL": db_url, "TOTP_ENCRYPTION_KEYS": totp_key, "RATELIMIT_STORAGE_URI": pb.REDIS_URL,
                    "RATELIMIT_LOGIN": "100000 per minute", "LOG_LEVEL": "WARNING", **argon2}
        app = create_app(settings)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        with psycopg.connect(pb.BASE_URL, autocommit=True) as conn:
            accounts, _ = pb.seed(conn, schema, args.users * 3, argon2, SecretBox((totp_key,)), app)
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_", "ARGON2_"))}
            env.update({key: str(value) for key, value in settings.items()})
            # As behind a load balancer (README, Deploying): idle connections outlive a person's think time, so
            # no request meets a connection gunicorn is just closing (a browser would retry it; this client not).
            env.update({"PYTHONPATH": str(pb.ROOT), "GUNICORN_WORKERS": str(args.workers), "GUNICORN_KEEPALIVE": "65",
                        "GUNICORN_THREADS": str(args.threads), "DATABASE_POOL_SIZE": str(args.threads),
                        "DATABASE_MAX_OVERFLOW": str(args.threads)})
            port = pb.free_port()
            portal = pb.start([sys.executable, "-m", "gunicorn", "--config", str(pb.ROOT / "gunicorn.conf.py"),
                               "wsgi:app"], env, port, tmp / "portal.log")
            people = [accounts[n::args.users][:3] for n in range(args.users)]
            (tmp / "people.json").write_text(json.dumps(people))
            (tmp / "people.py").write_text(PEOPLE)
            run = subprocess.run([sys.executable, str(tmp / "people.py"), f"http://127.0.0.1:{port}",
                                  str(tmp / "people.json"), str(args.seconds), str(args.think),
                                  str(pb.ROOT / "bench"), str(args.ramp), "again" if args.again else "once",
                                  str(args.pages)], capture_output=True, text=True,
                                 timeout=args.seconds + 900, check=False)
            if run.returncode != 0:
                raise SystemExit(f"load generator failed:\n{run.stderr[-3000:]}")
            result = json.loads(run.stdout)
            peaks = pb.worker_peaks_mib(portal)
        with psycopg.connect(pb.BASE_URL, autocommit=True) as conn:
            rows = dict(conn.execute(f'SELECT event, count(*) FROM "{schema}".audit_events GROUP BY event').fetchall())
            duplicates = conn.execute(
                f'SELECT count(*) FROM (SELECT subject_id, at FROM "{schema}".audit_events WHERE event = '
                "'signin.second_factor' GROUP BY subject_id, at HAVING count(*) > 1) d").fetchone()[0]
        report(args, argon2, result, rows, duplicates, peaks)
    finally:
        if portal is not None:
            pb.stop(portal)
        with psycopg.connect(pb.BASE_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def report(args, argon2, result, rows, duplicates, peaks) -> None:
    by_kind = result["latencies_ms"]
    latencies = [ms for values in by_kind.values() for ms in values]
    statuses = Counter({int(k): v for k, v in result["statuses"].items()})
    server_errors = sum(v for k, v in statuses.items() if k >= 500)
    audited = rows.get("signin.second_factor", 0)
    mode = (f"each signs in again and again ({args.pages} account pages each time)" if args.again
            else "each signs in once and then reads the account page until the end")
    print(f"{args.users} simulated people arriving over {args.ramp:g} s, {args.seconds:g} s, mean think time "
          f"{args.think:g} s; {mode}")
    print(f"gunicorn {args.workers} workers x {args.threads} threads on PostgreSQL; Argon2id "
          f"m={argon2['ARGON2_MEMORY_COST']} KiB t={argon2['ARGON2_TIME_COST']} p={argon2['ARGON2_PARALLELISM']}")
    print(f"requests: {len(latencies)} ({len(latencies) / result['elapsed_s']:.1f}/s); statuses "
          f"{dict(sorted(statuses.items()))}; 5xx: {server_errors}")
    if latencies:
        p99 = pb.percentile(latencies, 0.99)
        print(f"latency ms, every request: median {pb.percentile(latencies, 0.5):.1f}, p99 {p99:.1f}, "
              f"max {max(latencies):.1f}; p99 under 2 s: {'yes' if p99 < 2000 else 'NO'}")
        for kind, values in by_kind.items():
            print(f"  {kind:14} {len(values):6d} requests, median {pb.percentile(values, 0.5):8.1f}, "
                  f"p99 {pb.percentile(values, 0.99):8.1f}, max {max(values):8.1f}")
    print(f"sign-ins completed: {result['sign_ins']} ({result['sign_ins'] / result['elapsed_s']:.1f}/s); "
          f"signin.second_factor audit rows: {audited}; duplicated rows: {duplicates}; "
          f"audit rows match: {'yes' if audited == result['sign_ins'] else 'NO'}")
    errors = result["errors"]
    print(f"people who could not go on (client errors): {len(errors)}" + (f"; first: {errors[0]}" if errors else ""))
    print("peak resident memory per worker (VmHWM): " + ", ".join(f"{p:.0f} MiB" for p in peaks))


if __name__ == "__main__":
    main()
