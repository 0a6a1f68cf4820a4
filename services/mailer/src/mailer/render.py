"""Turning an auth event into a mail: validated data, Jinja2 templates, a safe `EmailMessage`.

Every value that ends up in a header is checked or cleaned first (no CR/LF or other control
characters, the address parsed strictly), and headers are only ever set through
`email.message.EmailMessage`, which refuses line breaks in header values as a second line of
defence. HTML templates are autoescaped; links must be absolute http(s) URLs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ValidationError

from kit import event_types
from kit.events import Event
from mailer.config import MailerSettings

PRODUCT = "Parley"
USERNAME_MAX = 64

# event type -> template name (also the `template` metric label)
TEMPLATES: dict[str, str] = {
    event_types.EMAIL_CONFIRMATION_REQUESTED: "email_confirmation",
    event_types.PASSWORD_RESET_REQUESTED: "password_reset",
    event_types.PASSWORD_CHANGED: "password_changed",
    event_types.EMAIL_CONFIRMED: "welcome",
    event_types.WEBHOOK_FAILING: "webhook_failing",
    event_types.WEBHOOK_DISABLED: "webhook_disabled",
    event_types.WORKSPACE_INVITATION: "invitation",
}
SUBJECTS: dict[str, str] = {
    "email_confirmation": f"Confirm your email address for {PRODUCT}",
    "password_reset": f"Reset your {PRODUCT} password",
    "password_changed": f"Your {PRODUCT} password was changed",
    "welcome": f"Welcome to {PRODUCT}",
    "webhook_failing": f"Your {PRODUCT} webhook is failing",
    "webhook_disabled": f"Your {PRODUCT} webhook was disabled",
    "invitation": f"You are invited to a workspace on {PRODUCT}",
}
LINK_TEMPLATES = {"email_confirmation", "password_reset"}
WEBHOOK_TEMPLATES = {"webhook_failing", "webhook_disabled"}
# events that name the user without an address: the mailer asks auth for it (directory.py)
CONTACT_EVENTS = frozenset({event_types.WEBHOOK_FAILING, event_types.WEBHOOK_DISABLED})

_CONTROL_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
_SPACES = re.compile(r"\s+")


class InvalidMailEvent(ValueError):
    """The event cannot become a mail (missing field, bad address or link); never retried."""


class _AccountData(BaseModel):
    user_id: str
    email: str
    username: str = ""


class _LinkData(_AccountData):
    link: str
    expires_at: datetime


class _InvitationData(BaseModel):
    """An invitation goes to an address, which may have no account yet."""

    email: str
    username: str = ""
    link: str
    expires_at: datetime
    workspace: str
    inviter: str
    role: str


class _WebhookData(_AccountData):
    webhook_id: str
    url: str
    failed_deliveries: int
    reason: str = ""


@dataclass(frozen=True)
class RenderedMail:
    template: str
    subject: str
    to: Address
    text: str
    html: str

    @property
    def needs_smtputf8(self) -> bool:
        return not self.to.addr_spec.isascii()


def clean_display_name(value: str) -> str:
    """A user-chosen name made safe for a header and a greeting: one line, no control chars."""
    cleaned = "".join(
        " " if unicodedata.category(char) in _CONTROL_CATEGORIES else char for char in value
    )
    return _SPACES.sub(" ", cleaned).strip()[:USERNAME_MAX].strip()


def parse_recipient(email: str, username: str) -> Address:
    """The `To` address. A non-ASCII domain becomes IDNA; a non-ASCII local part is kept as is
    (the mail then goes out with SMTPUTF8), since auth accepts internationalized addresses."""
    email = email.strip()
    if not email or any(
        unicodedata.category(c) in _CONTROL_CATEGORIES or c.isspace() for c in email
    ):
        raise InvalidMailEvent("the recipient address contains whitespace or control characters")
    if email.count("@") != 1 or not all(email.split("@")):
        raise InvalidMailEvent("the recipient is not an email address")
    local, domain = email.split("@")
    name = clean_display_name(username)
    try:
        if not domain.isascii():
            domain = domain.encode("idna").decode("ascii")
        if local.isascii():
            # strict: anything but a plain addr-spec (comments, a second address...) raises
            return Address(display_name=name, addr_spec=f"{local}@{domain}")
        # Address only takes a non-ASCII local part as a separate argument; it still refuses
        # CR/LF and quotes special characters
        return Address(display_name=name, username=local, domain=domain)
    except (ValueError, IndexError, UnicodeError) as exc:
        raise InvalidMailEvent("the recipient is not an email address") from exc


def check_link(link: str) -> str:
    parts = urlsplit(link)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c.isspace() or unicodedata.category(c) in _CONTROL_CATEGORIES for c in link)
    ):
        raise InvalidMailEvent("the link is not an absolute http(s) URL")
    return link


def describe_duration(delta: timedelta) -> str:
    """'30 minutes', '24 hours', '2 days': how long a link stays valid, as people say it."""
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 120:
        value, unit = minutes, "minute"
    elif minutes < 72 * 60:
        value, unit = round(minutes / 60), "hour"
    else:
        value, unit = round(minutes / (24 * 60)), "day"
    return f"{value} {unit}{'' if value == 1 else 's'}"


def format_utc(moment: datetime) -> str:
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return f"{moment:%H:%M} UTC on {moment.day} {moment:%B %Y}"


class MailRenderer:
    def __init__(self, settings: MailerSettings) -> None:
        self.settings = settings
        self.sender = settings.sender
        self.public_url = settings.public_url.rstrip("/")
        self.env = Environment(
            loader=PackageLoader("mailer", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,  # templates ship with the code: no stat() per mail
        )

    @staticmethod
    def template_for(event_type: str) -> str | None:
        return TEMPLATES.get(event_type)

    @staticmethod
    def needs_contact(event_type: str) -> bool:
        return event_type in CONTACT_EVENTS

    def render(self, event: Event) -> RenderedMail:
        """The subject, recipient and both bodies for `event`; `InvalidMailEvent` if it can't be."""
        template = self.template_for(event.type)
        if template is None:
            raise InvalidMailEvent(f"no mail for events of type {event.type}")
        kind: type[BaseModel] = (
            _LinkData
            if template in LINK_TEMPLATES
            else _WebhookData
            if template in WEBHOOK_TEMPLATES
            else _InvitationData
            if template == "invitation"
            else _AccountData
        )
        try:
            data = kind.model_validate(event.data)
        except ValidationError as exc:
            fields = sorted({".".join(map(str, error["loc"])) for error in exc.errors()})
            raise InvalidMailEvent(f"bad or missing fields: {', '.join(fields)}") from exc
        to = parse_recipient(data.email, data.username)  # type: ignore[attr-defined]
        subject = SUBJECTS[template]
        context: dict[str, object] = {
            "product": PRODUCT,
            "public_url": self.public_url,
            "subject": subject,
            "username": to.display_name,
            "email": to.addr_spec,
            "changed_at": format_utc(event.occurred_at),
        }
        if isinstance(data, _LinkData | _InvitationData):
            expires_at = (
                data.expires_at if data.expires_at.tzinfo else data.expires_at.replace(tzinfo=UTC)
            )
            context |= {
                "link": check_link(data.link),
                "valid_for": describe_duration(expires_at - event.occurred_at),
                "valid_until": format_utc(expires_at),
            }
        if isinstance(data, _InvitationData):
            context |= {
                "workspace": clean_display_name(data.workspace),
                "inviter": clean_display_name(data.inviter) or "A teammate",
                "role": "an admin" if data.role == "admin" else f"a {data.role}",
            }
        if isinstance(data, _WebhookData):
            context |= {
                # shown, never linked: the receiver's URL is the user's, not ours to vouch for
                "webhook_url": clean_display_name(data.url)[: USERNAME_MAX * 4],
                "failed_deliveries": data.failed_deliveries,
                "reason": clean_display_name(data.reason),
                "settings_link": f"{self.public_url}/settings#webhooks",
            }
        text = self.env.get_template(f"{template}.txt").render(context)
        html = self.env.get_template(f"{template}.html").render(context)
        return RenderedMail(template=template, subject=subject, to=to, text=text, html=html)

    def message(self, event: Event, mail: RenderedMail) -> EmailMessage:
        """The MIME message: multipart/alternative, text first, Message-ID fixed by the event.

        Deriving the Message-ID from the event id means a mail sent twice (the server accepted it
        but the acknowledgement was lost) carries the same id, which receiving systems dedupe on.
        """
        msg = EmailMessage(policy=policy.SMTPUTF8 if mail.needs_smtputf8 else policy.SMTP)
        msg["Subject"] = mail.subject
        msg["From"] = self.sender
        msg["To"] = mail.to
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = f"<{event.id.hex}@{self.sender.domain}>"
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
        msg.set_content(mail.text, charset="utf-8")
        msg.add_alternative(mail.html, subtype="html", charset="utf-8")
        return msg
