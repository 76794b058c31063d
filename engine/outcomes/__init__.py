"""Outcomes: imported and recorded outcome events, measures and cohorts (the `Outcomes`
service in engine.outcomes.service), follow-up windows, the dashboard's statistics (analysis,
estimates, engagement, activity), disclosure control and payment by results. Imports only the
kernel: outcomes never reach into workflow or casework internals.
This __init__ is the package's public surface.

Its names load their modules on first use (a command that only reads the database loads
none of them).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

# Loaded now, not on first use: `payment_statement` also names a submodule, and importing
# that submodule later would bind the module here in the function's place.
from engine.outcomes.payments import payment_statement

if TYPE_CHECKING:
    from engine.outcomes import (
        activity,
        analysis,
        disclosure,
        engagement,
        estimates,
        followup,
        protected_tables,
        tally,
    )
    from engine.outcomes.analysis import SUMMARISED
    from engine.outcomes.disclosure import DEFAULT_THRESHOLD, SUPPRESSED
    from engine.outcomes.followup import FollowUp
    from engine.outcomes.outcome_csv import (
        IMPORT_KINDS,
        MATCHED_GROUP_COLUMNS,
        MAX_ENCODING_ERRORS,
        OTHER,
        OTHER_COLUMNS,
        RECONVICTION,
        RECONVICTION_COLUMNS,
        GroupParseResult,
        OutcomeRow,
        ParseResult,
        RowError,
        expected_columns,
        parse_matched_group_csv,
        parse_outcome_csv,
    )
    from engine.outcomes.outcome_measures import (
        DIRECTIONS,
        MEASURE_TYPES,
        OUTCOME_NAME,
        WINDOW_STARTS,
        Cohort,
        Direction,
        MeasureResult,
        MeasureType,
        OutcomeMeasure,
        add_months,
        counted_in,
        dates_in,
        measure,
        measure_group,
        measure_occurrences,
        outcome_directions,
        values_per_person,
    )
    from engine.outcomes.payments import (
        CohortInput,
        assumed_figures,
        matched_cohort_input,
        programme_from_config,
    )
    from engine.outcomes.service import (
        CohortMeasure,
        GroupReport,
        ImportReport,
        Outcomes,
        Progress,
        extraction_date,
    )

_ANALYSIS = frozenset({"SUMMARISED"})
_DISCLOSURE = frozenset({"DEFAULT_THRESHOLD", "SUPPRESSED"})
_FOLLOWUP = frozenset({"FollowUp"})
_OUTCOME_CSV = frozenset({"IMPORT_KINDS", "MATCHED_GROUP_COLUMNS", "MAX_ENCODING_ERRORS", "OTHER",
                          "OTHER_COLUMNS", "RECONVICTION", "RECONVICTION_COLUMNS",
                          "GroupParseResult", "OutcomeRow", "ParseResult", "RowError",
                          "expected_columns", "parse_matched_group_csv", "parse_outcome_csv"})
_OUTCOME_MEASURES = frozenset({"DIRECTIONS", "MEASURE_TYPES", "OUTCOME_NAME", "WINDOW_STARTS",
                               "Cohort", "Direction", "MeasureResult", "MeasureType",
                               "OutcomeMeasure", "add_months", "counted_in", "dates_in", "measure",
                               "measure_group", "measure_occurrences", "outcome_directions",
                               "values_per_person"})
_SERVICE = frozenset({"CohortMeasure", "GroupReport", "ImportReport", "Outcomes", "Progress",
                      "extraction_date"})
_PAYMENTS = frozenset({"CohortInput", "assumed_figures", "matched_cohort_input",
                       "programme_from_config"})


def __getattr__(name: str) -> Any:
    module: ModuleType
    if name in _ANALYSIS:
        from engine.outcomes import analysis as module
    elif name in _DISCLOSURE:
        from engine.outcomes import disclosure as module
    elif name in _FOLLOWUP:
        from engine.outcomes import followup as module
    elif name in _OUTCOME_CSV:
        from engine.outcomes import outcome_csv as module
    elif name in _OUTCOME_MEASURES:
        from engine.outcomes import outcome_measures as module
    elif name in _PAYMENTS:
        from engine.outcomes import payments as module
    elif name in _SERVICE:
        from engine.outcomes import service as module
    else:
        raise AttributeError(f"module 'engine.outcomes' has no attribute {name!r}")
    return getattr(module, name)


__all__ = [
    "DEFAULT_THRESHOLD",
    "DIRECTIONS",
    "IMPORT_KINDS",
    "MATCHED_GROUP_COLUMNS",
    "MAX_ENCODING_ERRORS",
    "MEASURE_TYPES",
    "OTHER",
    "OTHER_COLUMNS",
    "OUTCOME_NAME",
    "RECONVICTION",
    "RECONVICTION_COLUMNS",
    "SUMMARISED",
    "SUPPRESSED",
    "WINDOW_STARTS",
    "Cohort",
    "CohortInput",
    "CohortMeasure",
    "Direction",
    "FollowUp",
    "GroupParseResult",
    "GroupReport",
    "ImportReport",
    "MeasureResult",
    "MeasureType",
    "OutcomeMeasure",
    "OutcomeRow",
    "Outcomes",
    "ParseResult",
    "Progress",
    "RowError",
    "activity",
    "add_months",
    "analysis",
    "assumed_figures",
    "counted_in",
    "dates_in",
    "disclosure",
    "engagement",
    "estimates",
    "expected_columns",
    "extraction_date",
    "followup",
    "matched_cohort_input",
    "measure",
    "measure_group",
    "measure_occurrences",
    "outcome_directions",
    "parse_matched_group_csv",
    "parse_outcome_csv",
    "payment_statement",
    "programme_from_config",
    "protected_tables",
    "tally",
    "values_per_person",
]
