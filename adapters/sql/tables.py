"""The storage schema as SQLAlchemy Core tables, the same on SQLite and PostgreSQL.

The Alembic revisions in `migrations/` create exactly this; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from adapters.sql.answer_tables import summary_answers as summary_answers  # re-exported
from adapters.sql.attachment_tables import attachments as attachments  # re-exported
from adapters.sql.client_search import glass_entry
from adapters.sql.note_tables import case_notes as case_notes  # re-exported
from adapters.sql.notice_tables import open_tasks_by_creation
from adapters.sql.notice_tables import user_notices as user_notices  # re-exported
from adapters.sql.signal_tables import signal_deliveries as signal_deliveries  # re-exported
from adapters.sql.summary_event_tables import summary_event_names as summary_event_names
from adapters.sql.summary_event_tables import summary_events as summary_events
from adapters.sql.table_types import BigIntegerId, json_type
from adapters.sql.table_types import UtcDateTime as UtcDateTime  # re-exported
from adapters.sql.table_types import metadata as metadata  # re-exported

bundles = Table(
    "bundles",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("files", json_type(), nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pathway", String, nullable=False),
    Column("number", Integer, nullable=False),
    Column("bundle_hash", String(64), ForeignKey("bundles.hash"), nullable=False),
    Column("main_file", String, nullable=False),
    Column("note", Text, nullable=False),
    Column("author", String, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    Column("start_messages", json_type(), nullable=False),
    Column("processes", json_type(), nullable=False),
    UniqueConstraint("pathway", "number"),
)

clients = Table(
    "clients",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String, nullable=False),
    Column("fields", json_type(), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # the name lowered as Python lowers it (engine.model.name_key), what a search compares
    # and sorts by; code-point order on PostgreSQL too, as in SQLite and Python (0020)
    Column("search_name", String().with_variant(String(collation="C"), "postgresql"),
           nullable=False, server_default=""),
    Index(None, "search_name", "id"),
    # substrings of names found through trigrams (pg_trgm; PostgreSQL only)
    Index("ix_clients_search_name_trgm", "search_name", postgresql_using="gin",
          postgresql_ops={"search_name": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pathway", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id"), nullable=False),
    Column("status", String(20), nullable=False),
    # Plain JSON even on PostgreSQL: the state is only ever read whole, and JSON keeps the
    # text (and key order) as written where JSONB would re-encode it on every write.
    Column("state", JSON(), nullable=False),
    Column("data", json_type(), nullable=False),
    Column("error", json_type(none_as_null=True), nullable=True),
    Column("revision", Integer, nullable=False),
    Column("event_seq", Integer, nullable=False, server_default="0"),
    Column("waiting_for", JSON(), nullable=False, server_default="[]"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # the reason of the end event reached, apart from the form answers in `data` (0007)
    Column("exit_reason", String, nullable=True),
    # with what the dashboard counts a pathway's cases by, read from the index alone on
    # PostgreSQL (revision 0034)
    Index(None, "pathway", "status",
          postgresql_include=["id", "version", "created_at", "client_id"]),
    Index(None, "client_id"),
    # the inbox's join to active cases, read from the index alone (revision 0021)
    Index(None, "status", "id", "client_id"),
)

inbox_tasks = Table(
    "inbox_tasks",
    metadata,
    Column("id", String, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("pathway", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("step", String, nullable=False),
    Column("title", String, nullable=False),
    # compared in code point order on PostgreSQL as on SQLite (revision 0024: the inbox's
    # role rule, adapters.sql.repositories.inbox_queries._lanes_between)
    Column("role", String().with_variant(String(collation="C"), "postgresql"), nullable=True),
    Column("form", String, nullable=True),
    Column("due", UtcDateTime, nullable=True),
    Column("status", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("completed_by", String, nullable=True),
    Column("assignee", String, nullable=True),  # who claimed it (revision 0004)
    # the one organisation that may do it (revision 0017)
    Column("organisation", String, nullable=True),
    Index(None, "status", "role"),
    Index(None, "case_id"),
    # the inbox (revision 0021): its versions and step filters, and its commonest sort
    Index(None, "status", "pathway", "version", "step"),
    Index(None, "status", "due"),
    Index(None, "status", "assignee"),
    # the open tasks in the inbox's default order, alone, by assignee and by step (0023)
    *(Index(f"ix_inbox_tasks_open_{name}", *leading, "due", "created_at",
            postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'"))
      for name, leading in (("due", ()), ("assignee_due", ("assignee",)),
                            ("pathway_step_due", ("pathway", "step")))),
    # the open tasks of a step by lane and version: the inbox's role rule as ranges (0024)
    Index("ix_inbox_tasks_open_pathway_step_lane", "pathway", "step", "role", "version",
          postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
)

events = Table(
    "events",
    metadata,
    Column("id", BigIntegerId, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String, nullable=True),
    Column("step", String, nullable=True),
    Column("data", json_type(), nullable=False),
    # revision 0019: SHA-256 (hex) chaining the event to the one before it in its case
    # (engine.integrity); migration 0019 filled in the events stored before it
    Column("hash", String(64), nullable=True),
    UniqueConstraint("case_id", "seq"),
)

# revision 0019: the daily chain heads, each over every case's last event hash up to
# last_event_id and the head before it (engine.integrity.HeadHasher)
chain_heads = Table(
    "chain_heads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False, unique=True),
    Column("head", String(64), nullable=False),
    Column("previous", String(64), nullable=False),
    Column("last_event_id", BigInteger, nullable=False),
    Column("cases", Integer, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

timers = Table(
    "timers",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("task_id", String, nullable=False),
    Column("step", String, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("case_id", "task_id"),
    Index(None, "due_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String, nullable=False),
    # None: a programme-wide signal, for every client's cases
    Column("client_id", Integer, ForeignKey("clients.id"), nullable=True),
    Column("payload", json_type(), nullable=False),
    Column("sender_case_id", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_case_id", Integer, nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("kind", String(10), nullable=False, server_default="message"),  # or "signal"
    Index(None, "client_id", "delivered_at"),
)

allocation_policies = Table(
    "allocation_policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pathway", String, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("version", Integer, nullable=True),
    # {"<version>": weight}: JSON object keys are strings
    Column("weights", json_type(), nullable=False),
    Column("seed", String, nullable=True),
    Column("set_at", UtcDateTime, nullable=False),
    Column("set_by", String, nullable=True),
    Index(None, "pathway"),
)

migrations = Table(
    "migrations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pathway", String, nullable=False),
    Column("from_version", Integer, nullable=False),
    Column("to_version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("actor", String, nullable=True),
    Column("filter", json_type(), nullable=False),
    Column("reverts", Integer, ForeignKey("migrations.id"), nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("planned", Integer, nullable=True),
    Column("checked", Integer, nullable=False, server_default="0"),
    Column("progressed_at", UtcDateTime, nullable=True),
    Index(None, "pathway"),
)

migration_cases = Table(
    "migration_cases",
    metadata,
    Column("migration_id", Integer, ForeignKey("migrations.id"), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("position", Integer, nullable=False),  # the order results were recorded in
    Column("ok", Boolean, nullable=False),
    Column("reason", Text, nullable=True),
    Column("from_step", String, nullable=True),
    Column("to_step", String, nullable=True),
    # Plain JSON, like cases.state: a workflow state put back must keep its key order.
    Column("before_state", JSON(none_as_null=True), nullable=True),
    Column("before_revision", Integer, nullable=True),
    Column("after_revision", Integer, nullable=True),
    Column("reverted_by", Integer, ForeignKey("migrations.id"), nullable=True),
    Column("waits_for_round", String, nullable=True),
    Column("waiting", Boolean, nullable=False, server_default=false()),
    Column("moved_at", UtcDateTime, nullable=True),
    Column("moved_at_round", Integer, nullable=True),
    PrimaryKeyConstraint("migration_id", "case_id"),
    Index(None, "case_id"),
)

# -- accounts ------------------------------------------------------------------------------

organisations = Table(
    "organisations",
    metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("name", String, nullable=False),
    Column("organisation", String, ForeignKey("organisations.id"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String, nullable=False),
    Column("pathway_roles", json_type(), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "organisation"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("name", String, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index(None, "username"),
)

# Web sessions (revision 0006): the cookie holds a random key, stored here as its sha256 hex.
user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("ended_reason", String(40), nullable=True),
    Index(None, "username"),
    Index(None, "created_at"),
)

# -- casework (revision 0004) --------------------------------------------------------------

consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", Integer, ForeignKey("clients.id"), nullable=False),
    Column("given", Boolean, nullable=False),
    Column("scope", String(20), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("recorded_by", String, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("effective_on", Date, nullable=False),
    Index(None, "client_id"),
)

access_log = Table(
    "access_log",
    metadata,
    Column("id", BigIntegerId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("username", String, nullable=False),
    Column("organisation", String, nullable=False),
    Column("client_id", Integer, nullable=True),  # no foreign key: the log outlives records
    Column("action", String, nullable=False),
    Column("reason", Text, nullable=True),
    Column("detail", json_type(), nullable=False),
    Index(None, "client_id"),
    Index(None, "username"),
    # what the client list asks of every client: who created it, and the few entries
    # written under break-glass (adapters.sql.client_search; 0020)
    Index("ix_access_log_created_by", "client_id", "organisation",
          postgresql_where=text("action = 'create_client'"),
          sqlite_where=text("action = 'create_client'")),
    Index("ix_access_log_break_glass", "action", "client_id",
          postgresql_where=text(glass_entry("postgresql")),
          sqlite_where=text(glass_entry("sqlite"))),
)

drafts = Table(
    "drafts",
    metadata,
    Column("task_id", String, nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("username", String, nullable=False),
    Column("data", json_type(), nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("task_id", "username"),
    Index(None, "case_id"),
)

# -- definitions being written (revision 0015) ---------------------------------------------

definition_drafts = Table(
    "definition_drafts",
    metadata,
    Column("username", String, nullable=False),
    Column("pathway", String, nullable=False),  # "" for a new pathway
    Column("source", Text, nullable=False),
    Column("based_on", Integer, nullable=True),
    Column("saved_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("username", "pathway"),
)

# -- inbox filters people keep (revision 0028) ----------------------------------------------

saved_filters = Table(
    "saved_filters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String, nullable=False),
    Column("name", String, nullable=False),
    Column("query", Text, nullable=False),  # the inbox's query string
    Column("saved_at", UtcDateTime, nullable=False),
    UniqueConstraint("username", "name"),
)

# -- outcomes (revision 0005) --------------------------------------------------------------

outcome_imports = Table(
    "outcome_imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),  # of the file's bytes
    Column("filename", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("imported", Integer, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("actor", String, nullable=True),
    Column("extracted_on", Date, nullable=True),  # revision 0009: when the data was extracted
)

outcome_events = Table(
    "outcome_events",
    metadata,
    Column("id", BigIntegerId, primary_key=True, autoincrement=True),
    Column("client_id", Integer, ForeignKey("clients.id"), nullable=False),
    Column("kind", String, nullable=False),
    Column("occurred_on", Date, nullable=False),  # e.g. the offence date
    Column("recorded_on", Date, nullable=False),  # e.g. the conviction date
    Column("source", String, nullable=False),  # import:<sha256> or case:<id>
    Column("detail", json_type(), nullable=False),
    Column("import_id", Integer, ForeignKey("outcome_imports.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("client_id", "kind", "occurred_on", "recorded_on"),
    Index(None, "kind", "occurred_on"),
)

comparison_rates = Table(
    "comparison_rates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cohort", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("group_size", Integer, nullable=False),
    Column("per_100", Float, nullable=True),
    Column("binary_rate", Float, nullable=True),
    Column("source", Text, nullable=False),
    Column("set_at", UtcDateTime, nullable=False),
    Column("set_by", String, nullable=True),
    Index(None, "cohort", "kind"),
)

comparison_subjects = Table(
    "comparison_subjects",
    metadata,
    Column("group_name", String, nullable=False),
    Column("subject", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("release_date", Date, nullable=False),
    Column("events", json_type(), nullable=False),  # [{"occurred_on", "recorded_on"}]
    Column("imported_at", UtcDateTime, nullable=False),
    Column("actor", String, nullable=True),
    Column("extracted_on", Date, nullable=True),  # revision 0009: when the data was extracted
    PrimaryKeyConstraint("group_name", "subject"),
)

# revision 0010: one row; every commit that changes data the figures come from adds one
data_revision = Table(
    "data_revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", BigInteger, nullable=False),
)

# revision 0011: the dashboard's summaries, written with the events they summarise
# (adapters.sql.summaries); the events' rows and the names in them in summary_event_tables

# one row per case: its first start and its last task completed (engagement)
summary_cases = Table(
    "summary_cases",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True,
           autoincrement=False),
    Column("pathway", String, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("last_completed_at", UtcDateTime, nullable=True),
    # the version its steps are counted under, and the arm its first split allocation chose
    # (None: no split allocation; 0: the first named no version)
    Column("version", Integer, nullable=True),
    Column("arm", Integer, nullable=True),
    Index(None, "pathway"),
)

# one row per case and step it has a task event at (adapters.sql.step_summaries)
summary_case_steps = Table(
    "summary_case_steps",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("step", String, nullable=False),
    Column("pathway", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("arm", Integer, nullable=False),
    Column("first_at", UtcDateTime, nullable=False),  # its first task event
    Column("first_seq", Integer, nullable=False),
    Column("ready", Boolean, nullable=False),
    Column("done_seq", Integer, nullable=True),  # its first completion
    Column("from_start", Float, nullable=True),  # hours from the case's start to it
    Column("completions", Integer, nullable=False),  # completions with hours
    Column("hours_sum", Float, nullable=False),
    PrimaryKeyConstraint("case_id", "step"),
    Index("ix_summary_case_steps_group_first", "pathway", "version", "arm", "step",
          "first_at", "case_id", "first_seq"),
    # which cases completed a step (the gate), by step (revision 0013)
    Index("ix_summary_case_steps_step", "pathway", "step", "case_id", "done_seq"),
)

# per pathway, version, arm (0: none) and step: its cases' figures, kept as increments
summary_step_groups = Table(
    "summary_step_groups",
    metadata,
    Column("pathway", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("arm", Integer, nullable=False),
    Column("step", String, nullable=False),
    Column("reached", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    Column("completions", Integer, nullable=False),
    Column("hours_sum", Float, nullable=False),
    Column("first_at", UtcDateTime, nullable=True),  # the group's earliest task event
    Column("first_case", Integer, nullable=True),
    Column("first_seq", Integer, nullable=True),
    PrimaryKeyConstraint("pathway", "version", "arm", "step"),
)

# each value a step's medians are taken of: a completion's hours ("each"), a case's hours
# from its start to its first completion ("first"), with its bucket (a log scale)
summary_step_values = Table(
    "summary_step_values",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(5), nullable=False),
    Column("pathway", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("arm", Integer, nullable=False),
    Column("step", String, nullable=False),
    Column("bucket", Integer, nullable=False),
    Column("hours", Float, nullable=False),
    PrimaryKeyConstraint("case_id", "seq", "kind"),
    Index("ix_summary_step_values_group_bucket", "pathway", "version", "arm", "step", "kind",
          "bucket", "hours"),
)

# how many values each bucket holds
summary_step_buckets = Table(
    "summary_step_buckets",
    metadata,
    Column("pathway", String, nullable=False),
    Column("version", Integer, nullable=False),
    Column("arm", Integer, nullable=False),
    Column("step", String, nullable=False),
    Column("kind", String(5), nullable=False),
    Column("bucket", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("pathway", "version", "arm", "step", "kind", "bucket"),
)

# tasks completed per pathway, caseworker ("" for none) and month (activity)
summary_activity = Table(
    "summary_activity",
    metadata,
    Column("pathway", String, nullable=False),
    Column("actor", String, nullable=False),
    Column("month", String(7), nullable=False),
    Column("tasks", Integer, nullable=False),
    PrimaryKeyConstraint("pathway", "actor", "month"),
)

open_tasks_by_creation(inbox_tasks)  # the nav's "new since" counts (0032)
