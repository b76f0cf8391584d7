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
