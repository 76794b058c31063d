"""Notifiers: how a pathway's `notify` steps reach people. Null by default."""

from __future__ import annotations

import logging

from engine.ports import Notification

log = logging.getLogger("pathways.notifications")


class NullNotifier:
    """Sends nothing: the request stays on the case's event log as notification_requested."""

    def notify(self, notification: Notification) -> None:
        return None


class LoggingNotifier:
    """Writes each notification to the log, e.g. for a pilot without a mail server."""

    def notify(self, notification: Notification) -> None:
        log.info("notify %s about case %s (step %s): %s", notification.to_role,
                 notification.case_id, notification.step, notification.message)
