"""Helpers for the browser tests: what a page did (requests, console, errors), accounts, mail."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
    expect,
)

from .conftest import Inbox, Stack

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct horse 42"

# Registered before any page script runs (CDP, not subject to the page's CSP): every CSP
# violation the page meets is kept for the test to read.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """A screenshot of a main screen, kept as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    return path


@dataclass
class Watch:
    """Everything a browser context asked for and every error its pages reported."""

    origin: str
    requests: list[Request] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    console_errors: list[ConsoleMessage] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    # foreign requests that got past the page's own checks (CSP) to the network layer
    escaped: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, context: BrowserContext, origin: str) -> Watch:
        watch = cls(origin.rstrip("/"))
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        context.on("request", lambda r: watch.requests.append(r))
        context.on("response", lambda r: watch.responses.append(r))
        context.on("console", lambda m: m.type == "error" and watch.console_errors.append(m))
        context.on("weberror", lambda e: watch.page_errors.append(str(e.error)))

        # Nothing may leave the origin. A request the CSP blocks still shows as a request
        # (failing with "csp") but never reaches this route; whatever does is kept, and stops here.
        def stop(route: Route) -> None:
            watch.escaped.append(route.request.url)
            route.abort()

        context.route(lambda url: not url.startswith(watch.origin + "/"), stop)
        return watch

    def foreign_requests(self) -> list[str]:
        """Every foreign request the page attempted, blocked by the CSP or not."""
        return [r.url for r in self.requests if not r.url.startswith(self.origin + "/")]

    def api_calls(self, method: str | None = None, path: str = "") -> list[Request]:
        """Requests to `/api/...` whose path starts with `/api/<path>` (or matches it as regex)."""
        found = []
        for r in self.requests:
            url_path = urlsplit(r.url).path
            if not url_path.startswith("/api/"):
                continue
            if method and r.method != method:
                continue
            if path and not re.match(f"/api/{path}", url_path):
                continue
            found.append(r)
        return found

    def statuses(self, method: str, path: str) -> list[int]:
        return [
            r.status
            for r in self.responses
            if r.request.method == method and re.match(f"/api/{path}", urlsplit(r.url).path)
        ]

    def unexpected_console_errors(self, *allowed: tuple[int, str]) -> list[str]:
        """Console errors other than the failed loads listed as (status, /api path regex)."""
        left = []
        for message in self.console_errors:
            status = re.search(r"status of (\d{3})", message.text)
            url_path = urlsplit(message.location.get("url", "")).path
            if status and any(
                int(status.group(1)) == code and re.fullmatch(f"/api/{path}", url_path)
                for code, path in allowed
            ):
                continue
            left.append(f"{message.text} ({message.location.get('url')})")
        return left

    def assert_clean(self, page: Page, *allowed: tuple[int, str]) -> None:
        """Nothing left the origin, no script error, no CSP violation, no stray console error."""
        assert self.foreign_requests() == []
        assert self.escaped == []
        assert self.page_errors == []
        assert self.unexpected_console_errors(*allowed) == []
        assert csp_violations(page) == []


def csp_violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__cspViolations ?? []"))


@dataclass
class Account:
    email: str
    username: str
    password: str = PASSWORD


def new_account(prefix: str = "b") -> Account:
    tag = uuid.uuid4().hex[:8]
    return Account(f"{prefix}-{tag}@example.com", f"{prefix}_{tag}")


def register_by_api(stack: Stack, account: Account) -> dict[str, Any]:
    """An account made through the public API (for tests whose subject is not registration)."""
    with stack.client() as api:
        response = api.post(
            "/api/auth/register",
            json={
                "email": account.email,
                "username": account.username,
                "password": account.password,
            },
            headers={"Parley-Token-Transport": "body"},
        )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def confirmation_token(inbox: Inbox, email: str) -> str:
    """The token of the confirmation link in the mail the stack sent to `email`."""
    message: EmailMessage = inbox.wait_for(email, subject="Confirm your email address for Parley")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    match = re.search(r"http://parley\.test/email-verify/([A-Za-z0-9_\-]+)", text)
    assert match, text
    return match.group(1)


def sign_in(page: Page, account: Account, path: str = "/chats") -> None:
    """Through the login form, as a person would."""
    page.goto(path)
    expect(page.get_by_test_id("login-form")).to_be_visible()
    page.get_by_test_id("login-email").fill(account.email)
    page.get_by_test_id("login-password").fill(account.password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("composer-input")).to_be_visible()


def send(page: Page, text: str) -> None:
    page.get_by_test_id("composer-input").fill(text)
    page.get_by_test_id("composer-input").press("Enter")


def last_message(page: Page) -> Any:
    return page.get_by_test_id("message-item").last


def refresh_cookie(context: BrowserContext) -> str | None:
    for cookie in context.cookies():
        if cookie["name"].endswith("parley_refresh"):
            return cookie["value"]
    return None
