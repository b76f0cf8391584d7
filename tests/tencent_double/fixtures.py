"""pytest fixtures for the Tencent Cloud double (registered by tests/conftest.py through pytest_plugins).

tencent: one double for the whole run, emptied before each test; after each test it must have seen no
request Tencent would refuse as malformed (a refused signature is an auth failure, which tests may provoke).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tencent_double.server import TencentDouble


@pytest.fixture(scope="session")
def tencent_server() -> Iterator[TencentDouble]:
    with TencentDouble() as double:
        yield double


@pytest.fixture
def tencent(tencent_server: TencentDouble) -> Iterator[TencentDouble]:
    """The double, empty; a test may set tencent.clock (e.g. the FakeClock): it is put back afterwards."""
    real_clock = tencent_server.clock
    tencent_server.reset()
    yield tencent_server
    tencent_server.join_handlers()  # a scripted hang still being answered must not leak into the next test
    tencent_server.clock = real_clock
    violations = tencent_server.violations
    tencent_server.reset()
    assert violations == [], f"requests Tencent would refuse as malformed: {violations}"
