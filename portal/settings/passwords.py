"""Password settings: Argon2id's cost, the lengths accepted, and the delays after wrong passwords."""

from __future__ import annotations

from portal.settings.base import ConfigError, Feature, Setting, Values, parse_int

SETTINGS: tuple[Setting, ...] = (
    Setting("ARGON2_TIME_COST", 3, parse_int, "Argon2id iterations (RFC 9106 low-memory: 3).",
            minimum=1, maximum=20),
    Setting("ARGON2_MEMORY_COST", 65536, parse_int, "Argon2id memory in KiB (RFC 9106 low-memory: 64 MiB).",
            minimum=8, maximum=4_194_304),
    Setting("ARGON2_PARALLELISM", 4, parse_int, "Argon2id lanes (RFC 9106 low-memory: 4).",
            minimum=1, maximum=64),
    Setting("ARGON2_MAX_CONCURRENT", 2, parse_int,
            "Argon2 hashes or verifications at once per process, in threads of lower CPU priority; the rest "
            "wait, so other pages keep their threads and the CPU, and memory stays at most this many times "
            "ARGON2_MEMORY_COST.", minimum=1, maximum=64),
    Setting("PASSWORD_MIN_LENGTH", 8, parse_int, "Shortest password accepted.", minimum=8, maximum=128),
    Setting("PASSWORD_MAX_LENGTH", 128, parse_int, "Longest password accepted.", minimum=8, maximum=1024),
    Setting("LOGIN_FREE_FAILURES", 5, parse_int,
            "Wrong passwords per account before delays start (1, 2, 4 … s).", minimum=1, maximum=100),
    Setting("LOGIN_MAX_DELAY", 900, parse_int, "Longest delay between password attempts, seconds.",
            minimum=1, maximum=86_400),
)


def check_read(values: Values) -> None:
    if values["PASSWORD_MIN_LENGTH"] > values["PASSWORD_MAX_LENGTH"]:
        raise ConfigError(
            f"PASSWORD_MIN_LENGTH={values['PASSWORD_MIN_LENGTH']!r} is above "
            f"PASSWORD_MAX_LENGTH={values['PASSWORD_MAX_LENGTH']!r}"
        )


FEATURE = Feature("passwords", SETTINGS, check_read=check_read)
