"""The caseworker finishes an ad-hoc subprocess (BPMN 2.0.2 §10.3.5).

An ad-hoc subprocess without a completionCondition ends when all its activities are done,
or when the caseworker says the work is enough: this command. Its offered activities are
withdrawn and the case goes on after the subprocess, with what the activities done so far
changed (engine.workflow.adhoc). Refused while an inner activity is running (a started
subprocess or call activity inside it): finish that first.
"""

from __future__ import annotations

from typing import Any

from engine.cases.case_queries import get_case
from engine.errors import CaseStateError, NotFoundError
from engine.model import CaseRecord, NewEvent
from engine.ports import UnitOfWork
from engine.workflow import adhoc, runner
from engine.workflow.case_runtime import CaseRuntime, CaseView, case_id_of
from engine.workflow.definitions import ParsedDefinition

ADHOC_FINISHED = "adhoc_finished"


def finish_adhoc(rt: CaseRuntime, case_id: int, step: str, *, actor: str | None) -> CaseView:
    now = rt.clock.now()

    def finish(uow: UnitOfWork, record: CaseRecord, workflow: Any,
               parsed: ParsedDefinition) -> tuple[list[NewEvent], Any]:
        try:
            adhoc.finish(workflow, step)
        except LookupError as err:
            raise NotFoundError(f"case {case_id} has no open ad-hoc subprocess {step!r}",
                                details={"case": case_id, "step": step}) from err
        except RuntimeError as err:
            raise CaseStateError(
                f"ad-hoc subprocess {step!r} of case {case_id} cannot be finished while "
                f"inner activities run: {err}",
                details={"case": case_id, "step": step, "running": str(err)}) from err
        return ([NewEvent(type=ADHOC_FINISHED, at=now, actor=actor, step=step,
                          data={"step": step})], runner.run_engine(workflow))

    rt.command(case_id_of(case_id), now, finish)
    return get_case(rt, case_id)
