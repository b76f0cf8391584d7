"""Cost of redeeming a recovery code next to one password verification, at the production Argon2 settings.

Run: make bench   (or .venv/bin/python bench/recovery_cost.py [--repeat N])
Reports wall time (median of N) and the number of Argon2 verifications each operation performs.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from argon2 import PasswordHasher
from flask_migrate import upgrade

from portal import create_app
from portal.clock import now
from portal.crypto import passwords
from portal.extensions import db
from portal.factors.recovery import ALPHABET, LENGTH, RecoveryMethod, generate_set, selector_of
from portal.models import User
from portal.settings.totp import fernet_key

PASSWORD = "correct horse battery staple"  # noqa: S105


def code_with_selector(selectors: set[str], *, matching: bool, avoid: list[str]) -> str:
    """A well-formed code whose keyed selector is (or is not) one of selectors; not one of avoid."""
    for n in itertools.count():
        code = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in range(LENGTH))
        if code not in avoid and (selector_of(code) in selectors) == matching:
            return code
    raise AssertionError("unreachable")


def measure(fn, repeat: int) -> tuple[float, int]:
    """Median milliseconds per call, and Argon2 verifications per call."""
    calls = 0
    real = PasswordHasher.verify

    def counting(self, hash, password):
        nonlocal calls
        calls += 1
        return real(self, hash, password)

    PasswordHasher.verify = counting  # type: ignore[method-assign]
    try:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
    finally:
        PasswordHasher.verify = real  # type: ignore[method-assign]
    return statistics.median(times), calls // repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"PORTAL_ENV": "testing", "SECRET_KEY": "bench-" + "x" * 40,
                          "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "TOTP_ENCRYPTION_KEYS": (fernet_key(),)})
        with app.app_context():
            upgrade()
            hasher = passwords()
            user = User(email="bench@example.com", password_hash=hasher.hash(PASSWORD), created_at=now())
            db.session.add(user)
            db.session.flush()
            codes = generate_set(user, now())
            db.session.commit()
            method = RecoveryMethod()
            # The selector is a keyed hash of the whole code: search for wrong codes that (do not) share one.
            wrong_same_selector = code_with_selector({selector_of(codes[0])}, matching=True, avoid=codes)
            wrong_no_match = code_with_selector({selector_of(c) for c in codes}, matching=False, avoid=codes)
            unused = iter(codes[1:])

            def succeed() -> None:
                assert method.verify(user, next(unused), now=now()).ok
                db.session.rollback()  # keep the code unused so every run redeems a fresh-looking code

            def regenerate() -> None:
                generate_set(user, now())
                db.session.rollback()  # keep the measured set

            rows = [
                ("password verification (reference)", lambda: hasher.verify(user.password_hash, PASSWORD)),
                ("recovery code, wrong, selector matches", lambda: method.verify(user, wrong_same_selector,
                                                                                 now=now())),
                ("recovery code, wrong, no selector match", lambda: method.verify(user, wrong_no_match, now=now())),
                ("recovery code, correct (10 in the set)", succeed),
                ("new set of 10 codes (10 Argon2 hashes)", regenerate),
            ]
            cfg = app.config
            print(f"Argon2id m={cfg['ARGON2_MEMORY_COST']} KiB, t={cfg['ARGON2_TIME_COST']}, "
                  f"p={cfg['ARGON2_PARALLELISM']}; median of {args.repeat} runs; 10 codes in the set")
            print(f"{'operation':44} {'ms':>8} {'argon2 verifications':>22}")
            for name, fn in rows:
                if fn is succeed:
                    unused = iter(codes[1:] * args.repeat)
                median, verifications = measure(fn, args.repeat)
                print(f"{name:44} {median:8.1f} {verifications:>22}")


if __name__ == "__main__":
    main()
