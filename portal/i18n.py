"""Language: chosen from the switcher's cookie, else Accept-Language; English is the source."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from babel import lists
from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale, get_translations

from portal.security import safe_next

LANG_COOKIE = "lang"
LANG_COOKIE_AGE = 365 * 86_400
# Traditional-script regions are not served Simplified Chinese unasked; they fall through to English.
TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "中文"}

def match_language(header_values: list[str], offered: tuple[str, ...]) -> str | None:
    """The first offered language in the client's order of preference (tags like zh-CN, zh-Hans-CN)."""
    for tag in header_values:
        tag = tag.strip().lower().replace("_", "-")
        primary = tag.split("-", 1)[0]
        if primary == "zh":
            if "zh_Hans" in offered and not tag.startswith(TRADITIONAL):
                return "zh_Hans"
            continue
        if primary in offered:
            return primary
    return None


def select_locale() -> str:
    offered: tuple[str, ...] = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands speak the source language
        return offered[0]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in offered:
        return chosen
    preferred = [value for value, _quality in request.accept_languages]
    return match_language(preferred, offered) or offered[0]


def html_lang() -> str:
    return str(get_locale()).replace("_", "-")


def format_list(items: Iterable[object]) -> str:
    """Items joined as the page's language lists them ("a, b, and c"; "a、b和c"): Babel's CLDR patterns."""
    return lists.format_list([str(item) for item in items], locale=get_locale() or "en")


def sentence_gap() -> str:
    """What goes between two sentences of the page's language: a space, or nothing in Chinese (。 ends one)."""
    return "" if current_language().startswith("zh") else " "


def return_path() -> str:
    """Where the language switch brings the reader back: this page when it can be fetched again (a GET); for the
    answer to a form (a refused resend, say, at an address that only takes POST), the page the form was on."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return "/"
    return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""), default="/")


def init_app(app: Flask) -> None:
    from portal.phone import mask
    from portal.site import site_name

    app.jinja_env.globals.update(html_lang=html_lang, language_names=LANGUAGE_NAMES, plural_forms=plural_forms,
                                 language_return=return_path, sentence_gap=sentence_gap, site_name=site_name)
    app.jinja_env.filters["mask_phone"] = mask
    app.jinja_env.filters["format_list"] = format_list
    from portal.sms.messages import WaitMessage

    app.jinja_env.tests["wait"] = lambda value: isinstance(value, WaitMessage)


def current_language() -> str:
    """The page's language as a LANGUAGES entry ("en", "zh_Hans"): also the language of texts we send."""
    return select_locale()


def plural_forms(singular: str, plural: str) -> str:
    """The translated singular (n=1) and plural (n=2) of a message, unformatted, as JSON for a script.

    A script fills in %(num)d itself; the page's own text uses ngettext with the same msgids.
    """
    translations = get_translations()
    return json.dumps({"one": translations.ngettext(singular, plural, 1),
                       "other": translations.ngettext(singular, plural, 2)}, ensure_ascii=False)
