"""Every detail the portal writes into an audit row has words on the audit page, in English and Chinese.

The portal's source is read (ast), as tests/unit/test_events.py reads it for the events: each keyword argument of
audit.record and security_events.changed, and each key of a dict passed to them as **details, is a detail key;
portal/admin/details.py must have a label for it. The coded values (a method, a refusal's reason, an SMS's
purpose, an identity check, what disabling 2FA removed, how a change was made) must each have words too, and
every label and word must be in the template and translated into Chinese. No HTTP, no database.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from portal.admin import details
from portal.admin.operations import FACTOR_TABLES, IDENTITY_CHECKS
from portal.factors.base import Method, Reason
from portal.sms.base import Purpose
from tests.unit.test_events import (
    CATALOGUES,
    PORTAL,
    ROOT,
    _dotted,
    _imports,
    _scopes,
    catalogue,
    english,
    untranslated,
)

# The functions that write an audit row, and their own parameters (what is not a detail).
WRITERS = {
    "portal.audit.record": {"event", "actor", "subject", "ip"},
    "portal.security_events.changed": {"event", "user", "ip", "keep"},
}


def _dict_keys(name: str, scope: ast.AST) -> tuple[dict[str, set[object]], bool]:
    """The keys (and constant values) that scope puts into the dict `name`: from a dict literal assigned to it,
    and from name["key"] = value. The flag says whether anything was found."""
    keys: dict[str, set[object]] = defaultdict(set)
    found = False
    for node in ast.walk(scope):
        target_value: list[tuple[ast.expr, ast.expr | None]] = []
        if isinstance(node, ast.Assign):
            target_value = [(t, node.value) for t in node.targets]
        elif isinstance(node, ast.AnnAssign):
            target_value = [(node.target, node.value)]
        for target, value in target_value:
            if isinstance(target, ast.Name) and target.id == name and isinstance(value, ast.Dict):
                found = True
                for key, item in zip(value.keys, value.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        keys[key.value].update(_constant(item))
            if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == name \
                    and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
                found = True
                keys[target.slice.value].update(_constant(value))
    return keys, found


def _constant(node: ast.expr | None) -> set[object]:
    return {node.value} if isinstance(node, ast.Constant) and node.value is not None else set()


def written_details() -> tuple[dict[str, dict[str, set[object]]], list[str]]:
    """Detail key → {where: constant values written}; and the writes whose details the source does not say."""
    written: dict[str, dict[str, set[object]]] = defaultdict(dict)
    unread = []
    for path in sorted(PORTAL.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        imports = _imports(tree)
        for scope, call in _scopes(tree):
            own = WRITERS.get(_dotted(call.func, imports) or "")
            if own is None:
                continue
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            for keyword in call.keywords:
                if keyword.arg is not None:
                    if keyword.arg not in own:
                        written[keyword.arg].setdefault(where, set()).update(_constant(keyword.value))
                    continue
                spread = keyword.value  # **details
                if not isinstance(spread, ast.Name):
                    unread.append(where)
                    continue
                if isinstance(scope, ast.FunctionDef) and scope.args.kwarg is not None \
                        and scope.args.kwarg.arg == spread.id:
                    continue  # passed through (security_events.changed): read where its callers write them
                keys, found = _dict_keys(spread.id, scope)
                if not found:
                    unread.append(where)
                for key, values in keys.items():
                    written[key].setdefault(where, set()).update(values)
    return dict(written), unread


def chinese_and_template() -> tuple[dict[object, object], dict[object, object]]:
    return (catalogue(CATALOGUES / "zh_Hans" / "LC_MESSAGES" / "messages.po"),
            catalogue(CATALOGUES / "messages.pot"))


def test_the_walk_finds_the_details_the_portal_writes():
    written, unread = written_details()
    assert unread == [], "pass details as keywords, or as a dict literal (plus d['key'] = …) in the same function"
    # A sample of what the walk must see, from each kind of call: keywords, a dict literal, d["key"] = ….
    for key in ("method", "reason", "recovery_codes_left", "removed", "identity_check", "case_reference", "phone",
                "count", "failures", "purpose", "via", "os_user", "requested_by", "email_key"):
        assert key in written, key
    assert "cli" in set().union(*written["via"].values())


def test_every_detail_key_the_portal_writes_has_a_label():
    written, _ = written_details()
    assert {key: sorted(where) for key, where in written.items() if key not in details.KEYS} == {}
    assert set(details.KEYS) - set(written) == set(), "a label for a key nothing writes: remove it"


def test_every_coded_value_has_words():
    written, _ = written_details()
    methods = {m.kind for m in _subclasses(Method) if "kind" in vars(m) and m.__module__.startswith("portal.")}
    assert methods >= {"totp", "sms", "recovery"}
    assert set(details.METHODS) == methods
    assert set(details.REASONS) == {reason.value for reason in Reason}
    assert set(details.PURPOSES) == {purpose.value for purpose in Purpose}
    assert set(details.REMOVED) == {name for name, _model in FACTOR_TABLES}
    assert details.VALUES["identity_check"] is IDENTITY_CHECKS
    # Every constant value the source writes under a coded key is one the page has words for.
    for key, words in details.VALUES.items():
        constants = set().union(*written.get(key, {}).values()) if written.get(key) else set()
        assert constants - set(words) == set(), (key, constants)


def _subclasses(cls: type) -> set[type]:
    import portal.factors.recovery
    import portal.factors.sms
    import portal.factors.totp  # noqa: F401  (the methods register as subclasses when imported)

    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def test_every_label_and_value_is_in_english_and_chinese():
    chinese, template = chinese_and_template()
    texts = {f"key {k}": english(v) for k, v in details.KEYS.items()}
    for key, words in {**details.VALUES, "removed": details.REMOVED}.items():
        texts.update({f"{key}={value}": english(label) for value, label in words.items()})
    texts.update({"separator": ", ", "pair": "%(what)s: %(value)s", "yes": "Yes", "no": "No"})
    assert all(text.strip() or text == ", " for text in texts.values()), texts
    assert {name: text for name, text in texts.items() if text not in template} == {}
    assert {name: text for name, text in texts.items() if untranslated(text, chinese)} == {}


def test_the_audit_page_shows_details_through_describe():
    """The template never prints a row's details as they are stored (a dict), only describe()'s lines."""
    template = (ROOT / "templates" / "admin" / "audit.html").read_text()
    assert "describe(r.details, emails)" in template
    assert "r.details|" not in template and "{{ r.details" not in template and "value }}: {{" not in template


def test_the_page_text_never_looks_like_a_python_dict(tmp_path: Path):
    from portal import create_app
    from tests.conftest import app_settings

    app = create_app(app_settings("sqlite:///" + str(tmp_path / "x.db")))
    stored = {"method": "totp", "reason": "clock_skew", "removed": {"totp": 1, "sms": 0, "recovery_codes": 10},
              "identity_check": "video_call", "via": "cli", "requested_by": 7, "request_id": 3, "phone": None,
              "retired_key": ["a", "b"], "flag": True}
    expected = (("en", "Authenticator app: 1", "Video call"), ("zh-CN", "身份验证器应用：1", "视频通话"))
    for language, pair, video in expected:
        with app.test_request_context(headers={"Accept-Language": language}):
            shown = details.describe(stored, {7: "second@example.com"})
            lines = {d.key: (d.label, d.value) for d in shown}
            assert [d.key for d in shown][:4] == ["method", "reason", "phone", "identity_check"]  # the order of KEYS
            assert [d.key for d in shown][-2:] == ["flag", "retired_key"]  # keys no longer written: last, by name
            assert lines["requested_by"][1] == "second@example.com" and lines["request_id"][1] == "#3"
            assert pair in lines["removed"][1] and lines["identity_check"][1] == video
            assert lines["phone"][1] == "—" and lines["retired_key"][1] in ("a, b", "a，b")
            for label, value in lines.values():
                assert not any(mark in f"{label} {value}" for mark in ("{", "}", "[", "]", "': ", "None", "True"))
