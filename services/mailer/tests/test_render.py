"""Rendering and settings, without servers: what goes into a mail, and what is refused."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from pydantic import ValidationError

from kit.events import Event
from mailer.config import MailerSettings
from mailer.render import (
    InvalidMailEvent,
    MailRenderer,
    clean_display_name,
    describe_duration,
)


@pytest.fixture(scope="module")
def renderer() -> MailRenderer:
    return MailRenderer(MailerSettings(PARLEY_PUBLIC_URL="https://chat.example.org/"))


def link_event(**data: object) -> Event:
    return Event(
        type="auth.password_reset_requested",
        occurred_at="2030-05-01T08:00:00+00:00",
        data={
            "user_id": "u-1",
            "email": "nia@example.com",
            "username": "nia",
            "link": "https://chat.example.org/password-reset/tok",
            "expires_at": "2030-05-01T08:30:00+00:00",
            **data,
        },
    )


class TestRender:
    def test_reset_mail_states_the_expiry_in_both_parts(self, renderer: MailRenderer) -> None:
        mail = renderer.render(link_event())
        assert mail.subject == "Reset your Parley password"
        for body in (mail.text, mail.html):
            assert "expires in 30 minutes" in body
            assert "08:30 UTC on 1 May 2030" in body
            assert "https://chat.example.org/password-reset/tok" in body

    @pytest.mark.parametrize(
        ("event_type", "subject", "says"),
        [
            ("chat.webhook_failing", "Your Parley webhook is failing", "will be disabled"),
            ("chat.webhook_disabled", "Your Parley webhook was disabled", "5 deliveries in a row"),
        ],
    )
    def test_webhook_mails_name_the_url_and_link_to_the_settings(
        self, renderer: MailRenderer, event_type: str, subject: str, says: str
    ) -> None:
        event = Event(
            type=event_type,
            data={
                "user_id": "u-1",
                "email": "nia@example.com",
                "username": "nia",
                "webhook_id": "w-1",
                "url": "https://hooks.example/<b>in</b>",
                "failed_deliveries": 5,
                "reason": "5 deliveries in a row failed.",
            },
        )
        mail = renderer.render(event)
        assert mail.subject == subject
        for body in (mail.text, mail.html):
            assert says in body
            assert "https://chat.example.org/settings#webhooks" in body
        assert "https://hooks.example/<b>in</b>" in mail.text
        assert "<b>in</b>" not in mail.html  # the receiver's URL is escaped, never markup
        assert "https://hooks.example/&lt;b&gt;in&lt;/b&gt;" in mail.html

    def test_an_invitation_names_the_workspace_and_inviter_and_links_once(
        self, renderer: MailRenderer
    ) -> None:
        event = Event(
            type="chat.workspace_invitation",
            occurred_at="2030-05-01T08:00:00+00:00",
            data={
                "email": "bob@example.com",
                "link": "https://chat.example.org/invite/tok",
                "expires_at": "2030-05-08T08:00:00+00:00",
                "workspace": "Launch <team>",
                "inviter": "ann",
                "role": "admin",
            },
        )
        mail = renderer.render(event)
        assert mail.subject == "You are invited to a workspace on Parley"
        assert mail.to.addr_spec == "bob@example.com"
        for body in (mail.text, mail.html):
            assert "https://chat.example.org/invite/tok" in body
            assert "expires in 7 days" in body
            assert "as an admin" in body
        assert "Launch <team>" in mail.text
        assert "Launch &lt;team&gt;" in mail.html
        with pytest.raises(InvalidMailEvent):
            renderer.render(Event(type="chat.workspace_invitation", data={"email": "bob@x.org"}))

    def test_scripts_in_a_username_are_escaped_in_html(self, renderer: MailRenderer) -> None:
        mail = renderer.render(link_event(username='<script>alert("x")</script>'))
        assert "<script>" not in mail.html
        assert "&lt;script&gt;" in mail.html
        assert mail.to.display_name == '<script>alert("x")</script>'

    def test_message_is_multipart_alternative_and_survives_a_round_trip(
        self, renderer: MailRenderer
    ) -> None:
        event = link_event(username="Zoë\r\nBcc: x@evil.example")
        message = renderer.message(event, renderer.render(event))
        raw = message.as_bytes()
        assert b"\r\nBcc:" not in raw
        parsed = message_from_bytes(raw, policy=policy.default)
        assert parsed.get_content_type() == "multipart/alternative"
        assert parsed["To"].addresses[0].display_name == "Zoë Bcc: x@evil.example"
        assert parsed["To"].addresses[0].addr_spec == "nia@example.com"
        assert parsed["Bcc"] is None
        assert parsed["Auto-Submitted"] == "auto-generated"

    @pytest.mark.parametrize(
        ("data", "problem"),
        [
            ({"link": "javascript:alert(1)"}, "link"),
            ({"link": "/password-reset/relative"}, "link"),
            ({"link": "https://chat.example.org/a b"}, "link"),
            ({"email": "no-at-sign"}, "not an email address"),
            ({"email": "a@b.example\nBcc: c@d.example"}, "control characters"),
            ({"email": "two@@example.com"}, "not an email address"),
            ({"expires_at": "soon"}, "expires_at"),
            ({"link": None}, "link"),
        ],
    )
    def test_unusable_events_are_refused(
        self, renderer: MailRenderer, data: dict[str, object], problem: str
    ) -> None:
        with pytest.raises(InvalidMailEvent, match=problem):
            renderer.render(link_event(**data))

    def test_unknown_event_type_is_refused(self, renderer: MailRenderer) -> None:
        with pytest.raises(InvalidMailEvent, match="no mail"):
            renderer.render(Event(type="auth.user_deleted", data={"user_id": "u-1"}))

    def test_public_url_comes_from_settings(self, renderer: MailRenderer) -> None:
        event = Event(
            type="auth.email_confirmed",
            data={"user_id": "u", "email": "a@example.com", "username": "a"},
        )
        mail = renderer.render(event)
        assert "https://chat.example.org\n" in mail.text
        assert 'href="https://chat.example.org"' in mail.html


class TestHelpers:
    @pytest.mark.parametrize(
        ("delta", "said"),
        [
            (timedelta(minutes=30), "30 minutes"),
            (timedelta(minutes=1), "1 minute"),
            (timedelta(hours=24), "24 hours"),
            (timedelta(days=3), "3 days"),
        ],
    )
    def test_describe_duration(self, delta: timedelta, said: str) -> None:
        assert describe_duration(delta) == said

    def test_clean_display_name(self) -> None:
        assert clean_display_name(" a\r\nb\tc\u2028d\x00e ") == "a b c d e"
        assert len(clean_display_name("x" * 500)) == 64


class TestSettings:
    def test_username_without_password_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="SMTP_PASSWORD"):
            MailerSettings(SMTP_USERNAME="relay")

    def test_mail_from_must_be_an_address(self) -> None:
        with pytest.raises(ValidationError, match="MAIL_FROM"):
            MailerSettings(MAIL_FROM="Parley <no-reply@example.com>\r\nBcc: x@example.com")
        assert MailerSettings(MAIL_FROM="ops@example.com").sender.addr_spec == "ops@example.com"

    def test_smtp_tls_modes(self) -> None:
        assert MailerSettings(SMTP_TLS="starttls").smtp_tls == "starttls"
        with pytest.raises(ValidationError):
            MailerSettings(SMTP_TLS="maybe")

    def test_production_needs_no_internal_token(self) -> None:
        settings = MailerSettings(PARLEY_ENV="production", PARLEY_INTERNAL_TOKEN="")
        assert settings.is_production
