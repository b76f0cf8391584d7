"""Load: many simulated people signing in at once against 2 gunicorn workers on PostgreSQL.

Run: make bench   (or .venv/bin/python bench/load_test.py [--users 200] [--seconds 60] [--think 2.0])
     --smoke: 10 users for 5 s with cheap Argon2 (the tests run it)

Each simulated person, in a thread of a separate load-generator process (bench/loadgen.py's client), opens
the login page, takes --think seconds (on average, exponentially distributed) to type, sends the password,
takes another think time, sends the code from their authenticator app, opens the account page and signs out,
then starts again with the next of their three accounts (a TOTP code is accepted once per 30-second step,
so an account is not used again in the same step). Reported: every request's latency (median, p99, max),
statuses (no 5xx allowed), sign-ins completed, and the audit rows counted in the database: exactly one
`signin.second_factor` row per completed sign-in, none lost and none duplicated.
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
from portal.config import fernet_key
from portal.crypto import SecretBox
from portal.extensions import db

PEOPLE = '''"""One simulated person per thread (see bench/load_test.py); prints one JSON line."""
import json, random, sys, threading, time
from collections import Counter

import pyotp

sys.path.insert(0, sys.argv[5])
from loadgen import Client  # noqa: E402

base, people_file, seconds, think = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
with open(people_file) as f:
    people = json.load(f)
lock = threading.Lock()
latencies, statuses, done = [], Counter(), [0]
start_gate = threading.Barrier(len(people) + 1)
deadline = [0.0]


def timed(call):
    t0 = time.perf_counter()
    response = call()
    ms = (time.perf_counter() - t0) * 1000
    with lock:
        latencies.append(ms)
        statuses[response.status_code] += 1
    return response


def pause(rng):
    time.sleep(min(rng.expovariate(1 / think), think * 5) if think > 0 else 0)


def person(accounts, seed):
    rng = random.Random(seed)
    client = Client(base)
    last_step = {a["email"]: 0 for a in accounts}
    start_gate.wait()
    pause(rng)  # people do not all arrive in the same millisecond
    turn = 0
    while time.time() < deadline[0]:
        account = accounts[turn % len(accounts)]
        turn += 1
        while int(time.time()) // 30 <= last_step[account["email"]]:
            time.sleep(0.5)  # this account's code of this 30 s step was used: wait for the next
        client.http.cookies.clear()
        page = timed(lambda: client.get("/login"))
        token = client.token_of(page.text)
        pause(rng)
        timed(lambda: client.post("/login", {"csrf_token": token, "email": account["email"],
                                             "password": "correct horse battery staple"}))
        page = timed(lambda: client.get("/2fa/verify?method=totp"))
        token = client.token_of(page.text)
        pause(rng)
        step = int(time.time()) // 30
        code = pyotp.TOTP(account["secret"]).at(step * 30)
        response = timed(lambda: client.post("/2fa/verify?method=totp", {"csrf_token": token, "code": code}))
        last_step[account["email"]] = step
        if response.status_code == 302 and response.headers.get("Location") == "/account":
            with lock:
                done[0] += 1
            page = timed(lambda: client.get("/account"))
            timed(lambda: client.post("/logout", {"csrf_token": client.token_of(page.text)}))


threads = [threading.Thread(target=person, args=(people[n], n)) for n in range(len(people))]
for thread in threads:
    thread.start()
deadline[0] = time.time() + 3600
start_gate.wait()
started = time.time()
deadline[0] = started + seconds
for thread in threads:
    thread.join()
print(json.dumps({"latencies_ms": latencies, "statuses": dict(statuses), "sign_ins": done[0],
                  "elapsed_s": time.time() - started}))
'''


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds a person takes to type")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.seconds, args.think = 10, 5, 0.2
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
            env.update({"PYTHONPATH": str(pb.ROOT), "GUNICORN_WORKERS": str(args.workers),
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
                                  str(pb.ROOT / "bench")], capture_output=True, text=True,
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
    latencies = result["latencies_ms"]
    statuses = Counter({int(k): v for k, v in result["statuses"].items()})
    server_errors = sum(v for k, v in statuses.items() if k >= 500)
    audited = rows.get("signin.second_factor", 0)
    print(f"{args.users} simulated people, {args.seconds:g} s, mean think time {args.think:g} s; gunicorn "
          f"{args.workers} workers x {args.threads} threads on PostgreSQL; Argon2id m={argon2['ARGON2_MEMORY_COST']} "
          f"KiB t={argon2['ARGON2_TIME_COST']} p={argon2['ARGON2_PARALLELISM']}")
    print(f"requests: {len(latencies)} ({len(latencies) / result['elapsed_s']:.1f}/s); statuses "
          f"{dict(sorted(statuses.items()))}; 5xx: {server_errors}")
    if latencies:
        print(f"latency ms: median {pb.percentile(latencies, 0.5):.1f}, p99 {pb.percentile(latencies, 0.99):.1f}, "
              f"max {max(latencies):.1f}; p99 under 2 s: {'yes' if pb.percentile(latencies, 0.99) < 2000 else 'NO'}")
    print(f"sign-ins completed: {result['sign_ins']}; signin.second_factor audit rows: {audited}; "
          f"duplicated rows: {duplicates}; audit rows match: {'yes' if audited == result['sign_ins'] else 'NO'}")
    print("peak resident memory per worker (VmHWM): " + ", ".join(f"{p:.0f} MiB" for p in peaks))


if __name__ == "__main__":
    main()
