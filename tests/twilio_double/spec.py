"""Twilio's official OpenAPI documents (Verify v2, API 2010-04-01): routing, request checks, answer self-checks.

The documents are twilio-oai's complete twilio_verify_v2.json and twilio_api_v2010.json, which `make twilio-oai`
(a step of `make test`) fetches once into the git-ignored .cache/twilio-oai/ of this repository, checking the
npm tarball they come in against a pinned integrity. TWILIO_OPENAPI_DIR points elsewhere.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SPEC_DIR = REPO / ".cache" / "twilio-oai"  # filled by `make twilio-oai` (see the Makefile)
SPEC_DIR = Path(os.environ.get("TWILIO_OPENAPI_DIR") or DEFAULT_SPEC_DIR)
SPEC_FILES = ("twilio_verify_v2.json", "twilio_api_v2010.json")
FORM = "application/x-www-form-urlencoded"
METHODS = ("get", "post", "put", "patch", "delete")
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
CHANNEL_ADDRESS = re.compile(r"^[a-z]+:\S+$")  # whatsapp:+1…, messenger:…
COUNTRY = re.compile(r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2, as Twilio writes it (US, GB, CN)
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Twilio's error body (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions); the
# documents give no 4xx/5xx responses, so the double's error answers are checked against this shape.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["code", "message", "more_info", "status"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string", "minLength": 1},
                   "more_info": {"type": "string", "format": "uri"}, "status": {"type": "integer"}}}

# Where a request field's choices are only named in prose, the enum the spec gives the same response field,
# plus the extra values the prose lists ("One of: email, sms, whatsapp, call, sna or auto").
EXTRA_ENUMS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("CreateVerification", "Channel"): ("verification_enum_channel", ("auto",)),
}


class SpecMissing(FileNotFoundError):
    """Twilio's OpenAPI documents are not where the double reads them (run `make twilio-oai`)."""


@dataclass(frozen=True)
class Problem:
    """One reason Twilio would refuse a request; field is the parameter at fault (None: the request)."""

    field: str | None
    kind: str  # missing, unknown, duplicate, value, content-type, body, query, path, account, service, house
    detail: str
    code: int | None = None  # a specific Twilio error code, when one fits better than the product's generic one


@dataclass(eq=False)
class Operation:
    """One method on one templated path, with its schemas resolved against its own document."""

    operation_id: str
    method: str
    template: str
    host: str
    doc: dict[str, Any] = field(repr=False)
    regex: re.Pattern[str] = field(repr=False)
    path_params: dict[str, dict[str, Any]] = field(repr=False)
    query_params: dict[str, dict[str, Any]] = field(repr=False)
    body: dict[str, Any] | None = field(repr=False)
    responses: dict[int, dict[str, Any] | None] = field(repr=False)

    @property
    def product(self) -> str:
        """"verify" or "api", from the server the spec names."""
        return urlsplit(self.host).hostname.split(".")[0]  # type: ignore[union-attr]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(f"^{pattern}$")


def _specificity(template: str) -> tuple[int, ...]:
    """Sort key: a literal segment comes before a templated one at the same place (Summary before {Sid})."""
    return tuple(1 if "{" in segment else 0 for segment in template.split("/"))


class Spec:
    """All operations of the loaded documents, by path template (the most specific template first)."""

    load_seconds: float = 0.0  # set by load_spec

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.operations: list[Operation] = []
        self._paths: list[tuple[str, re.Pattern[str], dict[str, Operation]]] = []
        for doc in docs:
            for template, item in doc["paths"].items():
                host = (item.get("servers") or doc["servers"])[0]["url"]
                common = [resolve(doc, p) for p in item.get("parameters", [])]
                methods = {method.upper(): self._operation(doc, template, host, method.upper(), item[method],
                                                           common)
                           for method in METHODS if method in item}
                self.operations += methods.values()
                self._paths.append((template, _template_regex(template), methods))
        self._paths.sort(key=lambda entry: _specificity(entry[0]))
        self.by_id = {op.operation_id: op for op in self.operations}
        if len(self.by_id) != len(self.operations):
            raise ValueError("two operations share an operationId")

    def _operation(self, doc: dict[str, Any], template: str, host: str, method: str,
                   op: dict[str, Any], common: list[dict[str, Any]]) -> Operation:
        own = [resolve(doc, p) for p in op.get("parameters", [])]
        names = {(p["in"], p["name"]) for p in own}
        params = [*own, *(p for p in common if (p["in"], p["name"]) not in names)]  # the operation's own win
        body = None
        if "requestBody" in op:
            content = op["requestBody"]["content"]
            body = resolve(doc, content[FORM]["schema"]) if FORM in content else {"properties": {}}
        responses: dict[int, dict[str, Any] | None] = {}
        for status, response in op["responses"].items():
            schema = resolve(doc, response).get("content", {}).get("application/json", {}).get("schema")
            responses[int(status)] = resolve(doc, schema) if schema else None
        return Operation(
            operation_id=op["operationId"], method=method, template=template, host=host, doc=doc,
            regex=_template_regex(template),
            path_params={p["name"]: p for p in params if p["in"] == "path"},
            query_params={p["name"]: p for p in params if p["in"] == "query"},
            body=body, responses=responses)

    def route(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
        """(operation, path parameters, methods the path allows); no operation: 404 or 405.

        The most specific template that matches decides (.../Attempts/Summary, not .../Attempts/{Sid}).
        """
        for _, regex, methods in self._paths:
            match = regex.match(path)
            if match:
                op = methods.get(method)
                return (op, match.groupdict(), [method]) if op else (None, {}, list(methods))
        return None, {}, []

    def check_request(self, op: Operation, params: dict[str, str], query: dict[str, list[str]],
                      form: dict[str, list[str]], content_type: str | None, body: bytes) -> list[Problem]:
        """Everything the spec says about this request: path, query, content type, fields and their values."""
        problems: list[Problem] = []
        for name, param in op.path_params.items():
            error = check_form_value(op.doc, param.get("schema", {}), params.get(name, ""))
            if error:
                problems.append(Problem(name, "path", f"path parameter {name}={params.get(name)!r} {error}"))
        problems += self._check_fields(op, query, op.query_params and {
            "properties": {name: p.get("schema", {}) for name, p in op.query_params.items()},
            "required": [name for name, p in op.query_params.items() if p.get("required")]}, "query parameter")
        if op.body is None:
            if body:
                problems.append(Problem(None, "body", f"{op.method} {op.template} takes no request body"))
            return problems
        media_type, _, rest = (content_type or "").partition(";")
        charset = rest.strip().lower().removeprefix("charset=").strip('"') if rest.strip() else "utf-8"
        if media_type.strip().lower() != FORM or charset not in ("utf-8", "utf8"):
            return [*problems, Problem(None, "content-type", f"Content-Type must be {FORM}, not {content_type!r}")]
        return problems + self._check_fields(op, form, op.body, "field")

    def _check_fields(self, op: Operation, given: dict[str, list[str]], schema: dict[str, Any] | None,
                      what: str) -> list[Problem]:
        if not schema:
            return [Problem(name, "query", f"unexpected {what} {name}") for name in given]
        properties: dict[str, Any] = schema.get("properties", {})
        problems = [Problem(name, "missing", f"required {what} {name} is missing")
                    for name in schema.get("required", []) if not any(given.get(name, []))]
        for name, values in given.items():
            if name not in properties:
                problems.append(Problem(name, "unknown", f"unknown {what} {name} (not in the spec)", 20001))
                continue
            prop = resolve(op.doc, properties[name])
            if (op.operation_id, name) in EXTRA_ENUMS:
                enum_name, extra = EXTRA_ENUMS[(op.operation_id, name)]
                prop = {**prop, "enum": [*op.doc["components"]["schemas"][enum_name]["enum"], *extra]}
            if prop.get("type") == "array":
                item_schema, checked = prop.get("items", {}), values
            else:
                item_schema, checked = prop, values[:1]
                if len(values) > 1:
                    problems.append(Problem(name, "duplicate", f"{what} {name} sent {len(values)} times"))
            for value in checked:
                error = check_form_value(op.doc, item_schema, value)
                if error:
                    problems.append(Problem(name, "value", f"{what} {name}={value!r} {error}"))
        return problems

    def check_response(self, op: Operation | None, status: int, payload: Any) -> list[str]:
        """The double's own answer against the spec (a non-empty list is a bug in the double).

        A status the operation documents is checked against that response; any other 4xx/5xx (and every
        answer to a request that matched no operation) must be Twilio's JSON error for that status.
        """
        where = op.operation_id if op else "error"
        if op is not None and status in op.responses:
            schema = op.responses[status]
            if schema is None:
                return [] if payload is None else [f"{where} {status} must have no body"]
            return check_json_value(op.doc, schema, payload, where)
        if status < 400:
            return [f"{where} has no {status} response in the spec"]
        return check_error(status, payload, where)


def check_error(status: int, payload: Any, where: str) -> list[str]:
    """Twilio's error body: {"code", "message", "more_info", "status"}, status being the HTTP status."""
    problems = check_json_value({}, ERROR_SCHEMA, payload, where)
    if not problems and payload["status"] != status:
        problems.append(f"{where}.status={payload['status']} is not the HTTP status {status}")
    return problems


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref (#/components/schemas/…)."""
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _format_error(fmt: str | None, value: str) -> str | None:
    if fmt == "phone-number":
        ok = bool(E164.match(value) or CHANNEL_ADDRESS.match(value) or ALPHANUMERIC_SENDER.match(value))
        return None if ok else "is not a phone number (E.164, channel address or alphanumeric sender ID)"
    if fmt == "uri":
        parts = urlsplit(value)
        ok = (parts.scheme in ("http", "https") and bool(parts.netloc)) or value.startswith("/")
        return None if ok else "is not a URI"
    if fmt == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return "is not an ISO 8601 date-time"
    if fmt == "date-time-rfc-2822":
        try:
            parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return "is not an RFC 2822 date-time"
    if fmt == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "is not a date (YYYY-MM-DD)"
    if fmt == "currency" and not re.fullmatch(r"[A-Z]{3}", value):
        return "is not an ISO 4217 currency code"
    if fmt == "iso-country-code" and not COUNTRY.match(value):
        return "is not an ISO 3166-1 alpha-2 country code"
    if fmt == "http-method" and value not in HTTP_METHODS:
        return "is not an HTTP method"
    return None  # endpoint, twiml and the object formats (uri-map, …) say nothing a string check could test


def _string_error(schema: dict[str, Any], value: str) -> str | None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        return f"is shorter than {schema['minLength']}"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"is longer than {schema['maxLength']}"
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return f"does not match {schema['pattern']}"
    if schema.get("x-twilio", {}).get("ignoreFormat"):
        return None
    return _format_error(schema.get("format"), value)


def _range_error(schema: dict[str, Any], number: float) -> str | None:
    low, high = INT_RANGES.get(schema.get("format", ""), (-math.inf, math.inf))
    if not low <= number <= high:
        return f"does not fit {schema['format']}"
    if "minimum" in schema and number < schema["minimum"]:
        return f"is below {schema['minimum']}"
    if "maximum" in schema and number > schema["maximum"]:
        return f"is above {schema['maximum']}"
    return None


def check_form_value(doc: dict[str, Any], schema: dict[str, Any], value: str) -> str | None:
    """Why a form/query/path string does not fit the schema, or None."""
    schema = resolve(doc, schema)
    if "enum" in schema:
        return None if value in schema["enum"] else f"is not one of {', '.join(schema['enum'])}"
    kind = schema.get("type")
    if kind == "boolean":
        return None if value.lower() in ("true", "false") else "is not a boolean (true/false)"
    if kind == "integer":
        return _range_error(schema, int(value)) if re.fullmatch(r"-?\d+", value) else "is not an integer"
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return "is not a number"
        return _range_error(schema, number) if math.isfinite(number) else "is not a finite number"
    return _string_error(schema, value)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "boolean": (bool,), "integer": (int,), "number": (int, float), "array": (list,),
    "object": (dict,),
}


def check_json_value(doc: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """Why a JSON value does not fit the schema (empty list: it fits)."""
    schema = resolve(doc, schema)
    if value is None:
        untyped = not schema.get("type") and "enum" not in schema
        return [] if schema.get("nullable") or untyped else [f"{where} is null"]
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}={value!r} is not one of {schema['enum']}"]
    if kind in _JSON_TYPES and (not isinstance(value, _JSON_TYPES[kind])
                                or (kind in ("integer", "number") and isinstance(value, bool))):
        return [f"{where}={value!r} is not of type {kind}"]
    if kind == "string":
        error = _string_error(schema, value)
        return [f"{where}={value!r} {error}"] if error else []
    if kind in ("integer", "number"):
        error = _range_error(schema, value)
        return [f"{where}={value!r} {error}"] if error else []
    if kind == "array":
        return [p for i, item in enumerate(value)
                for p in check_json_value(doc, schema.get("items", {}), item, f"{where}[{i}]")]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties")
        if properties is None:
            return []
        problems = [f"{where}.{key} is not in the schema" for key in value if key not in properties]
        problems += [f"{where}.{key} is missing" for key in schema.get("required", []) if key not in value]
        for key, sub in properties.items():
            if key in value:
                problems += check_json_value(doc, sub, value[key], f"{where}.{key}")
        return problems
    return []


def spec_paths(directory: str | Path = SPEC_DIR) -> list[Path]:
    """The two documents; SpecMissing (saying what to run) when either is not there."""
    paths = [Path(directory) / name for name in SPEC_FILES]
    missing = [path.name for path in paths if not path.is_file()]
    if missing:
        raise SpecMissing(
            f"Twilio's OpenAPI documents ({', '.join(missing)}) are not in {directory}: run `make twilio-oai` "
            "(`make test` does it) to fetch them, or point TWILIO_OPENAPI_DIR at a folder that has them")
    return paths


@cache
def load_spec(directory: str = str(SPEC_DIR)) -> Spec:
    """Parse the two documents once per process (about 2.5 MB of JSON); load_seconds says how long it took."""
    started = time.perf_counter()
    spec = Spec([json.loads(path.read_bytes()) for path in spec_paths(directory)])
    spec.load_seconds = time.perf_counter() - started
    return spec
