"""The Event enum is the one list of audit events: every name the portal writes is a member, every member
has a label and, for a notice, an English sentence with its Chinese translation; a name that is not an
Event is an error, never a silently dropped email. No HTTP, no database: the portal's source is read."""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import has_app_context

from portal import audit, mail, security_events
from portal.events import Event, label_of

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
CATALOGUES = PORTAL / "translations"
# The functions that write an event, and the position of their event argument.
WRITERS = {"portal.audit.record": 0, "portal.security_events.changed": 0, "portal.mail.notify": 1}


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name → dotted name, for what a module imports from the portal."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "portal":
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "portal" and alias.asname:
                    names[alias.asname] = alias.name
    return names


def _dotted(node: ast.expr, imports: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return imports.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imports:
        return f"{imports[node.value.id]}.{node.attr}"
    return None


def _event_names(node: ast.expr, scope: ast.AST, imports: dict[str, str]) -> set[str] | None:
    """The event names an argument can hold; None when the source does not say (the test then fails)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _event_names(node.body, scope, imports), _event_names(node.orelse, scope, imports)
        return None if body is None or orelse is None else body | orelse
    if isinstance(node, ast.Attribute) and _dotted(node.value, imports) == "portal.events.Event":
        member = Event.__members__.get(node.attr)
        return {member.value if member is not None else f"Event.{node.attr} (no such member)"}
    dotted = _dotted(node, imports)
    if isinstance(node, ast.Attribute) and dotted is not None:  # a module's constant: security_events.PASSWORD_ONLY
        module, _, name = dotted.rpartition(".")
        value = getattr(importlib.import_module(module), name, None)
        return {value.value} if isinstance(value, Event) else None
    if isinstance(node, ast.Name) and isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        params = scope.args
        if node.id in {a.arg for a in (*params.posonlyargs, *params.args, *params.kwonlyargs)}:
            return set()  # passed through: the callers' arguments are read where they are written
        values = [n.value for n in ast.walk(scope) if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)]
        found = [_event_names(v, scope, imports) for v in values]
        return None if not found or None in found else set().union(*found)  # type: ignore[arg-type]
    return None


def _scopes(tree: ast.Module) -> list[tuple[ast.AST, ast.Call]]:
    """Every call with its innermost enclosing function (or the module)."""
    calls: list[tuple[ast.AST, ast.Call]] = []

    def visit(node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else scope
            if isinstance(child, ast.Call):
                calls.append((scope, child))
            visit(child, inner)

    visit(tree, tree)
    return calls


def written_events() -> tuple[dict[str, list[str]], list[str]]:
    """Event name → where the portal writes it; and the writes whose event the source does not say."""
    written: dict[str, list[str]] = defaultdict(list)
    unread = []
    for path in sorted(PORTAL.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        imports = _imports(tree)
        for scope, call in _scopes(tree):
            position = WRITERS.get(_dotted(call.func, imports) or "")
            if position is None:
                continue
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            keyword = next((k.value for k in call.keywords if k.arg == "event"), None)
            argument = call.args[position] if len(call.args) > position else keyword
            names = None if argument is None else _event_names(argument, scope, imports)
            if names is None:
                unread.append(where)
            for name in names or ():
                written[name].append(where)
    return dict(written), unread


def members_named() -> dict[str, list[str]]:
    """Event.X → where portal/ names it (outside portal/events.py)."""
    named: dict[str, list[str]] = defaultdict(list)
    for path in sorted(PORTAL.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        imports = _imports(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _dotted(node.value, imports) == "portal.events.Event":
                named[node.attr].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return dict(named)


def catalogue(path: Path) -> dict[object, object]:
    with path.open("rb") as handle:
        return {m.id: m for m in read_po(handle) if m.id}


def english(text: object) -> str:
    """A lazy string's msgid: outside an app context Flask-Babel gives the text untranslated."""
    assert not has_app_context()
    return str(text)


def untranslated(msgid: str, chinese: dict[object, object]) -> bool:
    entry = chinese.get(msgid)
    return entry is None or entry.fuzzy or not entry.string or entry.string == msgid  # type: ignore[attr-defined]


# --- every name written is an Event, and every Event is written --------------------------------------

def test_every_event_the_portal_writes_is_an_event():
    written, unread = written_events()
    assert unread == [], "write the event as Event.X, a literal, or a local assigned from those"
    members = {event.value for event in Event}
    assert {name: where for name, where in written.items() if name not in members} == {}


def test_every_event_is_written_somewhere_in_the_portal():
    written, _ = written_events()
    assert {event.value for event in Event} - set(written) == set(), "a member nothing writes: remove it"


def test_every_member_the_portal_names_exists():
    named = members_named()
    assert named, "the walk found no Event.X at all"
    assert {attr: where for attr, where in named.items() if attr not in Event.__members__} == {}


def test_member_names_spell_their_stored_names():
    assert [e.name for e in Event] == [e.value.upper().replace(".", "_") for e in Event]
    assert all(type(e.value) is str for e in Event)  # what is stored: the plain name, as before the enum


# --- labels and notices, in English and Chinese -------------------------------------------------------

def test_every_event_has_a_label_in_english_and_chinese():
    chinese = catalogue(CATALOGUES / "zh_Hans" / "LC_MESSAGES" / "messages.po")
    template = catalogue(CATALOGUES / "messages.pot")
    labels = {event.value: english(event.label) for event in Event}
    assert all(label.strip() for label in labels.values()), labels
    assert {name: label for name, label in labels.items() if label not in template} == {}
    assert {name: label for name, label in labels.items() if untranslated(label, chinese)} == {}


def test_every_notice_has_an_english_sentence_and_a_chinese_translation():
    chinese = catalogue(CATALOGUES / "zh_Hans" / "LC_MESSAGES" / "messages.po")
    template = catalogue(CATALOGUES / "messages.pot")
    notices = {event.value: english(event.notice) for event in Event if event.notice is not None}
    assert notices, "no event has an email notice"
    assert all(sentence.strip().endswith(".") for sentence in notices.values()), notices
    assert {name: s for name, s in notices.items() if s not in template} == {}
    assert {name: s for name, s in notices.items() if untranslated(s, chinese)} == {}


def test_an_old_name_in_the_log_is_shown_as_itself():
    assert label_of("totp.enrolled") == english(Event.TOTP_ENROLLED.label)
    assert label_of("retired.event") == "retired.event"


def test_the_admin_audit_page_labels_come_from_the_events():
    """The audit page reads each row's label through label_of, never a table of its own."""
    template = (Path(__file__).resolve().parents[2] / "templates" / "admin" / "audit.html").read_text()
    assert "label_of(r.event)" in template and "labels" not in template


# --- a name that is not an Event is an error ----------------------------------------------------------

def test_a_name_converts_to_its_member():
    assert Event("totp.enrolled") is Event.TOTP_ENROLLED
    assert Event(Event.SMS_SENT) is Event.SMS_SENT


def test_notify_with_an_unknown_name_raises():
    with pytest.raises(ValueError, match=r"totp\.enroled"):
        mail.notify("someone@example.com", "totp.enroled", ip="192.0.2.1")


def test_record_with_an_unknown_name_raises():
    with pytest.raises(ValueError, match=r"signin\.secondfactor"):
        audit.record("signin.secondfactor", actor=None, subject=None, ip=None)


def test_changed_with_an_unknown_name_raises():
    with pytest.raises(ValueError, match=r"sms\.enroled"):
        security_events.changed("sms.enroled", user=None, ip=None, keep=None)  # type: ignore[arg-type]
