"""A task's title may name the item a for_each gave it: `Check on {item.name}`.

A parallel multi-instance activity (the DSL's `for_each`) gives each instance its item in
`item`; its tasks all have the same title unless it says which item they are for. Only
`{item}` and `{item.<field>...}` are filled, from the task's own data; anything else in
braces, or a path the item does not have, stays as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from engine.dotted import dig

ITEM = "item"
_PLACEHOLDER = re.compile(r"\{(item(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
_LIMIT = 200  # characters of one filled value: a title stays a title


def with_item(title: str, data: Mapping[str, Any]) -> str:
    """The title with its `{item...}` placeholders filled from the task's data."""
    if ITEM not in data or "{" not in title:
        return title

    def fill(match: re.Match[str]) -> str:
        value = dig(data, match.group(1), missing=None)
        if value is None:
            return match.group(0)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return text if len(text) <= _LIMIT else text[:_LIMIT - 1] + "\u2026"

    return _PLACEHOLDER.sub(fill, title)
