"""Messages and signals between cases: route each pending one to the cases waiting for it,
or start the case a start event catches it with.

Handlers of the Engine facade: each case receives in a transaction of its own, through the
runtime's template (`CaseRuntime.command`). A case that cannot take what it was sent is put
in error (`CaseRuntime.record_failure`); the message stays pending, never lost.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from engine.cases.case_commands import catch, refresh_timers, start
from engine.errors import CaseStateError, ConflictError
from engine.model import CaseRecord, Message, NewEvent, SignalDelivery
from engine.ports import UnitOfWork
from engine.workflow import runner
from engine.workflow.case_runtime import Action, CaseRuntime, case_id_of
from engine.workflow.definitions import ParsedDefinition
from engine.workflow.failures import failure_reason

log = logging.getLogger("engine.services")  # the worker's log lines keep their logger's name
# A case busy with another command when a signal reaches it is tried this many times.
_SIGNAL_ATTEMPTS = 3


def route_messages(rt: CaseRuntime, client_id: int | None) -> int:
    """Offer each pending message to the cases waiting for it, once per call.

    A message whose delivery fails is not retried in a loop: the case it failed on is
    put in error (_deliver), so it is not offered to that case again until someone
    retries the case, and the message stays pending, never lost, for whichever case can
    take it. A message that fails without a case to blame (starting a case from it
    failed) also stays pending and is offered again on the next round only.

    The worker's round (no client) first makes the deliveries of signals routed earlier
    that are still owed: left by a router that stopped, or to a case that stayed busy.
    """
    delivered = _finish_deliveries(rt) if client_id is None else 0
    with rt.uow() as uow:
        pending = uow.messages.pending(client_id)
    for message in pending:
        try:
            if message.kind == "signal":
                delivered += _broadcast(rt, message)
            elif _deliver(rt, message):
                delivered += 1
        except ConflictError:
            log.info("message %s stays pending: its case is busy", message.id)
        except Exception as err:  # one bad message must not stop the others
            log.warning("message %s (%s) stays pending: %s", message.id, message.name,
                        failure_reason(err))
    return delivered


def _waiting(uow: UnitOfWork, message: Message, now: datetime) -> tuple[list[int], set[int]]:
    """The active cases in the message's reach that wait for it (not its sender), and
    those of them with a timer already due."""
    candidates = [c.id for c in uow.cases.list(client_id=message.client_id, status="active")
                  if c.id is not None and c.id != message.sender_case_id
                  and message.name in c.waiting_for]
    overdue = {case_id for case_id in candidates
               if any(t.due_at <= now for t in uow.timers.for_case(case_id))}
    return candidates, overdue


def _hand(rt: CaseRuntime, case_id: int, overdue: bool, now: datetime, action: Action,
          message: Message, delivery_id: int | None = None) -> None:
    """Run the receiving action on the case; when the worker lags, a timer due before the
    message came goes off first (behind an event-based gateway it wins). A message, or a
    signal's delivery to the case, is claimed first in the receiving transaction: one
    another router is delivering is passed over (_Taken, or ConflictError for a message),
    never waited for."""
    def locate(uow: UnitOfWork) -> int:
        if message.kind != "signal" and not uow.messages.claim(message.id or 0):
            raise ConflictError(f"message {message.id} is delivered by another worker",
                                details={"message": message.id})
        if delivery_id is not None and not uow.messages.claim_delivery(delivery_id):
            raise _Taken(f"signal {message.id} is handed to case {case_id} by another "
                         "router", details={"message": message.id, "case": case_id})
        return case_id

    if overdue:
        rt.command(case_id_of(case_id), now, refresh_timers)
    rt.command(locate, now, action)


class _Taken(ConflictError):
    """Another router made (or is making) this delivery: nothing left to do here."""


# -- messages ----------------------------------------------------------------------------


def _deliver(rt: CaseRuntime, message: Message) -> bool:
    """Deliver the message to the first waiting case that takes it, or start a case with
    it; False keeps it pending."""
    now = rt.clock.now()
    with rt.uow() as uow:
        candidates, overdue = _waiting(uow, message, now)
    handed = _offer(rt, message, candidates, overdue, now)
    if handed is not None:
        return handed
    return _start_from(rt, message, now)


def _offer(rt: CaseRuntime, message: Message, candidates: list[int], overdue: set[int],
           now: datetime) -> bool | None:
    """True: a waiting case took it; False: those meant to take it failed (it is kept,
    never starts a new case); None: no case waits for it any longer."""
    failed = False
    for case_id in candidates:
        try:
            _hand(rt, case_id, case_id in overdue, now, receive(message, now), message)
        except CaseStateError:
            continue  # it stopped waiting since the list was read
        except ConflictError:
            raise
        except Exception as err:  # that case cannot take it: in error, try the next one
            rt.record_failure(case_id, err, now, during=f"delivering message {message.name!r}",
                              details={"delivering": {"message": message.id,
                                                      "name": message.name}})
            failed = True
            continue
        return True
    return False if failed else None


def _start_from(rt: CaseRuntime, message: Message, now: datetime) -> bool:
    """Start a case of the pathway whose start event catches the message (or that a
    referral names); False when there is none."""
    assert message.client_id is not None  # only a programme-wide signal has no client
    with rt.uow() as uow:
        if message.name.startswith(runner.START_PREFIX):
            wanted = message.name.removeprefix(runner.START_PREFIX)
            starters = [v for v in uow.versions.latest_all() if v.pathway == wanted]
        else:
            starters = [v for v in uow.versions.latest_all()
                        if message.name in v.start_messages]
        if not starters or not uow.messages.claim(message.id or 0):
            return False  # none to start, or another worker is delivering it
        outcome = start(rt, uow, starters[0].pathway, message.client_id, None, None, now,
                        message=message)
    rt.after_commit(outcome)
    return True


# -- signals -----------------------------------------------------------------------------


def _broadcast(rt: CaseRuntime, signal: Message) -> int:
    """Route a signal once: to every active case in its scope that waits for it now, and
    as a new case of each pathway whose start event catches it. Returns how many cases
    it reached. A signal nothing waits for is dropped, as BPMN says: it stays recorded
    (with its signal_sent event) but is never kept for cases that wait later.

    The transaction that marks the signal routed (so two routers never broadcast it
    twice) also records each delivery it owes; each is then made in its own transaction,
    which clears it. One not made (the router stopped, the case stayed busy) is made by
    a later worker round (_finish_deliveries): never lost, never made twice.
    """
    assert signal.id is not None
    now = rt.clock.now()
    with rt.uow() as uow:
        try:
            uow.messages.mark_delivered(signal.id, None, now)
        except ConflictError:
            return 0  # another router took it
        candidates, overdue = _waiting(uow, signal, now)
        owed = uow.messages.add_deliveries(
            [SignalDelivery(None, signal.id, case_id, None, None, now)
             for case_id in candidates] + _starts(rt, uow, signal, now))
        uow.commit()
    return sum(_make(rt, delivery, signal, delivery.case_id in overdue, now)
               for delivery in owed)


def _starts(rt: CaseRuntime, uow: UnitOfWork, signal: Message,
            now: datetime) -> list[SignalDelivery]:
    """The new cases the signal starts: one of each pathway (not the thrower's) whose
    start event catches it, for its client (a programme-wide signal: the thrower's)."""
    assert signal.id is not None
    sender = uow.cases.get(signal.sender_case_id, with_state=False) \
        if signal.sender_case_id is not None else None
    client_id = signal.client_id if signal.client_id is not None else (
        sender.client_id if sender is not None else None)
    if client_id is None:
        return []
    return [SignalDelivery(None, signal.id, None, v.pathway, client_id, now)
            for v in uow.versions.latest_all()
            if (sender is None or v.pathway != sender.pathway)
            and signal.name in rt.parsed(uow, v.pathway, v.number).start_signals]


def _finish_deliveries(rt: CaseRuntime) -> int:
    """Make the deliveries of signals routed earlier that are still owed, oldest first;
    how many cases they reached."""
    now = rt.clock.now()
    with rt.uow(read_only=True) as uow:
        owed = uow.messages.deliveries()
        overdue = {delivery.id for delivery, _signal in owed if delivery.case_id is not None
                   and any(t.due_at <= delivery.routed_at
                           for t in uow.timers.for_case(delivery.case_id))}
    return sum(_make(rt, delivery, signal, delivery.id in overdue, now)
               for delivery, signal in owed)


def _make(rt: CaseRuntime, delivery: SignalDelivery, signal: Message, overdue: bool,
          now: datetime) -> int:
    """Make one delivery; 1 if it reached its case. One that fails stays owed."""
    try:
        if delivery.case_id is None:
            return _start_case(rt, delivery, signal, now)
        return _signal_case(rt, signal, delivery, overdue, now)
    except Exception as err:  # one delivery must not stop the others
        log.warning("signal %s (%s) stays owed to %s: %s", signal.id, signal.name,
                    f"case {delivery.case_id}" if delivery.case_id is not None
                    else f"a new {delivery.pathway} case", failure_reason(err))
        return 0


def _start_case(rt: CaseRuntime, delivery: SignalDelivery, signal: Message,
                now: datetime) -> int:
    """Start the case the signal's start event begins, clearing its delivery with it."""
    assert delivery.id is not None and delivery.pathway is not None
    assert delivery.client_id is not None
    with rt.uow() as uow:
        if not uow.messages.claim_delivery(delivery.id):
            return 0  # another router started it, or is starting it
        uow.messages.clear_delivery(delivery.id)
        outcome = start(rt, uow, delivery.pathway, delivery.client_id, None, None, now,
                        message=signal)
    rt.after_commit(outcome)
    return 1


def _signal_case(rt: CaseRuntime, signal: Message, delivery: SignalDelivery, overdue: bool,
                 now: datetime) -> int:
    """Hand the signal to one case that waited for it, trying again while it is busy; 1 if
    it got it. A case still busy after that keeps its delivery for a later round."""
    case_id, delivery_id = delivery.case_id, delivery.id
    assert case_id is not None and delivery_id is not None
    for _attempt in range(_SIGNAL_ATTEMPTS):
        try:
            _hand(rt, case_id, overdue, now, receive(signal, now, delivery_id), signal,
                  delivery_id)
        except _Taken:
            return 0
        except CaseStateError:
            _clear(rt, delivery_id)  # it stopped waiting (or ended) since it was routed
            return 0
        except ConflictError:
            log.info("signal %s: case %s is busy, trying again", signal.id, case_id)
            continue
        except Exception as err:  # that case cannot take it: in error, on to the next
            rt.record_failure(case_id, err, now, during=f"receiving signal {signal.name!r}",
                              details={"delivering": {"signal": signal.id,
                                                      "name": signal.name}})
            _clear(rt, delivery_id)
            return 0
        return 1
    log.info("signal %s stays owed to case %s: it stayed busy", signal.id, case_id)
    return 0


def _clear(rt: CaseRuntime, delivery_id: int) -> None:
    with rt.uow() as uow:
        uow.messages.clear_delivery(delivery_id)
        uow.commit()


def receive(message: Message, now: datetime, delivery_id: int | None = None) -> Action:
    """The action that hands a message or signal to a case waiting for it (a message is
    marked delivered in the same transaction; a signal was marked routed before, and its
    delivery to the case, delivery_id, is cleared in the same transaction)."""
    def receive(uow: UnitOfWork, record: CaseRecord, workflow: Any,
                parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
        if message.kind == "signal":
            if message.name not in runner.waiting_signal_names(workflow):
                raise CaseStateError(f"case {record.id} no longer waits for signal "
                                     f"{message.name!r}")
            if delivery_id is not None:
                uow.messages.clear_delivery(delivery_id)  # same transaction
        else:
            assert message.id is not None and record.id is not None
            if message.name not in runner.waiting_message_names(workflow):
                raise CaseStateError(f"case {record.id} no longer waits for {message.name!r}")
            uow.messages.mark_delivered(message.id, record.id, now)  # same transaction
        return [catch(workflow, message, now)], runner.run_engine(workflow)
    return receive
