"""The benchmarks run at a tiny size in every test run, so they cannot rot (figures come from `make bench`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_ADMIN_URL, postgres_admin

ROOT = Path(__file__).resolve().parents[2]


def test_admin_search_benchmark_runs_and_finds_what_it_should():
    postgres_admin().close()  # PostgreSQL is required (a failure in CI, a skip on a laptop)
    run = subprocess.run([sys.executable, "bench/admin_search.py", "--users", "300", "--repeat", "2"], cwd=ROOT,
                         env={**os.environ, "BENCH_DATABASE_URL": PG_ADMIN_URL}, capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = {m[1].strip(): int(m[2]) for m in re.finditer(r"^(.{34}) +[\d.]+ +[\d.]+ +(\d+) +\d+$", run.stdout, re.M)}
    assert rows == {"no needle, first page": 50, "prefix, common (user00)": 50, "prefix, exact address": 1,
                    "substring, common (example.org)": 50, "substring, rare": 1, "substring, none (zzzqqq)": 0,
                    "prefix then substring, page 20": 0}
    # The private schema it seeded is gone.
    schema = re.search(r"schema (bench_[0-9a-f]+)", run.stdout)
    assert schema is not None
    with postgres_admin() as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema[1],)).fetchone()[0] == 0


def test_portal_benchmark_runs_every_step_without_an_error(redis_url):
    postgres_admin().close()
    run = subprocess.run([sys.executable, "bench/portal_bench.py", "--smoke"], cwd=ROOT,
                         env={**os.environ, "BENCH_DATABASE_URL": PG_ADMIN_URL, "BENCH_REDIS_URL": redis_url},
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = re.findall(r"^(\w[\w ]+\([^)]*\)) +(\d+) +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ .*?(\d+)$", run.stdout,
                      re.M)
    steps = {label.split(" (")[0]: (int(n), int(other)) for label, n, other in rows}
    assert set(steps) == {"login page", "password step", "second step", "account page", "enrollment page with QR",
                          "recovery redemption"}, run.stdout
    for label, (count, unexpected) in steps.items():
        assert count > 0 and unexpected == 0, (label, run.stdout)
    peaks = re.search(r"VmHWM\): (.+)$", run.stdout, re.M)
    assert peaks is not None and len(peaks[1].split(",")) == 2  # one figure per worker (GUNICORN_WORKERS=2)
    assert "bare Flask route" in run.stdout and "one verification" in run.stdout


def test_load_test_counts_one_audit_row_per_sign_in(redis_url):
    postgres_admin().close()
    run = subprocess.run([sys.executable, "bench/load_test.py", "--smoke"], cwd=ROOT,
                         env={**os.environ, "BENCH_DATABASE_URL": PG_ADMIN_URL, "BENCH_REDIS_URL": redis_url},
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    done = re.search(r"sign-ins completed: (\d+); signin.second_factor audit rows: (\d+); duplicated rows: (\d+)",
                     run.stdout)
    assert done is not None, run.stdout
    assert int(done[1]) > 0 and done[1] == done[2] and done[3] == "0", run.stdout
    assert "5xx: 0" in run.stdout
