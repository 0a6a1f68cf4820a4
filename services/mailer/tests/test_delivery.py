"""The mailer end to end in-process: real Redis broker, real SMTP server, real events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

from prometheus_client import REGISTRY

from kit import events
from kit.events import Event
from mailer import admin
from mailer.main import Mailer
from parley_testing.mailcatcher import extract_links

WAIT = 15.0
StartMailer = Callable[..., Awaitable[Mailer]]


def publish_now(broker_url: str, *items: Event) -> None:
    with events.connect(broker_url) as conn:
        events.declare_topology(conn)
        for event in items:
            events.publish(conn, event)


async def publish(broker_url: str, *items: Event) -> None:
    await asyncio.to_thread(publish_now, broker_url, *items)


async def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
    return result


async def dead_letters(broker_url: str) -> list[dict[str, Any]]:
    return await asyncio.to_thread(admin.list_dead_letters, broker_url)


async def eventually_dead_lettered(broker_url: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT
    while len(found := await dead_letters(broker_url)) < count:
        assert time.monotonic() < deadline, f"expected {count} dead letters, have {found}"
        await asyncio.sleep(0.05)
    return found


def emails(template: str, result: str) -> float:
    labels = {"template": template, "result": result}
    return REGISTRY.get_sample_value("parley_emails_total", labels) or 0.0


def retries(template: str, reason: str) -> float:
    labels = {"template": template, "reason": reason}
    return REGISTRY.get_sample_value("parley_email_retries_total", labels) or 0.0


def confirmation(email: str, username: str = "alice", **data: Any) -> Event:
    return Event(
        type="auth.email_confirmation_requested",
        data={
            "user_id": "0b7e5f3c-1111-4a5b-9c1d-2e3f4a5b6c7d",
            "email": email,
            "username": username,
            "link": f"http://parley.test:8000/email-verify/tok-{email.split('@')[0]}?a=1&b=2",
            "expires_at": "2099-01-01T12:00:00+00:00",
            **data,
        },
    )


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


class TestDelivery:
    async def test_confirmation_mail_is_well_formed_with_a_working_link(
        self, broker_url: str, smtp, mailer: Mailer
    ) -> None:
        before = emails("email_confirmation", "sent")
        event = confirmation("carol@example.com", username="Carol <b>&</b>")
        await publish(broker_url, event)

        [message] = await eventually(lambda: smtp.mails_to("carol@example.com"), "the mail")
        assert message["Subject"] == "Confirm your email address for Parley"
        assert message["To"].addresses[0].addr_spec == "carol@example.com"
        assert message["From"].addresses[0].addr_spec == "no-reply@parley.local"
        assert message["Message-ID"].strip() == f"<{event.id.hex}@parley.local>"
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        text, html = parts(message)
        link = event.data["link"]
        assert link in text.split()
        assert link in extract_links("", html)  # an <a href>, with &amp; decoded back
        assert set(extract_links(text, html)) == {link, "http://parley.test:8000"}
        assert "Parley" in text
        assert "Parley" in html
        assert "Hi Carol <b>&</b>," in text
        assert "Hi Carol &lt;b&gt;&amp;&lt;/b&gt;," in html  # autoescaped, not markup
        assert "valid for" in text
        assert "until 12:00 UTC on 1 January 2099" in text
        await eventually(lambda: emails("email_confirmation", "sent") == before + 1, "the metric")

    async def test_each_event_type_gets_its_mail(
        self, broker_url: str, smtp, mailer: Mailer
    ) -> None:
        account = {"user_id": "u-1", "email": "dave@example.com", "username": "dave"}
        link = "https://parley.test/password-reset/tok-reset"
        await publish(
            broker_url,
            Event(
                type="auth.password_reset_requested",
                data={**account, "link": link, "expires_at": "2099-01-01T12:30:00+00:00"},
                occurred_at="2099-01-01T12:00:00+00:00",
            ),
            Event(type="auth.password_changed", data=account),
            Event(type="auth.email_confirmed", data=account),
        )
        mails = await eventually(
            lambda: len(m := smtp.mails_to("dave@example.com")) == 3 and m, "three mails"
        )
        by_subject = {m["Subject"]: m for m in mails}
        assert set(by_subject) == {
            "Reset your Parley password",
            "Your Parley password was changed",
            "Welcome to Parley",
        }
        text, html = parts(by_subject["Reset your Parley password"])
        assert link in text.split()
        assert link in extract_links("", html)
        assert "expires in 30 minutes, at 12:30 UTC on 1 January 2099" in text
        assert "expires in 30 minutes</strong>, at 12:30 UTC on 1 January 2099" in html
        text, _ = parts(by_subject["Your Parley password was changed"])
        assert "Forgot password" in text
        text, _ = parts(by_subject["Welcome to Parley"])
        assert "http://parley.test:8000" in text.split()

    async def test_internationalized_address_goes_out_with_smtputf8(
        self, broker_url: str, smtp, mailer: Mailer
    ) -> None:
        await publish(broker_url, confirmation("jörg@exämple.com", username="Jörg Müller"))

        [message] = await eventually(lambda: smtp.mails_to("jörg@xn--exmple-cua.com"), "the mail")
        [to] = message["To"].addresses
        assert to.addr_spec == "jörg@xn--exmple-cua.com"
        assert to.display_name == "Jörg Müller"
        text, _ = parts(message)
        assert "Hi Jörg Müller," in text


class TestRetries:
    async def test_451_then_250_delivers_exactly_once(
        self, broker_url: str, smtp, mailer: Mailer
    ) -> None:
        before = retries("email_confirmation", "smtp_4xx")
        smtp.script.extend(["451 4.3.0 Try again later", "250 OK: queued"])
        await publish(broker_url, confirmation("erin@example.com"))

        await eventually(lambda: smtp.mails_to("erin@example.com"), "the mail")
        await asyncio.sleep(0.5)  # room for a wrong second copy to arrive
        assert len(smtp.mails_to("erin@example.com")) == 1
        assert smtp.data_attempts == 2
        assert retries("email_confirmation", "smtp_4xx") == before + 1
        assert await dead_letters(broker_url) == []

    async def test_smtp_down_then_up_is_retried_and_delivered(
        self, broker_url: str, smtp, start_mailer: StartMailer
    ) -> None:
        await start_mailer(MAILER_MAX_ATTEMPTS=50)  # outlasts the restart of the server
        before = retries("email_confirmation", "connection")
        smtp.stop()  # connection refused from now on
        await publish(broker_url, confirmation("frank@example.com"))
        await eventually(
            lambda: retries("email_confirmation", "connection") >= before + 2, "refused tries"
        )
        smtp.start()

        await eventually(lambda: smtp.mails_to("frank@example.com"), "the mail")
        await asyncio.sleep(0.3)
        assert len(smtp.mails_to("frank@example.com")) == 1
        assert await dead_letters(broker_url) == []

    async def test_550_is_not_retried_and_is_recorded(
        self, broker_url: str, smtp, mailer: Mailer
    ) -> None:
        failed = emails("email_confirmation", "failed")
        retried = emails("email_confirmation", "retry")
        smtp.rcpt_reply = "550 5.1.1 Mailbox unavailable"
        event = confirmation("gone@example.com")
        await publish(broker_url, event)

        [dead] = await eventually_dead_lettered(broker_url)
        assert dead["event_id"] == str(event.id)
        assert dead["reason"] == "permanent_failure"
        assert dead["detail"].startswith("550")
        assert dead["template"] == "email_confirmation"
        assert smtp.rcpt_attempts == 1
        assert smtp.accepted == []
        assert emails("email_confirmation", "failed") == failed + 1
        assert emails("email_confirmation", "retry") == retried

    async def test_dead_letter_after_last_retry_then_replay_delivers_it(
        self, broker_url: str, smtp, mailer: Mailer
    ) -> None:
        dead_lettered = emails("email_confirmation", "dead_lettered")
        smtp.data_reply = "451 4.3.0 Still busy"
        first, second = confirmation("hank@example.com"), confirmation("ivy@example.com")
        await publish(broker_url, first, second)

        found = await eventually_dead_lettered(broker_url, 2)
        assert {d["event_id"] for d in found} == {str(first.id), str(second.id)}
        assert {d["reason"] for d in found} == {"retries_exhausted"}
        assert smtp.data_attempts == 2 * 4  # MAILER_MAX_ATTEMPTS=4 each
        assert emails("email_confirmation", "dead_lettered") == dead_lettered + 2
        assert smtp.accepted == []

        smtp.data_reply = "250 OK: queued"
        assert await asyncio.to_thread(admin.replay, broker_url, [str(first.id)]) == 1
        await eventually(lambda: smtp.mails_to("hank@example.com"), "the replayed mail")
        [left] = await dead_letters(broker_url)  # the other one stays until asked for
        assert left["event_id"] == str(second.id)

        assert await asyncio.to_thread(admin.replay, broker_url, None) == 1
        await eventually(lambda: smtp.mails_to("ivy@example.com"), "the second replayed mail")
        await asyncio.sleep(0.3)
        assert len(smtp.accepted) == 2
        assert await dead_letters(broker_url) == []


class TestDuplicates:
    async def test_same_event_twice_sends_one_mail(
        self, broker_url: str, smtp, mailer: Mailer
    ) -> None:
        duplicates = emails("email_confirmation", "duplicate")
        event = confirmation("jack@example.com")
        # twice at once (handled concurrently), and once more after it was sent
        await publish(broker_url, event, event)
        await eventually(lambda: smtp.mails_to("jack@example.com"), "the mail")
        await eventually(
            lambda: emails("email_confirmation", "duplicate") == duplicates + 1, "a duplicate"
        )
        await publish(broker_url, event)
        await eventually(
            lambda: emails("email_confirmation", "duplicate") == duplicates + 2, "another"
        )
        assert len(smtp.mails_to("jack@example.com")) == 1


class TestHeaderSafety:
    async def test_line_breaks_in_a_username_create_no_headers(
        self, broker_url: str, smtp, mailer: Mailer
    ) -> None:
        evil = "Eve\r\nBcc: thief@example.com\r\nSubject: You won\nX-Evil: 1"
        await publish(broker_url, confirmation("eve@example.com", username=evil))

        [message] = await eventually(lambda: smtp.mails_to("eve@example.com"), "the mail")
        rcpts, _ = smtp.accepted[0]
        assert rcpts == ["eve@example.com"]
        assert message["Bcc"] is None
        assert message["X-Evil"] is None
        assert message.get_all("Subject") == ["Confirm your email address for Parley"]
        [to] = message["To"].addresses
        assert to.addr_spec == "eve@example.com"
        assert "\n" not in to.display_name
        assert "\r" not in to.display_name
        assert smtp.mails_to("thief@example.com") == []

    async def test_line_break_in_the_address_is_refused_not_sent(
        self, broker_url: str, smtp, mailer: Mailer
    ) -> None:
        event = confirmation("mallory@example.com\r\nBcc: thief@example.com")
        await publish(broker_url, event)

        [dead] = await eventually_dead_lettered(broker_url)
        assert dead["reason"] == "invalid_event"
        assert smtp.rcpt_attempts == 0


class TestRestart:
    async def test_stopping_mid_retry_loses_nothing(
        self, broker_url: str, smtp, start_mailer: StartMailer
    ) -> None:
        smtp.data_reply = "451 4.3.0 Try again later"
        first = await start_mailer(MAILER_RETRY_BASE_SECONDS=0.5, MAILER_RETRY_MAX_SECONDS=1)
        sent = [confirmation(f"user{n}@example.com") for n in range(6)]
        await publish(broker_url, *sent)
        await eventually(lambda: smtp.data_attempts >= 6, "a first try of each mail")

        started = time.monotonic()
        await first.stop()  # all six are waiting to retry
        assert time.monotonic() - started < 3
        assert smtp.accepted == []

        smtp.data_reply = "250 OK: queued"
        await start_mailer()
        await eventually(lambda: len(smtp.accepted) == 6, "all six mails")
        await asyncio.sleep(0.3)
        assert sorted(r[0] for r, _ in smtp.accepted) == sorted(e.data["email"] for e in sent)
        assert await dead_letters(broker_url) == []
