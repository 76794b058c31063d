"""A task's title may name the item a for_each gave it (`Check on {item.name}`) and the
round of a repeat it is in (`Home visit {round}`).

A parallel multi-instance activity (the DSL's `for_each`) gives each instance its item in
`item`, and a DSL repeat numbers its rounds in `round`; a task's title is the same in every
instance and round unless it says which. Only `{item}`, `{item.<field>...}` and `{round}`
are filled, from the task's own data; anything else in braces, or a path the data does not
have, stays as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from engine.dotted import dig

ITEM = "item"
ROUND = "round"
_PLACEHOLDER = re.compile(r"\{(item(?:\.[A-Za-z_][A-Za-z0-9_]*)*|round)\}")
_LIMIT = 200  # characters of one filled value: a title stays a title


def with_item(title: str, data: Mapping[str, Any]) -> str:
    """The title with its `{item...}` and `{round}` placeholders filled from the task's
    data."""
    if "{" not in title or (ITEM not in data and ROUND not in data):
        return title

    def fill(match: re.Match[str]) -> str:
        value = dig(data, match.group(1), missing=None)
        if value is None or (match.group(1) == ROUND and (
                not isinstance(value, int) or isinstance(value, bool))):
            return match.group(0)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return text if len(text) <= _LIMIT else text[:_LIMIT - 1] + "\u2026"

    return _PLACEHOLDER.sub(fill, title)
