"""tests/netguard.py: the test run may reach loopback and Unix sockets only.

No test here sends a packet off the host: refusals are checked through the guard, which raises before
the real connect is called, and the real connect is replaced for those tests by a stand-in that fails the
test instead of connecting, so even a broken guard cannot let a packet out.
"""

from __future__ import annotations

import re
import socket

import pytest

from tests import netguard


@pytest.fixture
def no_real_connect(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Replace the real connect calls the guard delegates to; record (and refuse) any that are reached."""
    reached: list[object] = []

    def refuse(_sock: socket.socket, address: object) -> int:
        reached.append(address)
        raise AssertionError(f"the guard passed {address!r} on to the real connect")

    monkeypatch.setattr(netguard, "_real_connect", refuse)
    monkeypatch.setattr(netguard, "_real_connect_ex", refuse)
    return reached


@pytest.mark.parametrize("address", [
    ("127.0.0.1", 80),
    ("127.5.5.5", 1),
    ("::1", 1, 0, 0),
    ("localhost", 1),
    "/tmp/x",
    b"/tmp/x",
])
def test_allowed_addresses(address: object) -> None:
    assert netguard.allowed(address) is True


@pytest.mark.parametrize("address", [
    ("192.0.2.1", 80),
    ("example.com", 80),
    ("10.0.0.1", 1),
    ("0.0.0.0", 80),  # noqa: S104  (an address to refuse, not to bind)
    ("2001:db8::1", 443, 0, 0),
    ("::ffff:192.0.2.1", 80, 0, 0),
    ("localhost.example.com", 80),
    (),
    None,
])
def test_refused_addresses(address: object) -> None:
    assert netguard.allowed(address) is False


def test_guard_is_installed() -> None:
    assert socket.socket.connect is netguard._connect
    assert socket.socket.connect_ex is netguard._connect_ex


def test_connect_to_a_public_address_is_refused_before_any_packet(no_real_connect: list[object]) -> None:
    # Only safe because the guard raises before calling the real connect: check it is in place first.
    assert socket.socket.connect is netguard._connect
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(netguard.OutboundConnectionBlocked, match=re.escape("192.0.2.1")),
    ):
        sock.connect(("192.0.2.1", 9))
    assert no_real_connect == []


def test_connect_ex_to_a_public_address_is_refused_before_any_packet(no_real_connect: list[object]) -> None:
    assert socket.socket.connect_ex is netguard._connect_ex
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(netguard.OutboundConnectionBlocked, match=re.escape("192.0.2.1")),
    ):
        sock.connect_ex(("192.0.2.1", 9))
    assert no_real_connect == []


def test_loopback_connection_works() -> None:
    assert socket.socket.connect is netguard._connect
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.settimeout(5)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(server.getsockname())
            peer, _ = server.accept()
            with peer:
                peer.settimeout(5)
                client.sendall(b"ping")
                assert peer.recv(4) == b"ping"
