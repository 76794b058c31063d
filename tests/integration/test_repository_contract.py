"""The storage contract of engine.ports, run on every implementation: the in-memory fakes the
unit tests use, SQLite and PostgreSQL.

The engine's unit tests trust the fakes to behave like the databases; these tests are what
keeps that trust earned. Each one states behaviour a caller relies on (a stale save
conflicts, a closed task can come back, a duplicate is refused without spoiling the
transaction, nothing is kept without commit) and must hold on all three (the `storage`
fixture of tests/integration/conftest.py gives each).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from engine.errors import ConflictError, NotFoundError
from engine.model import (
    AccessEntry,
    AllocationPolicy,
    ApiToken,
    Bundle,
    CaseNote,
    CaseRecord,
    Client,
    ComparisonRate,
    ComparisonSubject,
    Consent,
    DefinitionDraft,
    Draft,
    InboxTask,
    Message,
    Migration,
    MigrationCase,
    MigrationTally,
    NewEvent,
    Organisation,
    OutcomeEvent,
    OutcomeImport,
    PathwayVersion,
    SavedFilter,
    SignalDelivery,
    Timer,
    User,
    UserSession,
)
from engine.ports import REPOSITORY_NAMES, UnitOfWork, UnitOfWorkFactory
from engine.summary_ports import CaseGroup
from engine.workflow.clock import running_at
from tests.integration import dashboard_data
from tests.unit.engine.fakes import FakeData, _Summaries

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _client(uow: UnitOfWork, name: str = "Ada") -> int:
    client_id = uow.clients.add(Client(id=None, name=name, created_at=T0)).id
    assert client_id is not None
    return client_id


def _case(uow: UnitOfWork, **changes: object) -> CaseRecord:
    record = CaseRecord(id=None, pathway="housing", version=1, client_id=_client(uow),
                        status="active", state={"tasks": []}, created_at=T0, updated_at=T0)
    return uow.cases.add(replace(record, **changes))  # type: ignore[arg-type]


def _committed_case(storage: UnitOfWorkFactory) -> int:
    with storage() as uow:
        case_id = _case(uow).id
        uow.commit()
    assert case_id is not None
    return case_id


def _task(task_id: str, case_id: int, **changes: object) -> InboxTask:
    task = InboxTask(id=task_id, case_id=case_id, pathway="housing", version=1, step=task_id,
                     title=task_id.title(), role="caseworker", form=None, due=None)
    return replace(task, **changes)  # type: ignore[arg-type]


def test_every_unit_of_work_carries_every_repository(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        assert all(getattr(uow, name, None) is not None for name in REPOSITORY_NAMES)


# -- versions and clients ------------------------------------------------------------------


def test_versions_round_trip_and_bundles_are_stored_once(storage: UnitOfWorkFactory) -> None:
    bundle = Bundle(hash="a" * 64, files={"main.bpmn": "<definitions/>"})
    version = PathwayVersion(pathway="housing", number=1, bundle_hash=bundle.hash,
                             main_file="main.bpmn", published_at=T0, processes=("housing",))
    with storage() as uow:
        uow.versions.add_bundle(bundle)
        uow.versions.add_bundle(Bundle(hash=bundle.hash, files={}))
        first = uow.versions.add(version)
        second = uow.versions.add(replace(version, number=2))
        other = uow.versions.add(replace(version, pathway="benefits"))
        uow.commit()
    with storage() as uow:
        assert uow.versions.bundle(bundle.hash) == bundle
        assert uow.versions.bundle("b" * 64) is None
        assert uow.versions.get("housing", 1) == first
        assert uow.versions.latest("housing") == second
        assert uow.versions.latest("nothing") is None
        assert uow.versions.list("housing") == [first, second]
        assert uow.versions.latest_all() == [other, second]


def test_publishing_a_taken_version_number_conflicts_and_keeps_the_transaction(
    storage: UnitOfWorkFactory,
) -> None:
    version = PathwayVersion(pathway="housing", number=1, bundle_hash="c" * 64,
                             main_file="main.bpmn", published_at=T0)
    with storage() as uow:
        uow.versions.add_bundle(Bundle(hash="c" * 64, files={}))
        uow.versions.add(version)
        with pytest.raises(ConflictError, match="version 1 of pathway 'housing' exists"):
            uow.versions.add(version)
        uow.versions.add(replace(version, number=2))
        uow.commit()
    with storage() as uow:
        assert [v.number for v in uow.versions.list("housing")] == [1, 2]


def test_client_fields_are_merged_not_replaced(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        ada = _client(uow)
        uow.clients.update_fields(ada, {"postcode": "N1", "age": 30})
        uow.clients.update_fields(ada, {"age": 31})
        uow.commit()
    with storage() as uow:
        found = uow.clients.get(ada)
        assert found is not None and found.fields == {"postcode": "N1", "age": 31}
        assert [c.id for c in uow.clients.list()] == [ada]
        assert uow.clients.get(ada + 1000) is None


def test_a_field_of_every_client_is_read_as_the_fields_hold_it(
        storage: UnitOfWorkFactory) -> None:
    """What cohorts read of every client: one field's value, as whole records give it (a
    yes/no stays a bool on SQLite too), nested at a dotted path; no value, no entry."""
    with storage() as uow:
        ada, bo, cy = _client(uow), _client(uow), _client(uow)
        uow.clients.update_fields(ada, {"release_date": "2026-01-31", "flag": False,
                                        "home": {"since": "2025-05-01"}})
        uow.clients.update_fields(bo, {"release_date": None, "flag": True, "count": 0})
        uow.commit()
    with storage() as uow:
        assert uow.clients.field_values("release_date") == {ada: "2026-01-31"}
        flags = uow.clients.field_values("flag")
        assert flags == {ada: False, bo: True} and type(flags[ada]) is bool
        assert uow.clients.field_values("count") == {bo: 0}
        assert uow.clients.field_values("home.since") == {ada: "2025-05-01"}
        assert uow.clients.field_values("home.gone") == {}
        assert uow.clients.field_values("missing") == {}
        whole = {c.id: c.fields.get("release_date") for c in uow.clients.list()}
        assert whole == {ada: "2026-01-31", bo: None, cy: None}
        # as text: only where the value is text (a date), never a yes/no, number or null;
        # each text once, with every client holding it (a cohort parses each date once)
        assert uow.clients.clients_by_text("release_date") == {"2026-01-31": [ada]}
        assert uow.clients.clients_by_text("flag") == {}
        assert uow.clients.clients_by_text("count") == {}
        assert uow.clients.clients_by_text("home.since") == {"2025-05-01": [ada]}
        assert uow.clients.clients_by_text("home") == {}
        assert uow.clients.clients_by_text("missing") == {}
        more = [uow.clients.add(Client(id=None, name=f"Same {n}", created_at=T0,
                                       fields={"release_date": "2026-01-31"})).id
                for n in range(3)]
        uow.clients.add(Client(id=None, name="Padded", created_at=T0,
                               fields={"release_date": " 2026-01-31"}))
        found = uow.clients.clients_by_text("release_date")
        assert {text: sorted(ids) for text, ids in found.items()} == {
            "2026-01-31": sorted([ada, *more]), " 2026-01-31": [found[" 2026-01-31"][0]]}


# -- cases ---------------------------------------------------------------------------------


def test_saving_writes_the_next_revision_and_lists_leave_state_out(
    storage: UnitOfWorkFactory,
) -> None:
    with storage() as uow:
        case = _case(uow, state={"x": 1})
        older = _case(uow, version=2, status="completed")
        case.state = {"x": 2}
        uow.cases.save(case, expected_revision=0)
        uow.commit()
    assert case.revision == 1 and case.id is not None and older.id is not None
    with storage() as uow:
        stored = uow.cases.get(case.id)
        assert stored is not None and stored.state == {"x": 2} and stored.revision == 1
        head = uow.cases.get(case.id, with_state=False)
        assert head is not None and head.state == {} and head.revision == 1
        assert [c.id for c in uow.cases.list()] == [case.id, older.id]
        assert [c.id for c in uow.cases.list(status="completed")] == [older.id]
        assert [c.id for c in uow.cases.list(version=1, pathway="housing")] == [case.id]
        assert [c.id for c in uow.cases.list(client_id=older.client_id)] == [older.id]
        assert all(c.state == {} for c in uow.cases.list())
        assert uow.cases.count_by_version("housing") == {1: 1, 2: 1}


def test_saving_a_stale_case_conflicts_and_keeps_the_winner(storage: UnitOfWorkFactory) -> None:
    case_id = _committed_case(storage)
    with storage() as uow:
        theirs = uow.cases.get(case_id)  # loaded, then someone else saves first
    with storage() as first:
        mine = first.cases.get(case_id)
        assert mine is not None and theirs is not None
        mine.data = {"who": "first"}
        first.cases.save(mine, expected_revision=0)
        first.commit()
    with storage() as second:
        theirs.data = {"who": "second"}
        with pytest.raises(ConflictError):
            second.cases.save(theirs, expected_revision=0)
    with storage() as uow:
        stored = uow.cases.get(case_id)
        assert stored is not None and stored.data == {"who": "first"} and stored.revision == 1


def test_saving_a_missing_case_is_not_found(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        case = _case(uow)
        with pytest.raises(NotFoundError):
            uow.cases.save(replace(case, id=(case.id or 0) + 1000), expected_revision=0)


def test_a_designer_s_draft_of_a_pathway_is_kept_replaced_and_forgotten(
        storage: UnitOfWorkFactory) -> None:
    """One draft per designer and pathway ("" a new one): saving again replaces it, another
    designer's or pathway's is apart, and deleting forgets only that one."""
    first = DefinitionDraft("dana", "housing", "pathway: housing\n", 2, T0)
    with storage() as uow:
        uow.definition_drafts.save(first)
        uow.definition_drafts.save(DefinitionDraft("eli", "housing", "other", 2, T0))
        uow.definition_drafts.save(DefinitionDraft("dana", "", "pathway: new\n", None, T0))
        uow.commit()
    with storage() as uow:
        assert uow.definition_drafts.get("dana", "housing") == first
        assert uow.definition_drafts.get("dana", "gate") is None
        later = DefinitionDraft("dana", "housing", "pathway: housing # more\n", 3, T0 + HOUR)
        uow.definition_drafts.save(later)
        uow.commit()
    with storage() as uow:
        assert uow.definition_drafts.get("dana", "housing") == later
        assert uow.definition_drafts.get("eli", "housing").source == "other"  # type: ignore[union-attr]
        assert uow.definition_drafts.get("dana", "").based_on is None  # type: ignore[union-attr]
        uow.definition_drafts.delete("dana", "housing")
        uow.definition_drafts.delete("nobody", "housing")
        uow.commit()
    with storage() as uow:
        assert uow.definition_drafts.get("dana", "housing") is None
        assert uow.definition_drafts.get("eli", "housing") is not None


def test_a_user_s_saved_filters_are_kept_by_name_and_only_theirs(
        storage: UnitOfWorkFactory) -> None:
    """Saving a name again replaces its query (same id); each user lists only their own, by
    name; deleting needs the owner."""
    with storage() as uow:
        late = uow.saved_filters.save(SavedFilter(None, "dana", "Late", "overdue=yes", T0))
        uow.saved_filters.save(SavedFilter(None, "dana", "Gate", "pathway=gate", T0))
        eli = uow.saved_filters.save(SavedFilter(None, "eli", "Late", "scope=mine", T0))
        uow.commit()
    assert late.id is not None and eli.id is not None and late.id != eli.id
    with storage() as uow:
        again = uow.saved_filters.save(SavedFilter(None, "dana", "Late", "sort=client",
                                                   T0 + HOUR))
        uow.commit()
    assert again.id == late.id
    with storage() as uow:
        assert [(f.name, f.query) for f in uow.saved_filters.list("dana")] == [
            ("Gate", "pathway=gate"), ("Late", "sort=client")]
        assert uow.saved_filters.delete("dana", eli.id) is False  # not hers
        assert uow.saved_filters.delete("dana", late.id) is True
        uow.commit()
    with storage() as uow:
        assert [f.name for f in uow.saved_filters.list("dana")] == ["Gate"]
        assert [f.query for f in uow.saved_filters.list("eli")] == ["scope=mine"]


# -- inbox ---------------------------------------------------------------------------------


def test_inbox_lists_open_tasks_soonest_due_first_undated_last(
    storage: UnitOfWorkFactory,
) -> None:
    case_id = _committed_case(storage)
    later = _task("later", case_id, due=T0 + 2 * DAY)
    sooner = _task("sooner", case_id, due=T0 + DAY, role="outreach")
    undated = _task("undated", case_id)
    with running_at(T0), storage() as uow:
        uow.inbox.replace_open(case_id, [undated, later, sooner])
        uow.commit()
    with storage() as uow:
        assert [t.id for t in uow.inbox.list()] == ["sooner", "later", "undated"]
        assert [t.id for t in uow.inbox.list(role="outreach")] == ["sooner"]
        assert [t.id for t in uow.inbox.list(step="later", case_id=case_id)] == ["later"]
        assert uow.inbox.get("later") == replace(later, created_at=T0)


def test_inbox_counts_open_tasks_per_step_and_those_due_before_now(
    storage: UnitOfWorkFactory,
) -> None:
    """A diagram's counts: per step of one version, open tasks and how many were due before
    the time given (one due exactly then is not yet overdue); closed tasks, other versions
    and other pathways are not counted."""
    first, second, moved = (_committed_case(storage) for _ in range(3))
    with running_at(T0), storage() as uow:
        uow.inbox.replace_open(first, [_task("a1", first, step="assess", due=T0 - DAY),
                                       _task("b1", first, step="book", due=T0 + DAY)])
        uow.inbox.replace_open(second, [_task("a2", second, step="assess", due=T0),
                                        _task("c2", second, step="close")])
        uow.inbox.replace_open(moved, [_task("a3", moved, step="assess", version=2,
                                             due=T0 - DAY),
                                       _task("x3", moved, step="assess", pathway="other")])
        uow.commit()
    with storage() as uow:
        assert uow.inbox.open_by_step("housing", 1, T0) == {
            "assess": (2, 1), "book": (1, 0), "close": (1, 0)}
        assert uow.inbox.open_by_step("housing", 1, T0 + DAY + HOUR) == {
            "assess": (2, 2), "book": (1, 1), "close": (1, 0)}
        assert uow.inbox.open_by_step("housing", 2, T0) == {"assess": (1, 1)}
        assert uow.inbox.open_by_step("housing", 3, T0) == {}
    with running_at(T0), storage() as uow:
        uow.inbox.replace_open(first, [])  # its tasks done
        uow.commit()
    with storage() as uow:
        assert uow.inbox.open_by_step("housing", 1, T0) == {"assess": (1, 0), "close": (1, 0)}


@pytest.mark.parametrize("told", [False, True], ids=["read", "told-previous"])
def test_inbox_replace_open_closes_the_rest_and_a_closed_task_comes_back(
    storage: UnitOfWorkFactory, told: bool,
) -> None:
    case_id = _committed_case(storage)
    review, call = _task("review", case_id), _task("call", case_id)
    with running_at(T0), storage() as uow:
        uow.inbox.replace_open(case_id, [review, call], previous=[] if told else None)
        uow.commit()
    with running_at(T0 + HOUR), storage() as uow:
        uow.inbox.replace_open(case_id, [review], previous=uow.inbox.list() if told else None)
        uow.commit()
    with storage() as uow:
        assert uow.inbox.get("call") is None
        assert [t.id for t in uow.inbox.list(case_id=case_id)] == ["review"]
    renamed = replace(call, title="Call back")
    with running_at(T0 + 2 * HOUR), storage() as uow:
        uow.inbox.replace_open(case_id, [review, renamed],
                               previous=uow.inbox.list() if told else None)
        uow.commit()
    with storage() as uow:
        back = uow.inbox.get("call")
        assert back is not None and back.title == "Call back"
        assert sorted(t.id for t in uow.inbox.list(case_id=case_id)) == ["call", "review"]


def test_an_assignee_survives_replace_open_and_closed_tasks_cannot_be_assigned(
    storage: UnitOfWorkFactory,
) -> None:
    case_id = _committed_case(storage)
    review = _task("review", case_id)
    with running_at(T0), storage() as uow:
        uow.inbox.replace_open(case_id, [review])
        uow.inbox.assign("review", "amy")
        uow.inbox.replace_open(case_id, [replace(review, title="Review again")])
        uow.commit()
    with storage() as uow:
        found = uow.inbox.get("review")
        assert found is not None and found.assignee == "amy" and found.title == "Review again"
        uow.inbox.close("review", completed_by="amy", at=T0 + HOUR)
        assert uow.inbox.get("review") is None
        with pytest.raises(NotFoundError):
            uow.inbox.assign("review", "bob")
        with pytest.raises(NotFoundError):
            uow.inbox.assign("nothing", "bob")
        with pytest.raises(NotFoundError):
            uow.inbox.close("nothing", completed_by=None, at=T0)


# -- events, timers, messages --------------------------------------------------------------


def test_recorded_outcomes_are_read_by_kind_and_client_with_the_case_s_client(
        storage: UnitOfWorkFactory) -> None:
    """Only outcome_recorded events, of the outcome asked for (a name that is not a string
    is no outcome), of the client's cases, with the case's client: the cohort figures read
    these instead of every case and event."""
    with storage() as uow:
        first, second = _case(uow), _case(uow)
        for case, outcome in ((first, "housed"), (second, "housed"), (second, "employed")):
            uow.events.append(case.id or 0, [
                NewEvent("outcome_recorded", T0, "record", None,
                         {"outcome": outcome, "value": True}),
                NewEvent("task_completed", T0 + HOUR, "record", "amy",
                         {"task": "t", "outcome": outcome}),
                NewEvent("outcome_recorded", T0 + DAY, None, None,
                         {"outcome": 7, "value": True})])
        uow.commit()
    with storage() as uow:
        found = [(e.case_id, e.seq, e.data["outcome"], client)
                 for e, client in uow.events.recorded_outcomes(kind="housed")]
        assert found == [(first.id, 1, "housed", first.client_id),
                         (second.id, 1, "housed", second.client_id)]
        assert [(e.seq, e.data["outcome"]) for e, _ in uow.events.recorded_outcomes(
            client_id=second.client_id)] == [(1, "housed"), (3, 7), (4, "employed"), (6, 7)]
        assert uow.events.recorded_outcomes(kind="employed", client_id=first.client_id) == []


def test_events_are_numbered_per_case_and_a_clash_conflicts_without_spoiling_the_transaction(
    storage: UnitOfWorkFactory,
) -> None:
    with storage() as uow:
        one, two = _case(uow).id, _case(uow).id
        assert one is not None and two is not None
        uow.events.append(one, [NewEvent("started", T0), NewEvent("step", T0 + HOUR)])
        uow.events.append(two, [NewEvent("started", T0)])
        uow.events.append(one, [NewEvent("moved", T0 - HOUR, step="a", actor="amy",
                                         data={"k": 1})], first_seq=3)
        with pytest.raises(ConflictError):
            uow.events.append(one, [NewEvent("late", T0)], first_seq=2)
        uow.events.append(two, [NewEvent("again", T0)])  # still usable
        uow.commit()
    with storage() as uow:
        events = uow.events.list(one)
        assert [(e.seq, e.type) for e in events] == [(1, "started"), (2, "step"), (3, "moved")]
        assert events[2].at == T0 + HOUR  # never earlier than the one before
        assert (events[2].step, events[2].actor, events[2].data) == ("a", "amy", {"k": 1})
        assert [(e.seq, e.type) for e in uow.events.list(two)] == [(1, "started"), (2, "again")]


def test_the_longest_due_active_case_is_claimed_first(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        one, two, ended, later = (_case(uow, status=status).id
                                  for status in ("active", "active", "completed", "active"))
        assert one and two and ended and later
        uow.timers.replace(one, [Timer(one, "b", "wait", T0 + HOUR), Timer(one, "a", "w", T0)])
        uow.timers.replace(two, [Timer(two, "c", "wait", T0 - HOUR)])
        uow.timers.replace(ended, [Timer(ended, "d", "wait", T0 - DAY)])  # not active
        uow.timers.replace(later, [Timer(later, "e", "wait", T0 + DAY)])
        uow.commit()
    with storage() as uow:
        assert uow.timers.claim_due(T0 + 2 * HOUR) == two
        assert uow.timers.claim_due(T0 + 2 * HOUR, passed={two}) == one
        assert uow.timers.claim_due(T0 + 2 * HOUR, passed=[two, one]) is None
        assert uow.timers.claim_due(T0 - DAY) is None
        assert uow.timers.due_count(T0 + 2 * HOUR) == (2, T0 - HOUR)
        assert uow.timers.due_count(T0 - DAY) == (0, None)
        assert [t.task_id for t in uow.timers.for_case(one)] == ["a", "b"]


def test_only_an_undelivered_message_is_claimed(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        message = uow.messages.add(Message(None, "referral", _client(uow), None, None, T0))
        uow.commit()
    assert message.id is not None
    with storage() as uow:
        assert uow.messages.claim(message.id)
        assert not uow.messages.claim(message.id + 1000)
        uow.messages.mark_delivered(message.id, None, T0)
        assert not uow.messages.claim(message.id)


def test_messages_stay_pending_until_delivered_once(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        ada, bob = _client(uow), _client(uow, "Bob")
        first = uow.messages.add(Message(None, "referral", ada, {"a": 1}, None, T0))
        signal = uow.messages.add(Message(None, "alert", None, None, None, T0 + HOUR,
                                          kind="signal"))
        other = uow.messages.add(Message(None, "referral", bob, None, None, T0 + 2 * HOUR))
        uow.commit()
    assert first.id is not None and signal.id is not None and other.id is not None
    with storage() as uow:
        assert [m.id for m in uow.messages.pending()] == [first.id, signal.id, other.id]
        assert [m.id for m in uow.messages.pending(ada)] == [first.id, signal.id]
        uow.messages.mark_delivered(first.id, None, T0 + DAY)
        with pytest.raises(ConflictError):
            uow.messages.mark_delivered(first.id, None, T0 + DAY)
        with pytest.raises(NotFoundError):
            uow.messages.mark_delivered(other.id + 1000, None, T0)
        assert [m.id for m in uow.messages.pending(ada)] == [signal.id]
        assert uow.messages.pending(bob)[1].payload is None


def test_a_signal_s_deliveries_are_kept_until_each_is_cleared(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        ada = _client(uow)
        signal = uow.messages.add(Message(None, "alert", ada, {"a": 1}, 7, T0, kind="signal"))
        assert signal.id is not None
        uow.messages.mark_delivered(signal.id, None, T0)
        to_case, to_start = uow.messages.add_deliveries(
            [SignalDelivery(None, signal.id, 3, None, None, T0),
             SignalDelivery(None, signal.id, None, "intake", ada, T0)])
        uow.commit()
    assert to_case.id is not None and to_start.id is not None
    assert (to_case.case_id, to_start.pathway, to_start.client_id) == (3, "intake", ada)
    with storage() as uow:
        assert uow.messages.add_deliveries([]) == []
        [(first, routed), (second, _)] = uow.messages.deliveries()
        assert (first, second) == (to_case, to_start)
        assert (routed.id, routed.kind, routed.payload, routed.sender_case_id) == (
            signal.id, "signal", {"a": 1}, 7)
        assert routed.delivered_at == T0 and uow.messages.pending() == []
        assert uow.messages.claim_delivery(to_case.id)
        uow.messages.clear_delivery(to_case.id)
        assert not uow.messages.claim_delivery(to_case.id)
        uow.commit()
    with storage() as uow:
        assert [d.id for d, _signal in uow.messages.deliveries()] == [to_start.id]


# -- allocations and migrations ------------------------------------------------------------


def test_allocation_policies_are_kept_in_order(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        first = uow.allocations.set(AllocationPolicy("housing", "pinned", version=1, set_at=T0))
        second = uow.allocations.set(AllocationPolicy("housing", "weighted",
                                                      weights={3: 1, 2: 4}, seed="s",
                                                      set_at=T0 + HOUR, set_by="amy"))
        uow.commit()
    with storage() as uow:
        assert uow.allocations.current("housing") == second
        assert list(second.weights) == [2, 3]
        assert uow.allocations.history("housing") == [first, second]
        assert uow.allocations.current("benefits") is None


def test_migrations_record_each_case_once_and_put_back_once(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        case_id = _case(uow).id
        assert case_id is not None
        migration = uow.migrations.add(Migration(None, "housing", 1, 2, T0, actor="amy",
                                                 filter={"step": "a"}))
        assert migration.id is not None
        undo = uow.migrations.add(Migration(None, "housing", 2, 1, T0 + HOUR,
                                            reverts=migration.id))
        assert undo.id is not None
        result = MigrationCase(migration.id, case_id, ok=True, from_step="a", to_step="b",
                               before_state={"s": 1}, before_revision=0, after_revision=1)
        uow.migrations.add_case(result)
        with pytest.raises(ConflictError):
            uow.migrations.add_case(result)
        with pytest.raises(NotFoundError):
            uow.migrations.mark_reverted(migration.id, case_id + 1000, undo.id)
        uow.migrations.mark_reverted(migration.id, case_id, undo.id)
        uow.migrations.mark_reverted(migration.id, case_id, undo.id)  # the same: fine
        with pytest.raises(ConflictError):
            uow.migrations.mark_reverted(migration.id, case_id, undo.id + 1000)
        uow.migrations.finish(migration.id, T0 + DAY)
        with pytest.raises(NotFoundError):
            uow.migrations.finish(undo.id + 1000, T0)
        uow.commit()
    with storage() as uow:
        assert uow.migrations.cases(migration.id) == [replace(result, reverted_by=undo.id)]
        assert uow.migrations.get(migration.id) == replace(migration, finished_at=T0 + DAY)
        assert [m.id for m in uow.migrations.list("housing")] == [migration.id, undo.id]
        assert uow.migrations.list("benefits") == []


def test_a_migration_s_progress_is_kept_with_it(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        added = uow.migrations.add(Migration(None, "housing", 1, 2, T0, planned=40))
        assert added.id is not None
        assert (added.planned, added.checked, added.progressed_at) == (40, 0, None)
        uow.migrations.progress(added.id, 10, T0 + HOUR)
        with pytest.raises(NotFoundError):
            uow.migrations.progress(added.id + 1000, 1, T0)
        uow.commit()
    with storage() as uow:
        found = uow.migrations.get(added.id)
        assert found is not None
        assert (found.planned, found.checked, found.progressed_at) == (40, 10, T0 + HOUR)
        assert uow.migrations.list("housing") == [found]


def test_a_case_waiting_for_its_next_round_is_found_and_settled_once(
        storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        cases = [_case(uow).id or 0 for _ in range(2)]
        first = uow.migrations.add(Migration(None, "housing", 1, 2, T0)).id or 0
        waits = MigrationCase(first, cases[0], False, "in its round", "visit",
                              waits_for_round="visits", waiting=True)
        uow.migrations.add_case(waits)
        uow.migrations.add_case(MigrationCase(first, cases[1], False, "removed"))
        uow.commit()
    with storage() as uow:
        assert uow.migrations.waiting() == [waits]
        assert uow.migrations.waiting(cases[0]) == [waits]
        assert uow.migrations.waiting(cases[1]) == []
        moved = replace(waits, ok=True, reason=None, waiting=False, moved_at=T0 + HOUR,
                        moved_at_round=3, before_state={"a": [1]}, before_revision=4,
                        after_revision=5)
        uow.migrations.settle(moved)
        with pytest.raises(ConflictError):  # it no longer waits
            uow.migrations.settle(moved)
        with pytest.raises(ConflictError):  # it never did
            uow.migrations.settle(MigrationCase(first, cases[1], False, "x"))
        uow.commit()
    with storage() as uow:
        assert uow.migrations.waiting() == []
        assert uow.migrations.cases(first)[0] == moved
        assert uow.migrations.tallies("housing")[first].moved == 1


def test_whether_a_case_waits_is_read_afresh_after_its_events_and_a_migration_s_write(
        storage: UnitOfWorkFactory) -> None:
    """A step's append reads whether its case waits in a migration (adapters.sql.append_read);
    a migration's later write in the transaction, or the next transaction, must see past
    that read."""
    event = NewEvent("note_added", T0, data={"text": "x"})
    with storage() as uow:
        case_id = _case(uow).id or 0
        uow.events.append(case_id, [event], first_seq=1)
        assert uow.migrations.waiting(case_id) == []
        first = uow.migrations.add(Migration(None, "housing", 1, 2, T0)).id or 0
        waits = MigrationCase(first, case_id, False, "in its round", "visit",
                              waits_for_round="visits", waiting=True)
        uow.migrations.add_case(waits)
        assert uow.migrations.waiting(case_id) == [waits]
        uow.events.append(case_id, [event], first_seq=2)
        assert uow.migrations.waiting(case_id) == [waits]
        uow.commit()
    with storage() as uow:
        uow.events.append(case_id, [event], first_seq=3)
        uow.migrations.settle(replace(waits, ok=True, reason=None, waiting=False))
        assert uow.migrations.waiting(case_id) == []
        uow.commit()
    with storage() as uow:
        uow.events.append(case_id, [event], first_seq=4)
        assert uow.migrations.waiting(case_id) == []
        uow.rollback()
    with storage() as uow:
        uow.migrations.add_case(replace(waits, migration_id=uow.migrations.add(
            Migration(None, "housing", 1, 2, T0)).id or 0))
        uow.commit()
    with storage() as uow:
        assert len(uow.migrations.waiting(case_id)) == 1


def test_migration_tallies_count_each_migration_s_cases_in_one_read(
        storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        cases = [_case(uow).id or 0 for _ in range(3)]
        first = uow.migrations.add(Migration(None, "housing", 1, 2, T0)).id or 0
        second = uow.migrations.add(Migration(None, "housing", 2, 3, T0)).id or 0
        empty = uow.migrations.add(Migration(None, "housing", 1, 3, T0)).id or 0
        other = uow.migrations.add(Migration(None, "benefits", 1, 2, T0)).id or 0
        undo = uow.migrations.add(Migration(None, "housing", 2, 1, T0, reverts=first)).id or 0
        for case_id, ok in zip(cases, (True, True, False), strict=True):
            uow.migrations.add_case(MigrationCase(first, case_id, ok=ok))
        uow.migrations.add_case(MigrationCase(second, cases[2], ok=False, reason="no"))
        uow.migrations.add_case(MigrationCase(other, cases[0], ok=True))
        uow.migrations.mark_reverted(first, cases[1], undo)
        uow.commit()
    with storage() as uow:
        assert uow.migrations.tallies("housing") == {
            first: MigrationTally(2, 1, True), second: MigrationTally(0, 1, False)}
        assert empty not in uow.migrations.tallies("housing")
        assert uow.migrations.tallies("benefits") == {other: MigrationTally(1, 0, False)}
        assert uow.migrations.tallies("nothing") == {}


# -- accounts ------------------------------------------------------------------------------


def test_usernames_are_unique_and_a_clash_keeps_the_transaction(
    storage: UnitOfWorkFactory,
) -> None:
    with storage() as uow:
        uow.organisations.put(Organisation("st_giles", "St Giles"))
        uow.organisations.put(Organisation("st_giles", "St Giles Trust"))
        uow.organisations.put(Organisation("council", "Council"))
        amy = uow.users.add(User(None, "amy", "Amy", "st_giles", "caseworker", created_at=T0))
        with pytest.raises(ConflictError):
            uow.users.add(User(None, "amy", "Another", "council", "viewer"))
        bob = uow.users.add(User(None, "bob", "Bob", "council", "viewer", created_at=T0))
        uow.commit()
    assert amy.id is not None and bob.id is not None
    with storage() as uow:
        assert uow.organisations.list() == [Organisation("council", "Council"),
                                             Organisation("st_giles", "St Giles Trust")]
        uow.users.update(replace(amy, username="renamed", role="manager",
                                 pathway_roles=("housing:triage",), active=False))
        with pytest.raises(NotFoundError):
            uow.users.update(replace(amy, id=bob.id + 1000))
        uow.commit()
    with storage() as uow:
        assert uow.users.get(amy.id) == replace(amy, role="manager",
                                                pathway_roles=("housing:triage",),
                                                active=False)
        assert uow.users.by_username("renamed") is None
        assert [u.username for u in uow.users.list()] == ["amy", "bob"]
        assert uow.users.list("council") == [bob]


def _user(uow: UnitOfWork, username: str) -> None:
    uow.organisations.put(Organisation("st_giles", "St Giles"))
    uow.users.add(User(None, username, username.title(), "st_giles", "caseworker"))


def test_tokens_are_touched_and_revoked_once(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        _user(uow, "amy")
        token = uow.tokens.add(ApiToken(None, "amy", "ci", "h" * 64, created_at=T0))
        assert token.id is not None
        uow.tokens.touch(token.id, T0 + HOUR)
        uow.tokens.revoke(token.id, T0 + DAY)
        uow.tokens.revoke(token.id, T0 + 2 * DAY)
        with pytest.raises(NotFoundError):
            uow.tokens.revoke(token.id + 1000, T0)
        uow.commit()
    with storage() as uow:
        assert uow.tokens.by_hash("h" * 64) == replace(token, last_used_at=T0 + HOUR,
                                                       revoked_at=T0 + DAY)
        assert uow.tokens.list("amy") == [uow.tokens.by_hash("h" * 64)]
        assert uow.tokens.list("bob") == []


def test_a_token_or_session_is_read_with_its_user_in_one_go(storage: UnitOfWorkFactory
                                                            ) -> None:
    with storage() as uow:
        uow.organisations.put(Organisation("st_giles", "St Giles"))
        uow.users.add(User(None, "amy", "Amy", "st_giles", "caseworker",
                           pathway_roles=("housing_worker", "mentor")))
        token = uow.tokens.add(ApiToken(None, "amy", "ci", "h" * 64, created_at=T0))
        session = uow.sessions.add(UserSession(None, "amy", "k" * 64, T0, T0))
        uow.commit()
    with storage() as uow:
        amy = uow.users.by_username("amy")
        assert amy is not None and amy.pathway_roles == ("housing_worker", "mentor")
        assert uow.tokens.with_user("h" * 64) == (token, amy)
        assert uow.sessions.with_user("k" * 64) == (session, amy)
        assert uow.tokens.with_user("x" * 64) is None
        assert uow.sessions.with_user("x" * 64) is None


def test_a_taken_token_or_session_hash_conflicts_and_keeps_the_transaction(
    storage: UnitOfWorkFactory,
) -> None:
    with storage() as uow:
        _user(uow, "amy")
        uow.tokens.add(ApiToken(None, "amy", "ci", "h" * 64, created_at=T0))
        with pytest.raises(ConflictError):
            uow.tokens.add(ApiToken(None, "amy", "again", "h" * 64, created_at=T0))
        uow.sessions.add(UserSession(None, "amy", "k" * 64, T0, T0))
        with pytest.raises(ConflictError):
            uow.sessions.add(UserSession(None, "amy", "k" * 64, T0, T0))
        uow.tokens.add(ApiToken(None, "amy", "other", "i" * 64, created_at=T0))
        uow.commit()
    with storage() as uow:
        assert [t.name for t in uow.tokens.list("amy")] == ["ci", "other"]
        assert len(uow.sessions.list("amy")) == 1


def test_sessions_end_once_and_old_ones_are_pruned(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        _user(uow, "amy")
        _user(uow, "bob")
        old = uow.sessions.add(UserSession(None, "amy", "a" * 64, T0 - DAY, T0 - DAY))
        live = uow.sessions.add(UserSession(None, "amy", "b" * 64, T0, T0))
        other = uow.sessions.add(UserSession(None, "bob", "c" * 64, T0, T0))
        assert live.id is not None and other.id is not None
        uow.sessions.touch(live.id, T0 + HOUR)
        uow.sessions.end(other.id, T0 + HOUR, "signed out")
        uow.sessions.end(other.id, T0 + DAY, "again")
        assert uow.sessions.end_all("amy", T0 + 2 * HOUR, "password changed") == 2
        uow.sessions.prune(T0)
        uow.commit()
    with storage() as uow:
        assert uow.sessions.by_hash(old.key_hash) is None
        assert uow.sessions.list("amy") == [replace(live, last_seen_at=T0 + HOUR,
                                                    ended_at=T0 + 2 * HOUR,
                                                    ended_reason="password changed")]
        ended = uow.sessions.by_hash("c" * 64)
        assert ended is not None and ended.ended_reason == "signed out"
        assert len(uow.sessions.list()) == 2


# -- casework ------------------------------------------------------------------------------


def test_case_notes_round_trip_per_client_in_the_order_recorded(
        storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        case = _case(uow)
        other = _client(uow, "Bo")
        assert case.id is not None
        first = uow.notes.add(CaseNote(None, case.client_id, case.id, date(2025, 2, 28),
                                       "phone_call", 15, "Rang him", "amy", "st_giles", T0))
        second = uow.notes.add(CaseNote(None, case.client_id, None, date(2025, 3, 1),
                                        "other", None, "Letter\nsent", "bob", "council",
                                        T0 + HOUR))
        uow.notes.add(CaseNote(None, other, None, date(2025, 3, 1), "visit", 0, "Elsewhere",
                               "amy", "st_giles", T0))
        uow.commit()
    assert first.id is not None and second.id is not None and first.id != second.id
    with storage() as uow:
        assert uow.notes.for_client(case.client_id) == [first, second]
        assert [n.text for n in uow.notes.for_client(other)] == ["Elsewhere"]


def test_consents_access_log_and_drafts_round_trip(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        case = _case(uow)
        assert case.id is not None
        given = uow.consents.add(Consent(None, case.client_id, True, "all", "support", "amy",
                                         T0, date(2025, 3, 1)))
        seen = uow.access_log.add(AccessEntry(None, T0, "amy", "st_giles", case.client_id,
                                              "view"))
        glass = uow.access_log.add(AccessEntry(None, T0 + HOUR, "bob", "council", None,
                                               "view", reason="urgent", detail={"n": 1}))
        uow.drafts.save(Draft("b", case.id, "amy", {"x": 1}, T0 + HOUR))
        uow.drafts.save(Draft("a", case.id, "amy", {"x": 1}, T0))
        uow.drafts.save(Draft("a", case.id, "amy", {"x": 2}, T0 + 2 * HOUR))
        uow.commit()
    with storage() as uow:
        assert uow.consents.for_client(case.client_id) == [given]
        assert uow.access_log.list() == [seen, glass]
        assert uow.access_log.list(break_glass=True) == [glass]
        assert uow.access_log.list(client_id=case.client_id, username="amy") == [seen]
        assert uow.access_log.list(since=T0 + HOUR) == [glass]
        assert [(d.task_id, d.data) for d in uow.drafts.for_case(case.id)] == [
            ("b", {"x": 1}), ("a", {"x": 2})]
        uow.drafts.delete("a")
        assert uow.drafts.get("a", "amy") is None
        assert uow.drafts.get("b", "amy") == Draft("b", case.id, "amy", {"x": 1}, T0 + HOUR)


# -- outcomes ------------------------------------------------------------------------------


def test_outcome_imports_and_events_are_kept_once(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        assert uow.outcomes.kinds() == set()
        ada = _client(uow)
        record = uow.outcomes.add_import(OutcomeImport(None, "s" * 64, "a.csv", "housed", 2, 0,
                                                       T0))
        assert record is not None and record.id is not None
        assert uow.outcomes.add_import(replace(record, id=None, filename="b.csv")) is None
        event = OutcomeEvent(None, ada, "housed", date(2025, 1, 2), date(2025, 1, 3), "file",
                             import_id=record.id, created_at=T0)
        stored = uow.outcomes.add_event(event)
        assert uow.outcomes.add_event(replace(event, source="again")) is None
        earlier = uow.outcomes.add_event(replace(event, occurred_on=date(2024, 1, 1)))
        uow.outcomes.set_import_count(record.id, 2)
        uow.outcomes.set_import_extracted_on(record.id, date(2025, 2, 1))
        uow.commit()
    with storage() as uow:
        assert uow.outcomes.imports() == [replace(record, imported=2,
                                                  extracted_on=date(2025, 2, 1))]
        assert uow.outcomes.import_by_sha256("s" * 64) == uow.outcomes.imports()[0]
        assert uow.outcomes.events(client_id=ada) == [earlier, stored]
        assert uow.outcomes.events(kind="reconviction") == []
        assert sorted(uow.outcomes.occurrences("housed")) == [
            (ada, date(2024, 1, 1), date(2025, 1, 3)), (ada, date(2025, 1, 2), date(2025, 1, 3))]
        assert uow.outcomes.occurrences("reconviction") == []
        assert uow.outcomes.kinds() == {"housed"}
        uow.outcomes.add_event(replace(event, kind="employed", source="other"))
        assert uow.outcomes.kinds() == {"housed", "employed"}


def test_comparison_subjects_are_unique_in_their_group(storage: UnitOfWorkFactory) -> None:
    subject = ComparisonSubject(group="pnc", subject="s1", kind="reconviction",
                                release_date=date(2024, 1, 15), imported_at=T0)
    with storage() as uow:
        rate = uow.outcomes.set_rate(ComparisonRate(None, "c1", "reconviction", 100,
                                                    per_100=1.5, set_at=T0))
        uow.outcomes.add_subjects([replace(subject, subject="s2"), subject])
        with pytest.raises(ConflictError):
            uow.outcomes.add_subjects([subject])
        uow.outcomes.add_subjects([replace(subject, group="other")])  # still usable
        uow.outcomes.set_group_extracted_on("pnc", date(2025, 1, 1))
        uow.commit()
    with storage() as uow:
        assert uow.outcomes.rates(cohort="c1") == [rate]
        assert [(s.subject, s.extracted_on) for s in uow.outcomes.subjects("pnc")] == [
            ("s1", date(2025, 1, 1)), ("s2", date(2025, 1, 1))]
        assert uow.outcomes.groups() == ["other", "pnc"]


# -- transactions --------------------------------------------------------------------------


def test_nothing_is_kept_unless_committed_and_rollback_discards(
    storage: UnitOfWorkFactory,
) -> None:
    with storage() as uow:
        _client(uow, "Forgotten")
    with storage() as uow:
        _client(uow, "Rolled back")
        uow.rollback()
        _client(uow, "Kept")
        uow.commit()
    with storage() as uow:
        assert [c.name for c in uow.clients.list()] == ["Kept"]


def test_a_read_only_unit_of_work_reads_and_refuses_writes(storage: UnitOfWorkFactory) -> None:
    with storage() as uow:
        _client(uow, "Ada")
        uow.commit()
    with storage(read_only=True) as uow:
        assert [c.name for c in uow.clients.list()] == ["Ada"]
    # Each backend says it its own way; all say "read" (read-only / readonly).
    with pytest.raises(Exception) as refused, storage(read_only=True) as uow:
        _client(uow, "Sneaked in")
        uow.commit()
    assert "read" in str(refused.value).lower()
    with storage() as uow:
        assert [c.name for c in uow.clients.list()] == ["Ada"]


# -- the dashboard's summaries ---------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_dashboards_figures_from_summaries_equal_those_from_every_event(
        storage: UnitOfWorkFactory, seed: int) -> None:
    """The auditor: on randomised data (versions, a split, sensitive steps and names,
    missing and repeated outcomes, moved cases), every table the dashboard shows is the same
    row for row whether computed from the summaries or, as before, from every event."""
    dashboard_data.build(storage, seed)
    with storage() as uow:
        for outcome, hidden in itertools.product(
                (dashboard_data.GATE, "reconvictions", "housed", dashboard_data.HIDDEN_OUTCOME),
                # a version hidden (every event joined to its case), and steps only (only
                # the events at a hidden step joined)
                (dashboard_data.HIDDEN, dashboard_data.HIDDEN_STEPS_ONLY)):
            expected = dashboard_data.reference(uow, outcome, hidden)
            dashboard_data.assert_same(dashboard_data.summarised(uow, outcome, hidden),
                                       expected)
            dashboard_data.assert_same(dashboard_data.summarised_facts(uow, outcome, hidden),
                                       expected)
        # an outcome measured per client: the cases' groups kept apart by client where it
        # has events of the outcome (imported or recorded), else by its start date's text,
        # as the facts of each case give them (the few hidden by name by their client)
        reference = _Summaries(FakeData(
            cases={c.id or 0: c for c in uow.cases.list()},
            events=uow.events.list_all(), clients={c.id or 0: c for c in uow.clients.list()},
            outcome_events=uow.outcomes.events()))
        for answer, outcome in itertools.product((dashboard_data.ANSWER, None),
                                                 ("reconviction", "housed")):
            found, expected_groups = (_cases_per_row(
                summaries.client_groups(dashboard_data.PATHWAY, dashboard_data.HIDDEN,
                                        outcome=outcome, start_field="release.date",
                                        step=dashboard_data.GATE, answer=answer, days=30))
                for summaries in (uow.summaries, reference))
            assert found == expected_groups
            assert any(client for client, _, _ in found) and any(
                start for client, start, _ in found if not client)


def _cases_per_row(rows: list[tuple[int, str | None, CaseGroup]]
                   ) -> Counter[tuple[int, str | None, CaseGroup]]:
    """How many cases each (client, start, group's facts) has, however they are split into
    rows (the database adds up cases with the same start date; the fakes list each)."""
    counted: Counter[tuple[int, str | None, CaseGroup]] = Counter()
    for client, start, group in rows:
        counted[(client, start, replace(group, cases=0))] += group.cases
    return counted
