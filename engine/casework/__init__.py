"""Casework: what caseworkers, team leads and admins do through the web, with access
enforced on the server: `Casework` (engine.casework.facade) hands each use case to a handler
(inbox, tasks, clients, a case's page, incidents, records) running on `CaseworkContext`.
Builds on cases, workflow and access. This __init__ is the package's public surface.
"""

from engine.casework.attachment_checks import ALLOWED_TYPES, ALLOWED_WORDS
from engine.casework.attachments import AttachmentList, Attachments, megabytes
from engine.casework.case_answers import Answer, day, moment
from engine.casework.case_closing import CLOSE_REASON_MAX
from engine.casework.case_notes import NOTE_KINDS, NOTE_MINUTES_MAX, NOTE_TEXT_MAX, note_problems
from engine.casework.casework_access import CaseworkContext
from engine.casework.casework_clients import CLIENT_PAGE_LIMIT, CLIENT_PAGE_OFFSET, ClientPage
from engine.casework.casework_inbox import (
    COUNT_CAP,
    INBOX_SCOPES,
    INBOX_SORTS,
    PER_PAGE_MAX,
    InboxScope,
    InboxSort,
)
from engine.casework.casework_tasks import PREFILL
from engine.casework.casework_views import (
    AccessReportRow,
    CaseLink,
    CaseOutcome,
    CasePage,
    CaseSummary,
    ClientRecord,
    Completion,
    Inbox,
    InboxChoices,
    InboxProblem,
    InboxRow,
    Incident,
    NoteView,
    RetryResult,
    StartResult,
    StepRetry,
    TaskPage,
    TimelineEntry,
    Waiting,
)
from engine.casework.facade import Casework
from engine.casework.notices import NEWS_CAP, DigestResult
from engine.casework.task_fate import TaskFate

__all__ = [
    "ALLOWED_TYPES",
    "ALLOWED_WORDS",
    "CLIENT_PAGE_LIMIT",
    "CLIENT_PAGE_OFFSET",
    "CLOSE_REASON_MAX",
    "COUNT_CAP",
    "INBOX_SCOPES",
    "INBOX_SORTS",
    "NEWS_CAP",
    "NOTE_KINDS",
    "NOTE_MINUTES_MAX",
    "NOTE_TEXT_MAX",
    "PER_PAGE_MAX",
    "PREFILL",
    "AccessReportRow",
    "Answer",
    "AttachmentList",
    "Attachments",
    "CaseLink",
    "CaseOutcome",
    "CasePage",
    "CaseSummary",
    "Casework",
    "CaseworkContext",
    "ClientPage",
    "ClientRecord",
    "Completion",
    "DigestResult",
    "Inbox",
    "InboxChoices",
    "InboxProblem",
    "InboxRow",
    "InboxScope",
    "InboxSort",
    "Incident",
    "NoteView",
    "RetryResult",
    "StartResult",
    "StepRetry",
    "TaskFate",
    "TaskPage",
    "TimelineEntry",
    "Waiting",
    "day",
    "megabytes",
    "moment",
    "note_problems",
]
