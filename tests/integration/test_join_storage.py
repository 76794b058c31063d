"""Branch data merged at joins survives real storage (SQLite and PostgreSQL): the split's
data found after the case was saved and loaded again, a multi-instance's kept start data
round-tripping through the JSON columns (issue 11 item 8)."""

from __future__ import annotations

from engine.ports import UnitOfWorkFactory
from tests.join_bundles import branch_b_joined_after_a_reload, people_merged_after_reloads


def test_a_join_after_a_reload_keeps_both_branches_items(uow_factory: UnitOfWorkFactory) -> None:
    case = branch_b_joined_after_a_reload(uow_factory)
    assert case.case.data["items"] == ["seed", "a", "b"]


def test_multi_instance_start_data_round_trips(uow_factory: UnitOfWorkFactory) -> None:
    case = people_merged_after_reloads(uow_factory)
    assert case.case.data["items"] == ["seed", "amy", "bo", "cy"]
