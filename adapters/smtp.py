"""E-mail delivery of notifications over SMTP (PATHWAYS_NOTIFIER=smtp), with smtplib.

Settings come from the environment (SmtpSettings.from_env; the README lists them). Users have
no e-mail address in Pathways, so an address book says where each recipient's mail goes: a
JSON file (PATHWAYS_SMTP_ADDRESSES) mapping usernames, and role ids, to addresses. A role
with an address there (a team's shared mailbox) gets one e-mail there instead of one per
person; a username that is an address itself needs no entry.

A notification that cannot be delivered is never dropped silently: each send is tried
PATHWAYS_SMTP_ATTEMPTS times (the server busy, the connection refused), then the error is
raised, and the engine records `notification_failed` on the case with the reason and logs
it (engine.workflow.case_runtime). One with no address to go to fails the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import InvalidArgumentError
from engine.numbers import parse_int
from engine.ports import Notification

if TYPE_CHECKING:  # smtplib, ssl and email load when a message is first sent
    import smtplib
    from email.message import EmailMessage

DEFAULT_ATTEMPTS = 3
DEFAULT_TIMEOUT_SECONDS = 10.0
RETRY_PAUSE_SECONDS = 1.0
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class DeliveryError(RuntimeError):
    """A notification the SMTP server did not take (after every attempt), or one with no
    address to go to."""


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str  # the From address
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    attempts: int = DEFAULT_ATTEMPTS
    # username or role id -> address (from PATHWAYS_SMTP_ADDRESSES)
    addresses: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmtpSettings:
        """The settings PATHWAYS_SMTP_* give; InvalidArgumentError naming the variable for
        one missing or wrong, at start (not at the first notification)."""
        host = _required(environ, "PATHWAYS_SMTP_HOST")
        sender = _required(environ, "PATHWAYS_SMTP_FROM")
        if "@" not in sender:
            raise _bad("PATHWAYS_SMTP_FROM", sender, "is not an e-mail address")
        starttls = _flag(environ, "PATHWAYS_SMTP_STARTTLS", default=True)
        port_text = environ.get("PATHWAYS_SMTP_PORT", "").strip()
        port = parse_int(port_text, field="PATHWAYS_SMTP_PORT", minimum=1, maximum=65535) \
            if port_text else (587 if starttls else 25)
        attempts_text = environ.get("PATHWAYS_SMTP_ATTEMPTS", "").strip()
        attempts = parse_int(attempts_text, field="PATHWAYS_SMTP_ATTEMPTS", minimum=1,
                             maximum=10) if attempts_text else DEFAULT_ATTEMPTS
        timeout_text = environ.get("PATHWAYS_SMTP_TIMEOUT", "").strip()
        timeout = float(parse_int(timeout_text, field="PATHWAYS_SMTP_TIMEOUT", minimum=1,
                                  maximum=120)) if timeout_text else DEFAULT_TIMEOUT_SECONDS
        user = environ.get("PATHWAYS_SMTP_USER", "").strip() or None
        password = environ.get("PATHWAYS_SMTP_PASSWORD") or None
        if (user is None) != (password is None):
            raise _bad("PATHWAYS_SMTP_USER", user or "", "and PATHWAYS_SMTP_PASSWORD go "
                       "together: set both (to sign in) or neither")
        book = environ.get("PATHWAYS_SMTP_ADDRESSES", "").strip()
        return cls(host=host, port=port, sender=sender, user=user, password=password,
                   starttls=starttls, attempts=attempts, timeout=timeout,
                   addresses=load_addresses(Path(book)) if book else {})


def load_addresses(path: Path) -> dict[str, str]:
    """The address book: a JSON object of username or role id -> e-mail address."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise _bad("PATHWAYS_SMTP_ADDRESSES", str(path),
                   f"cannot be read as JSON: {err}") from err
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and "@" in v for k, v in data.items()):
        raise _bad("PATHWAYS_SMTP_ADDRESSES", str(path), 'must be a JSON object of username '
                   'or role id -> e-mail address, e.g. {"amy": "amy@example.org"}')
    return dict(data)


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise _bad(name, "", "is required when PATHWAYS_NOTIFIER=smtp")
    return value


def _flag(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in _TRUE + _FALSE:
        raise _bad(name, value, "must be true or false")
    return value in _TRUE


def _bad(name: str, value: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{name}={value!r} {problem}",
                                details={"field": name, "value": value})


Connect = Callable[[SmtpSettings], "smtplib.SMTP"]


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An SMTP connection, upgraded with STARTTLS and signed in as the settings say."""
    import smtplib
    import ssl

    server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if settings.starttls:
            server.starttls(context=ssl.create_default_context())
        if settings.user is not None and settings.password is not None:
            server.login(settings.user, settings.password)
    except BaseException:
        server.close()
        raise
    return server


class SmtpNotifier:
    """Sends each notification as one plain-text e-mail to its recipients' addresses."""

    def __init__(self, settings: SmtpSettings, *, connect: Connect = connect,
                 pause: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._connect = connect
        self._pause = pause

    def recipients(self, notification: Notification) -> list[str]:
        """The addresses it goes to: a role's mailbox if the book has one, else each
        recipient's address (a username that is an address is its own)."""
        book = self.settings.addresses
        if notification.to_role not in ("assignee", "team_lead") \
                and notification.to_role in book:
            return [book[notification.to_role]]
        found = [book.get(name) or (name if "@" in name else None)
                 for name in notification.recipients]
        return list(dict.fromkeys(address for address in found if address))

    def message(self, notification: Notification, to: list[str]) -> EmailMessage:
        from email.message import EmailMessage
        from email.utils import make_msgid

        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(to)
        mail["Subject"] = notification.subject or f"Case {notification.case_id}"
        mail["Message-ID"] = make_msgid(domain=self.settings.sender.rpartition("@")[2])
        about = "" if notification.kind == "digest" else (  # a digest is of no one case
            f", case {notification.case_id}"
            + (f", step {notification.step}" if notification.step else ""))
        mail.set_content(f"{notification.message}\n\n-- \nPathways{about}\n")
        return mail

    def notify(self, notification: Notification) -> None:
        import smtplib

        to = self.recipients(notification)
        if not to:
            who = ", ".join(notification.recipients) or "nobody"
            raise DeliveryError(f"no e-mail address for {notification.to_role} ({who}): add "
                                "them to the PATHWAYS_SMTP_ADDRESSES file")
        mail = self.message(notification, to)
        last: Exception | None = None
        for attempt in range(self.settings.attempts):
            if attempt:
                self._pause(RETRY_PAUSE_SECONDS * attempt)
            try:
                server = self._connect(self.settings)
                try:
                    server.send_message(mail)
                finally:
                    server.quit()
                return
            except smtplib.SMTPRecipientsRefused as err:  # retrying will not change that
                raise DeliveryError(f"the server refused every recipient: {err}") from err
            except smtplib.SMTPAuthenticationError as err:  # nor that
                raise DeliveryError(f"the server refused PATHWAYS_SMTP_USER's sign-in: "
                                    f"{err}") from err
            except (OSError, smtplib.SMTPException) as err:
                last = err
        raise DeliveryError(f"SMTP {self.settings.host}:{self.settings.port} failed "
                            f"{self.settings.attempts} time(s): {last}") from last
