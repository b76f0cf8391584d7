"""Canonicalise codes typed by people once, before any method sees them."""

from __future__ import annotations

import unicodedata

CODE_LENGTH = 6
SEPARATORS = str.maketrans("", "", " -\u00a0\u3000\t")


def canonical_digits(raw: str) -> str | None:
    """Return exactly six ASCII digits, or None.

    NFKC turns full-width digits typed with Chinese input methods (１２３４５６) into ASCII; spaces and
    hyphens people copy along are dropped. Every other character makes the code invalid.
    """
    text = unicodedata.normalize("NFKC", raw).translate(SEPARATORS)
    if len(text) == CODE_LENGTH and text.isascii() and text.isdigit():
        return text
    return None
