import pytest

from tests.integration.totp_helpers import enroll
from tests.support import login


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Every integration test runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def email() -> str:
    """The address of the signed_in user; a test module overrides it."""
    return "someone@example.com"


@pytest.fixture
def signed_in(app, make_user, email):
    """A test client signed in (password only) as a new user with `email`."""
    make_user(email)
    browser = app.test_client()
    assert login(browser, email).status_code == 302
    return browser


@pytest.fixture
def enrollment(signed_in, clock, tmp_path):
    """The signed_in user with an authenticator app confirmed through the setup pages."""
    return enroll(signed_in, clock, tmp_path)


@pytest.fixture
def target(app, make_user, clock, tmp_path):
    """A user with an authenticator app and recovery codes (lost-phone@example.com, the admin tests' case),
    and a signed-in browser of theirs."""
    user = make_user("lost-phone@example.com")
    browser = app.test_client()
    assert login(browser, "lost-phone@example.com").status_code == 302
    enroll(browser, clock, tmp_path)
    return user, browser
