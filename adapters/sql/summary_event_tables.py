"""The dashboard's summarised events and the names in their data (kept beside tables.py,
which re-exports them, on the same metadata; written by adapters.sql.summaries)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

from adapters.sql.table_types import UtcDateTime, metadata

# revision 0011: the dashboard's summaries, written with the events they summarise
# (adapters.sql.summaries). One row per event the figures read (case started, version
# allocated, task ready and completed, outcome recorded), its figures worked out once.
summary_events = Table(
    "summary_events",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("pathway", String, nullable=False),
    Column("type", String, nullable=False),
    Column("step", String, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("task", String, nullable=True),  # task_ready and task_completed: the task's id
    Column("outcome", String, nullable=True),  # outcome_recorded: the outcome's name
    Column("value", Integer, nullable=True),  # outcome_recorded: a count, or 1/0 for yes/no
    Column("counted", Boolean, nullable=True),  # the value is a count, not a yes/no
    Column("truthy", Boolean, nullable=True),  # outcome_recorded: its value was true
    Column("arm", Integer, nullable=True),  # version_allocated by a split: its version
    Column("split", Boolean, nullable=True),  # version_allocated with policy "split"
    Column("hours", Float, nullable=True),  # task_completed: from its task_ready (or start)
    Column("hours_from_start", Float, nullable=True),  # task_completed: from the case's start
    PrimaryKeyConstraint("case_id", "seq"),
    Index(None, "pathway", "type", "step"),
    # a case's outcomes and the outcomes' names read from the index alone (revision 0013)
    Index("ix_summary_events_outcomes", "pathway", "type", "outcome", "case_id", "seq",
          "step", "value", "counted", "truthy"),
    # the recorded outcomes of one name, whatever the pathway (revision 0014)
    Index("ix_summary_events_outcome_name", "outcome", "case_id", "seq",
          postgresql_where=text("outcome IS NOT NULL"),
          sqlite_where=text("outcome IS NOT NULL")),
)

# every string in a summarised event's data (a prefix such as start: taken off), but its
# task id: what engine.access.privacy's rule reads to leave an event out
summary_event_names = Table(
    "summary_event_names",
    metadata,
    Column("case_id", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("name", String, nullable=False),
    # the event's, as in summary_events (revision 0033): the rule's read of one pathway's
    # events of a few types (step_figures.hidden_by_name) seeks its names in the index
    # below, not among every event of every pathway that names them
    Column("pathway", String, nullable=False),
    Column("type", String, nullable=False),
    PrimaryKeyConstraint("case_id", "seq", "name"),
    Index("ix_summary_event_names_pathway_type_name", "pathway", "type", "name", "case_id",
          "seq"),
)
