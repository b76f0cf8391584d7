"""portal/ has no assert statements: python -O drops them, and one that fails is a 500 (issue 15: a race)."""

from __future__ import annotations

import ast
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "portal"


def test_no_runtime_asserts_in_the_portal():
    found = [f"{path.relative_to(PORTAL.parent)}:{node.lineno}"
             for path in sorted(PORTAL.rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(), filename=str(path))) if isinstance(node, ast.Assert)]
    assert found == [], "handle these explicitly (an exception that becomes a clear answer): " + ", ".join(found)
