"""The mailer's event handler: build the mail, claim the event, send it, retry or give up.

The event stays unacknowledged on the broker until this handler returns, so nothing here needs
to be durable except the ledger: a crash at any point puts the event back on the queue.

- Sent: the ledger marks the event done (a later copy is a duplicate), the consumer acknowledges.
- Temporary failure (4xx, connection refused or dropped, timeout): wait with exponential backoff
  and jitter, holding the event, and try again, up to `MAILER_MAX_ATTEMPTS` in all; then raise
  `DeadLetter("retries_exhausted")` and the consumer moves it to `mailer.dead`.
- Permanent failure (5xx): no retry; recorded as `failed` and moved to `mailer.dead` too
  (`permanent_failure`), so a mail refused because of a setup mistake can be replayed once fixed.
- An event that cannot become a mail (bad address or link): `mailer.dead` (`invalid_event`).
- Shutting down while waiting to retry: raise `Requeue`; the attempt count stays in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

from kit.consumer import DeadLetter, Requeue
from kit.events import Event
from mailer.config import MailerSettings
from mailer.directory import AccountDirectory, DirectoryUnavailable
from mailer.ledger import Claim, DeliveryLedger
from mailer.metrics import DEAD_LETTERS, EMAILS, INFLIGHT, RETRIES, SEND_SECONDS
from mailer.render import InvalidMailEvent, MailRenderer, RenderedMail
from mailer.sender import PermanentFailure, SmtpSender, TemporaryFailure

log = logging.getLogger(__name__)


class MailHandler:
    def __init__(
        self,
        settings: MailerSettings,
        renderer: MailRenderer,
        sender: SmtpSender,
        ledger: DeliveryLedger,
        directory: AccountDirectory,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.renderer = renderer
        self.sender = sender
        self.ledger = ledger
        self.rng = rng or random.Random()
        # set on shutdown: waits (backoff, a busy claim) end at once and the event is put back
        self.stopping = asyncio.Event()

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt`: doubling, capped, with equal jitter."""
        s = self.settings
        ceiling = min(s.retry_max_seconds, s.retry_base_seconds * 2.0 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    async def __call__(self, event: Event) -> None:
        template = self.renderer.template_for(event.type) or "unknown"
        extra = {"event_id": str(event.id), "event_type": event.type}
        if self.renderer.needs_contact(event.type):
            found = await self._with_contact(event, template)
            if found is None:
                EMAILS.labels(template, "no_recipient").inc()
                log.info("the account is gone or inactive; no mail", extra=extra)
                return
            event = found
        try:
            mail = self.renderer.render(event)
        except InvalidMailEvent as exc:
            EMAILS.labels(template, "invalid").inc()
            DEAD_LETTERS.labels(template, "invalid_event").inc()
            log.error("no mail can be made from this event: %s", exc, extra=extra)
            raise DeadLetter("invalid_event", str(exc)) from exc

        claim = await self._claim(str(event.id))
        if claim is None:
            EMAILS.labels(template, "duplicate").inc()
            log.info("already sent; skipping a duplicate", extra=extra)
            return
        INFLIGHT.inc()
        keeper = asyncio.create_task(self._keep_claim(claim))
        try:
            await self._deliver(event, mail, claim)
        except BaseException:
            # not sent: free the event for the copy the broker will hand out again
            with contextlib.suppress(Exception):
                await self.ledger.release(claim)
            raise
        finally:
            keeper.cancel()
            INFLIGHT.dec()

    async def _deliver(self, event: Event, mail: RenderedMail, claim: Claim) -> None:
        s = self.settings
        extra = {"event_id": str(event.id), "event_type": event.type}
        message = self.renderer.message(event, mail).as_bytes()  # once, for every attempt
        while True:
            attempt = await self.ledger.next_attempt(claim.event_id)
            started = time.perf_counter()
            try:
                await self.sender.send(
                    message,
                    sender=self.renderer.sender.addr_spec,
                    recipient=mail.to.addr_spec,
                    smtputf8=mail.needs_smtputf8,
                )
            except PermanentFailure as exc:
                SEND_SECONDS.labels(mail.template).observe(time.perf_counter() - started)
                EMAILS.labels(mail.template, "failed").inc()
                DEAD_LETTERS.labels(mail.template, "permanent_failure").inc()
                log.error(
                    "the SMTP server refused the mail for good (%s); not retried",
                    exc.code,
                    extra=extra | {"attempt": attempt},
                )
                await self.ledger.forget_attempts(claim.event_id)
                raise DeadLetter("permanent_failure", str(exc)) from exc
            except TemporaryFailure as exc:
                SEND_SECONDS.labels(mail.template).observe(time.perf_counter() - started)
                if attempt >= s.max_attempts:
                    EMAILS.labels(mail.template, "dead_lettered").inc()
                    DEAD_LETTERS.labels(mail.template, "retries_exhausted").inc()
                    log.error(
                        "giving up after %d attempts (%s)",
                        attempt,
                        exc.reason,
                        extra=extra | {"attempt": attempt},
                    )
                    await self.ledger.forget_attempts(claim.event_id)
                    raise DeadLetter(
                        "retries_exhausted", f"{attempt} attempts; last: {exc}"
                    ) from exc
                EMAILS.labels(mail.template, "retry").inc()
                RETRIES.labels(mail.template, exc.reason).inc()
                delay = self.backoff(attempt)
                log.warning(
                    "temporary failure (%s: %s); trying again in %.1fs",
                    exc.reason,
                    exc.code or "-",
                    delay,
                    extra=extra | {"attempt": attempt},
                )
                await self._pause(delay)
                continue
            SEND_SECONDS.labels(mail.template).observe(time.perf_counter() - started)
            EMAILS.labels(mail.template, "sent").inc()
            log.info("mail sent", extra=extra | {"attempt": attempt})
            try:
                await self.ledger.mark_done(claim)
            except Exception:
                # The mail is out; requeueing would send it again. Acknowledge and say so.
                log.exception(
                    "mail sent but not recorded as sent; a redelivered copy would be resent",
                    extra=extra,
                )
            return

    async def _with_contact(self, event: Event, template: str) -> Event | None:
        """The event with its user's address added (asked of auth, retried while it is away)."""
        user_id = str(event.data.get("user_id", ""))
        attempt = 0
        while True:
            attempt += 1
            try:
                contact = await self.directory.contact(user_id)
            except DirectoryUnavailable as exc:
                if attempt >= self.settings.max_attempts:
                    DEAD_LETTERS.labels(template, "retries_exhausted").inc()
                    raise DeadLetter("retries_exhausted", f"no address: {exc}") from exc
                RETRIES.labels(template, "directory").inc()
                await self._pause(self.backoff(attempt))
                continue
            if contact is None:
                return None
            return event.model_copy(update={"data": {**event.data, **contact}})

    async def _claim(self, event_id: str) -> Claim | None:
        """Our claim on the event, or None when it was already sent."""
        while True:
            state = await self.ledger.claim(event_id)
            if isinstance(state, Claim):
                return state
            if state == "done":
                return None
            # Another worker holds it, or one died holding it and its lease will run out.
            await self._pause(
                min(self.settings.claim_lease_seconds / 2, 5.0) * self.rng.uniform(0.5, 1.0)
            )

    async def _keep_claim(self, claim: Claim) -> None:
        interval = self.settings.claim_lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.ledger.renew(claim):
                    log.warning(
                        "lost the claim on an event being delivered",
                        extra={"event_id": claim.event_id},
                    )
                    return
            except Exception as exc:
                log.warning("could not renew a claim (%s)", exc, extra={"event_id": claim.event_id})

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless the mailer is stopping: then give the event back to the queue."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        if self.stopping.is_set():
            raise Requeue()
