"""Notifiers: how a pathway's `notify` steps reach people, chosen by PATHWAYS_NOTIFIER.

Every notifier implements engine.ports.Notifier; the engine calls it once per
`notification_requested` event, after the case's transaction has committed, and logs (never
re-raises) a failure, recording it on the case as `notification_failed`, so a notifier may
block briefly or fail without harming a case. `smtp` sends e-mail (adapters.smtp). Another
delivery channel (SMS, a chat webhook) is one more class with a `notify` method and one more
entry in NOTIFIERS.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping

from adapters.smtp import SmtpNotifier, SmtpSettings
from engine.errors import InvalidArgumentError
from engine.ports import Notification, Notifier

LOGGER_NAME = "pathways.notifications"
log = logging.getLogger(LOGGER_NAME)


class NullNotifier:
    """Sends nothing: the request stays on the case's event log as notification_requested."""

    def notify(self, notification: Notification) -> None:
        return None


class LoggingNotifier:
    """Writes each notification to the log, e.g. for a pilot without a mail server.

    One line per notification on the `pathways.notifications` logger at INFO. Where nothing
    has configured logging (the CLI, a plain gunicorn) the line goes to stderr, so choosing
    this notifier is enough to see notifications."""

    def __init__(self) -> None:
        if not log.handlers and not logging.getLogger().handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
            log.addHandler(handler)
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)

    def notify(self, notification: Notification) -> None:
        log.info("notify %s about case %s (step %s): %s", notification.to_role,
                 notification.case_id, notification.step, notification.message)


# PATHWAYS_NOTIFIER value -> how to build that notifier from the environment's settings.
NOTIFIERS: dict[str, Callable[[Mapping[str, str]], Notifier]] = {
    "null": lambda environ: NullNotifier(),
    "log": lambda environ: LoggingNotifier(),
    "smtp": lambda environ: SmtpNotifier(SmtpSettings.from_env(environ)),
}
DEFAULT_NOTIFIER = "null"


def check_notifier_name(name: str) -> str:
    """The known notifier name `name` stands for; a clear error naming the choices if none."""
    chosen = name.strip().lower()
    if chosen not in NOTIFIERS:
        raise InvalidArgumentError(
            f"PATHWAYS_NOTIFIER={name!r}: unknown notifier (choose one of: "
            f"{', '.join(sorted(NOTIFIERS))})",
            details={"field": "PATHWAYS_NOTIFIER", "value": name,
                     "choices": sorted(NOTIFIERS)})
    return chosen


def make_notifier(name: str, environ: Mapping[str, str] | None = None) -> Notifier:
    """The notifier the settings name (`null` sends nothing, `log` writes to the log, `smtp`
    sends e-mail as PATHWAYS_SMTP_* in environ, default os.environ, say)."""
    return NOTIFIERS[check_notifier_name(name)](os.environ if environ is None else environ)
