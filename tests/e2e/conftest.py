"""Browser fixtures: the portal served on 127.0.0.1 in a thread, and a headless Chromium page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import Database, app_settings, empty_tables, missing_service, serving
from tests.e2e.helpers import ARTIFACTS, ConsoleError, open_page, real_time_clock
from tests.support import FakeClock

CHROMIUM = Path("/usr/bin/chromium")
# Playwright cannot download its own browsers here: always Debian's Chromium, offline, headless.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]

expect.set_options(timeout=10_000)  # every expect() in the browser tests waits up to 10 s


@pytest.fixture
def live_clock() -> FakeClock:
    """The live server's clock: a FakeClock set to the real time now (real_time_clock), which tests move on by
    hand instead of waiting for the next 30-second step. A test module can override it: None is the real clock."""
    return real_time_clock()


@pytest.fixture
def live_settings() -> dict[str, Any]:
    """Extra settings for the live server (e.g. the SMS provider); a test module can override it."""
    return {}


@pytest.fixture
def live_server(database: Database, live_clock: Callable[[], datetime] | None,
                live_settings: dict[str, Any]) -> Iterator[str]:
    """The portal on a free loopback port (real clock unless live_clock says otherwise); tables emptied after."""
    import portal
    from portal.extensions import limiter

    app = portal.create_app(app_settings(database.url, **live_settings))
    if live_clock is not None:
        app.extensions["portal.clock"] = live_clock
    with app.app_context():
        limiter.reset()  # the limiter is module-level: per-IP counters start at zero
    try:
        with serving(app) as url:
            yield url
    finally:
        empty_tables(app)


@pytest.fixture
def console_errors() -> list[ConsoleError]:
    return []


@pytest.fixture
def browser_locale() -> str:
    """The browser's locale (navigator.language and Accept-Language); parametrize it to change."""
    return "en-US"


@pytest.fixture
def browser_page(console_errors: list[ConsoleError], browser_locale: str) -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing_service(f"Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale=browser_locale)
            try:
                yield open_page(context, console_errors)
            finally:
                context.close()
        finally:
            browser.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, browser_page: Any) -> Callable[[str], Path]:
    """screenshot("step") saves a full-page PNG as tests/artifacts/<test name>-<step>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^\w.-]+", "_", request.node.name)

    def take(step: str) -> Path:
        path = ARTIFACTS / f"{test_name}-{step}.png"
        browser_page.screenshot(path=str(path), full_page=True)
        return path

    return take
