# Flask-Babel 4.0.0 ships no types: what portal/ uses (see README.md here).
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime as _datetime
from datetime import timedelta as _timedelta
from typing import Any

from babel import Locale
from babel.support import NullTranslations
from flask import Flask

class Babel:
    def __init__(self, app: Flask | None = None, date_formats: dict[str, str] | None = None,
                 configure_jinja: bool = True, *args: Any, **kwargs: Any) -> None: ...
    def init_app(self, app: Flask, default_locale: str = "en", default_domain: str = "messages",
                 default_translation_directories: str = "translations", default_timezone: str = "UTC",
                 locale_selector: Callable[[], str | Locale | None] | None = None,
                 timezone_selector: Callable[[], str | None] | None = None) -> None: ...

def get_translations() -> NullTranslations: ...  # a babel.support.Translations, or NullTranslations
def get_locale() -> Locale | None: ...
@contextmanager
def force_locale(locale: str | Locale) -> Iterator[None]: ...
def format_datetime(datetime: _datetime | None = None, format: str | None = None, rebase: bool = True) -> str: ...
def format_timedelta(datetime_or_timedelta: _datetime | _timedelta, granularity: str = "second",
                     add_direction: bool = False, threshold: float = 0.85) -> str: ...
def gettext(string: str, /, **variables: Any) -> str: ...
def ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> str: ...

# Really a flask_babel.speaklater.LazyString, which is not a str subclass but stands in for one: it forwards
# str's methods and operators, and WTForms (whose stubs take str labels and messages) renders it with str().
# Typed as str so that it fits those parameters; what a str offers and a LazyString lacks is isinstance(x, str)
# and JSON encoding, so pass str(lazy) to anything that checks the type.
def lazy_gettext(string: str, /, **variables: Any) -> str: ...
