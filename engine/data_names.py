"""The names the engine itself writes into case data, which no form field may take.

Kept apart from engine.workflow.definitions (which loads SpiffWorkflow) so the DSL validator can
refuse such a field without loading the workflow library.
"""

from __future__ import annotations

# Names the engine writes into case data itself (engine.cases.case_commands `start`): a form field
# of that name would overwrite them, or they it, so publish refuses such a field. What the
# engine records about a case rather than in its data (the exit reason of the end it
# reached) is kept on the case record, not in the data, so it needs no name here.
ENGINE_DATA_NAMES: dict[str, str] = {
    "client": "the engine puts the client's profile there when a case starts",
    "referral": "the engine puts the referral there when another case's referral starts it",
}
# Names Pathways generates for its own bookkeeping in case data (the DSL's `pathways_exit`).
ENGINE_DATA_PREFIX = "pathways_"


def reserved_data_name(name: str) -> str | None:
    """Why a form field may not be called `name` (the engine writes that case data), or None."""
    if name in ENGINE_DATA_NAMES:
        return f"{name!r} is reserved: {ENGINE_DATA_NAMES[name]}"
    if name.startswith(ENGINE_DATA_PREFIX):
        return (f"{name!r} is reserved: names starting {ENGINE_DATA_PREFIX!r} are kept for "
                "what Pathways writes into case data")
    return None
