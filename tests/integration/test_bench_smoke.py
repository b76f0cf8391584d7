"""The benchmarks run at a tiny size in every test run, so they cannot rot (figures come from `make bench`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_ADMIN_URL, postgres_admin

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str, redis_url: str | None = None) -> str:
    """Run bench/<script> on the local PostgreSQL (required: a failure in CI, a skip on a laptop); its stdout."""
    postgres_admin().close()
    env = {**os.environ, "BENCH_DATABASE_URL": PG_ADMIN_URL}
    if redis_url is not None:
        env["BENCH_REDIS_URL"] = redis_url
    run = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_admin_search_benchmark_runs_and_finds_what_it_should():
    out = run_bench("admin_search.py", "--users", "300", "--repeat", "2")
    rows = {m[1].strip(): int(m[2]) for m in re.finditer(r"^(.{34}) +[\d.]+ +[\d.]+ +(\d+) +\d+$", out, re.M)}
    assert rows == {"no needle, first page": 50, "prefix, common (user00)": 50, "prefix, exact address": 1,
                    "substring, common (example.org)": 50, "substring, rare": 1, "substring, none (zzzqqq)": 0,
                    "prefix then substring, page 20": 0}
    # The private schema it seeded is gone.
    schema = re.search(r"schema (bench_[0-9a-f]+)", out)
    assert schema is not None
    with postgres_admin() as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema[1],)).fetchone()[0] == 0


def test_portal_benchmark_runs_every_step_without_an_error(redis_url):
    out = run_bench("portal_bench.py", "--smoke", redis_url=redis_url)
    rows = re.findall(r"^(\w[\w ]+\([^)]*\)) +(\d+) +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ .*?(\d+)$", out,
                      re.M)
    steps = {label.split(" (")[0]: (int(n), int(other)) for label, n, other in rows}
    assert set(steps) == {"login page", "password step", "second step", "account page", "enrollment page with QR",
                          "recovery redemption"}, out
    for label, (count, unexpected) in steps.items():
        assert count > 0 and unexpected == 0, (label, out)
    peaks = re.search(r"VmHWM\): (.+)$", out, re.M)
    assert peaks is not None and len(peaks[1].split(",")) == 2  # one figure per worker (GUNICORN_WORKERS=2)
    assert "bare Flask route" in out and "one verification" in out


def test_load_test_counts_one_audit_row_per_sign_in(redis_url):
    out = run_bench("load_test.py", "--smoke", redis_url=redis_url)
    done = re.search(r"sign-ins completed: (\d+) .*; signin.second_factor audit rows: (\d+); duplicated rows: (\d+)",
                     out)
    assert done is not None, out
    assert int(done[1]) > 0 and done[1] == done[2] and done[3] == "0", out
    assert "5xx: 0" in out
    assert "(client errors): 0" in out, out
