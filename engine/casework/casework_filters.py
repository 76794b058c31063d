"""Inbox filters a user names and keeps (issue 18, item 4): the inbox's query string under a
name, listed on that user's inbox only; saving a name again replaces its query."""

from __future__ import annotations

from engine.casework.casework_access import CaseworkContext
from engine.errors import InvalidArgumentError, NotFoundError
from engine.model import SavedFilter, User

NAME_MAX = 80  # characters of a saved filter's name
QUERY_MAX = 2000  # characters of its query string
PER_USER_MAX = 50  # saved filters one user may keep


def saved_filters(cw: CaseworkContext, user: User) -> list[SavedFilter]:
    """The user's saved filters, by name (one query)."""
    with cw.uow(read_only=True) as uow:
        return uow.saved_filters.list(user.username)


def save_filter(cw: CaseworkContext, user: User, name: str, query: str) -> SavedFilter:
    """Keep query (an inbox query string, without its "?") as the user's filter `name`;
    InvalidArgumentError with details.fields (name, query) when it cannot be kept."""
    name, query = " ".join(name.split()), query.strip().lstrip("?")
    problems: dict[str, list[str]] = {}
    if not name:
        problems["name"] = ["name the filter to save it"]
    elif len(name) > NAME_MAX:
        problems["name"] = [f"a name of at most {NAME_MAX} characters"]
    if len(query) > QUERY_MAX:
        problems["query"] = [f"these filters are too long to keep (over {QUERY_MAX} "
                             "characters)"]
    if problems:
        raise InvalidArgumentError("; ".join(m for said in problems.values() for m in said),
                                   details={"fields": problems})
    with cw.uow() as uow:
        have = uow.saved_filters.list(user.username)
        if len(have) >= PER_USER_MAX and all(f.name != name for f in have):
            raise InvalidArgumentError(
                f"you keep {PER_USER_MAX} saved filters already: delete one first",
                details={"fields": {"name": [f"at most {PER_USER_MAX} saved filters"]}})
        saved = uow.saved_filters.save(SavedFilter(None, user.username, name, query,
                                                   cw.clock.now()))
        uow.commit()
    return saved


def delete_filter(cw: CaseworkContext, user: User, filter_id: int) -> None:
    """Forget the user's saved filter; NotFoundError when they have none with that id."""
    with cw.uow() as uow:
        if not uow.saved_filters.delete(user.username, filter_id):
            raise NotFoundError("no such saved filter of yours",
                                details={"filter": filter_id})
        uow.commit()
