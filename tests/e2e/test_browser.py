"""The web UI in a real browser (Debian's Chromium) against the real stack (`browser_stack`).

Each test drives the built app as a person would and checks what they would see, plus what the
browser did behind the page: every request is recorded (none may leave the origin), console and
script errors are collected, CSP violations are caught by a listener installed before the app.
Screenshots of the main screens go to test-artifacts/screenshots/.

The stack's access tokens live one minute: a session signed in when this module starts is used
again by the last test, after its token died, to show the one refresh through the cookie.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from parley_testing.model_server import ModelServer

from .conftest import BROWSER_TOKEN_MINUTES, Inbox, Stack
from .test_keys_and_budgets import STAFF_PASSWORD, make_superuser
from .ui import (
    SCREENSHOTS,
    Account,
    Watch,
    confirmation_token,
    csp_violations,
    last_message,
    new_account,
    refresh_cookie,
    register_by_api,
    send,
    shot,
    sign_in,
)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WORDS = " ".join(f"word{i}" for i in range(40))
LONG = " ".join(f"token{i}" for i in range(300))
SIGNED_OUT_LOAD = (401, "auth/refresh")  # the app's first refresh, before anyone signed in
# The token is refused once its `exp` (plus the verifiers' 5 s leeway) has passed.
TOKEN_DEAD_AFTER = BROWSER_TOKEN_MINUTES * 60 + 5 + 1


@pytest.fixture
def watched(context: BrowserContext, browser_stack: Stack) -> tuple[Page, Watch]:
    watch = Watch.start(context, browser_stack.url)
    return context.new_page(), watch


def answer_of(page: Page) -> Any:
    return last_message(page).get_by_test_id("answer-body")


def status_of(page: Page) -> str:
    return str(last_message(page).get_attribute("data-status"))


# --- a session that outlives its access token (used by the last test) -------------------------


@dataclass
class AgingSession:
    context: BrowserContext
    page: Page
    watch: Watch
    account: Account
    signed_in_at: float


@pytest.fixture(scope="module", autouse=True)
def aging_session(
    browser: Browser, browser_stack: Stack, model_server: tuple[ModelServer, str]
) -> Iterator[AgingSession]:
    """Signed in (and used) first thing, so its token is dead when the module's last test runs."""
    _, model_url = model_server
    httpx.post(f"{model_url}/_control", json={"reply": "before the token died"}).raise_for_status()
    context = browser.new_context(base_url=browser_stack.url)
    watch = Watch.start(context, browser_stack.url)
    page = context.new_page()
    account = new_account("aging")
    register_by_api(browser_stack, account)
    sign_in(page, account)
    signed_in_at = time.monotonic()
    send(page, "hello while the token is fresh")
    expect(last_message(page)).to_have_attribute("data-status", "completed")
    expect(answer_of(page)).to_have_text("before the token died")
    yield AgingSession(context, page, watch, account, signed_in_at)
    context.close()


# --- the tests ---------------------------------------------------------------------------------


def test_sign_in_screens_validate_and_send_back(
    watched: tuple[Page, Watch], browser_stack: Stack
) -> None:
    """Register and login forms: client checks, server field errors, redirects both ways."""
    page, watch = watched
    taken = new_account("taken")
    register_by_api(browser_stack, taken)

    page.goto("/register")
    expect(page.get_by_test_id("register-form")).to_be_visible()
    shot(page, "register")
    page.get_by_test_id("register-email").fill("not-an-email")
    page.get_by_test_id("register-password").fill("short")
    page.get_by_test_id("register-submit").click()
    expect(page.get_by_test_id("register-email-error")).to_have_text("Enter a valid email address.")
    expect(page.get_by_test_id("register-username-error")).to_have_text("This field is required.")
    expect(page.get_by_test_id("register-password-error")).to_have_text("Use 8 to 1024 characters.")
    assert watch.api_calls("POST", "auth/register") == []  # stopped in the browser

    # the server's field error appears under its field
    page.get_by_test_id("register-email").fill(taken.email)
    page.get_by_test_id("register-username").fill(new_account().username)
    page.get_by_test_id("register-password").fill(taken.password)
    page.get_by_test_id("register-submit").click()
    expect(page.get_by_test_id("register-email-error")).to_contain_text("already exists")
    register_status = watch.statuses("POST", "auth/register")
    assert len(register_status) == 1
    assert 400 <= register_status[0] < 500
    shot(page, "register-errors")

    # a protected page sends a signed-out visitor to sign in, and back there afterwards
    page.goto("/settings")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_test_id("login-form")).to_be_visible()
    shot(page, "login")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-email-error")).to_have_text("This field is required.")
    page.get_by_test_id("login-email").fill(taken.email)
    page.get_by_test_id("login-password").fill("wrong password 1")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_be_visible()
    page.get_by_test_id("login-password").fill(taken.password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/settings$"))
    expect(page.get_by_test_id("session-list")).to_be_visible()
    # a wrong password is no expired session: no refresh was tried for it
    assert len(watch.api_calls("POST", "auth/refresh")) == 2  # the two signed-out page loads

    # signed in, the guest pages send the user on
    page.goto("/register")
    expect(page).to_have_url(re.compile(r"/chats$"))
    watch.assert_clean(
        page, SIGNED_OUT_LOAD, (register_status[0], "auth/register"), (401, "auth/login")
    )


def test_register_confirm_chat_stop_regenerate_rename_delete(
    watched: tuple[Page, Watch], browser_stack: Stack, inbox: tuple[Inbox, int], model: ModelServer
) -> None:
    """The whole first-day journey, in one browser tab."""
    page, watch = watched
    account = new_account("journey")

    # register from the login page
    page.goto("/chats")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_role("link", name="Create one").click()
    page.get_by_test_id("register-email").fill(account.email)
    page.get_by_test_id("register-username").fill(account.username)
    page.get_by_test_id("register-password").fill(account.password)
    page.get_by_test_id("register-submit").click()
    expect(page).to_have_url(re.compile(r"/chats$"))
    banner = page.get_by_test_id("confirm-email-banner")
    expect(banner).to_contain_text(account.email)
    expect(banner).to_contain_text("at most 3 messages")
    expect(page.get_by_test_id("current-user")).to_contain_text(account.username)

    # confirm with the link from the caught mail, in a tab of its own as a mail reader opens it
    # (the page load restores the session)
    token = confirmation_token(inbox[0], account.email)
    link_tab = page.context.new_page()
    link_tab.goto(f"/email-verify/{token}")
    expect(link_tab.get_by_test_id("verify-ok")).to_have_text("Your email is confirmed. Thank you!")
    shot(link_tab, "email-verified")
    # the first tab drops its banner at once, without a reload
    expect(banner).to_have_count(0, timeout=2000)
    link_tab.get_by_role("link", name="Continue to your chats").click()
    expect(link_tab).to_have_url(re.compile(r"/chats$"))
    expect(link_tab.get_by_test_id("composer-input")).to_be_focused()
    link_tab.close()
    expect(page.get_by_test_id("model-picker")).to_have_value("parley-demo")
    expect(page.get_by_test_id("model-picker")).to_contain_text("Demo model (offline)")

    # the first message creates the chat; the answer streams in word by word
    model.behaviour.reply = WORDS
    model.behaviour.token_delay = 0.05
    send(page, "Count to forty, please")
    expect(page).to_have_url(re.compile(r"/chats/[0-9a-f-]+$"))
    dialog_id = page.url.rsplit("/", 1)[1]
    expect(last_message(page).get_by_test_id("message-text")).to_have_text("Count to forty, please")
    seen: list[str] = []
    shot_taken = False
    while status_of(page) != "completed":
        body = answer_of(page)
        if body.count():
            text = body.inner_text().strip()
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            if len(text.split()) >= 15 and not shot_taken:
                shot(page, "chat-streaming")
                shot_taken = True
        assert len(seen) < 1000
        page.wait_for_timeout(30)
    expect(answer_of(page)).to_have_text(WORDS)
    partial = [s for s in seen if s != WORDS]
    assert len(partial) >= 3, seen  # several intermediate renders, not one final paint
    assert all(WORDS.startswith(s) for s in partial), partial  # in order, nothing doubled
    assert [len(s) for s in partial] == sorted(len(s) for s in partial)
    expect(last_message(page).get_by_test_id("demo-badge")).to_be_visible()
    first_id = last_message(page).get_attribute("data-message-id")
    assert watch.api_calls("GET", f"messages/{first_id}/stream")

    # Stop: the answer ends where it was, marked as stopped, and grows no more
    model.behaviour.reply = LONG
    model.behaviour.token_delay = 0.05
    send(page, "Now say a lot")
    expect(page.get_by_test_id("composer-stop")).to_be_visible()
    expect(answer_of(page)).to_contain_text("token5 ")
    last_message(page).get_by_test_id("stop-button").click()
    expect(last_message(page)).to_have_attribute("data-status", "cancelled")
    expect(last_message(page).get_by_test_id("answer-cancelled")).to_have_text("Stopped.")
    stopped = answer_of(page).inner_text().strip()
    assert LONG.startswith(stopped)
    assert 6 <= len(stopped.split()) < 300
    page.wait_for_timeout(500)
    assert answer_of(page).inner_text().strip() == stopped
    expect(page.get_by_test_id("send-button")).to_be_visible()
    second_id = last_message(page).get_attribute("data-message-id")
    assert watch.statuses("POST", f"messages/{second_id}/cancel") == [202]

    # Regenerate: a new answer (the demo model's, with highlighted code) replaces the stopped one
    model.behaviour.reply = None
    model.behaviour.token_delay = 0.005
    last_message(page).get_by_test_id("regenerate-button").click()
    expect(last_message(page)).to_have_attribute("data-status", "completed", timeout=15_000)
    expect(last_message(page).get_by_test_id("answer-cancelled")).to_have_count(0)
    expect(answer_of(page)).to_contain_text("You asked: Now say a lot")
    expect(answer_of(page)).not_to_contain_text("token0")
    code = last_message(page).get_by_test_id("code-block")
    expect(code.get_by_test_id("code-language")).to_have_text(re.compile("python", re.I))
    expect(code.locator(".hljs-keyword").first).to_have_text("def")
    assert watch.statuses("POST", f"messages/{second_id}/regenerate") == [202]
    assert page.get_by_test_id("message-item").count() == 2
    # Shift+Enter adds a line instead of sending
    composer = page.get_by_test_id("composer-input")
    composer.press_sequentially("Enter sends,")
    composer.press("Shift+Enter")
    composer.press_sequentially("Shift+Enter adds a line")
    expect(composer).to_have_value("Enter sends,\nShift+Enter adds a line")
    expect(page.get_by_test_id("message-item")).to_have_count(2)
    shot(page, "chat-answer")
    composer.fill("")

    # Rename, from the sidebar; the name is kept by the server
    item = page.locator(f'[data-testid="dialog-item"][data-dialog-id="{dialog_id}"]')
    expect(item.get_by_test_id("dialog-link")).to_have_attribute("aria-current", "page")
    item.hover()
    item.get_by_test_id("rename-dialog").click()
    page.get_by_test_id("rename-input").fill("Sorting algorithms")
    with page.expect_response(lambda r: r.request.method == "PATCH"):
        page.get_by_test_id("rename-input").press("Enter")
    expect(item.get_by_test_id("dialog-link")).to_have_text("Sorting algorithms")
    expect(page.get_by_test_id("dialog-title")).to_contain_text("Sorting algorithms")
    assert watch.statuses("PATCH", f"dialogs/{dialog_id}") == [200]
    page.reload()
    expect(page.get_by_test_id("dialog-title")).to_contain_text("Sorting algorithms")
    expect(page).to_have_title(re.compile("Sorting algorithms"))
    expect(page.get_by_test_id("message-item")).to_have_count(2)
    expect(page.get_by_test_id("code-block")).to_be_visible()  # the lazy renderer is back

    # Delete, after confirming; the chat is gone for good
    item.hover()
    item.get_by_test_id("delete-dialog-button").click()
    confirm = page.get_by_test_id("delete-dialog")
    expect(confirm).to_contain_text("“Sorting algorithms” and all its messages will be deleted.")
    shot(page, "delete-confirm")
    page.get_by_test_id("delete-dialog-confirm").click()
    expect(confirm).to_be_hidden()
    expect(item).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/chats$"))
    assert watch.statuses("DELETE", f"dialogs/{dialog_id}") == [204]
    page.goto(f"/chats/{dialog_id}")
    expect(page.get_by_test_id("dialog-not-found")).to_be_visible()

    # the access token stayed in memory: not in storage, the refresh cookie unreadable
    authorization = next(
        r.all_headers().get("authorization", "") for r in watch.api_calls("GET", "dialogs")
    )
    assert authorization.startswith("Bearer ")
    stored = page.evaluate(
        "JSON.stringify([{...localStorage}, {...sessionStorage}, document.cookie])"
    )
    assert authorization.removeprefix("Bearer ") not in stored
    assert "refresh" not in stored
    watch.assert_clean(page, SIGNED_OUT_LOAD, (404, f"dialogs/{dialog_id}(/messages)?"))


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_profile_and_settings(watched: tuple[Page, Watch], browser_stack: Stack) -> None:
    """Names and avatar on the profile; theme and sessions in the settings."""
    page, watch = watched
    account = new_account("profile")
    register_by_api(browser_stack, account)
    sign_in(page, account)

    page.get_by_test_id("nav-profile").click()
    expect(page).to_have_url(re.compile(r"/profile$"))
    expect(page.get_by_test_id("profile-email")).to_contain_text(account.email)
    expect(page.get_by_test_id("profile-username")).to_have_value(account.username)
    page.get_by_test_id("profile-first-name").fill("Ada")
    page.get_by_test_id("profile-last-name").fill("Lovelace")
    page.get_by_test_id("profile-save").click()
    expect(page.get_by_test_id("profile-saved")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_contain_text("Ada Lovelace")

    # a wide image: previewed, uploaded, shown square from this origin
    page.get_by_test_id("avatar-input").set_input_files(
        files=[{"name": "wide.png", "mimeType": "image/png", "buffer": _png(96, 48, (220, 90, 40))}]
    )
    page.get_by_test_id("avatar-upload").click()
    expect(page.get_by_test_id("avatar-remove")).to_be_visible()
    avatar = page.get_by_test_id("current-user").locator("img")
    expect(avatar).to_have_attribute("src", re.compile(r"^/api/avatars/"))
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=avatar.element_handle()
    )
    box = avatar.bounding_box()
    assert box is not None
    assert abs(box["width"] - box["height"]) < 1
    shot(page, "profile")

    page.get_by_test_id("nav-settings").click()
    expect(page).to_have_url(re.compile(r"/settings$"))
    sessions = page.get_by_test_id("session-item")
    expect(sessions).to_have_count(2)  # this browser, and the API call that registered
    expect(sessions.filter(has_text="This device")).to_have_count(1)
    expect(page.get_by_test_id("theme-system")).to_be_checked()
    shot(page, "settings", full_page=True)
    page.get_by_test_id("theme-dark").check()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.get_by_test_id("theme-dark")).to_be_checked()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    shot(page, "settings-dark")
    page.get_by_test_id("nav-logout").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_test_id("login-notice")).to_have_text("You have signed out.")
    assert refresh_cookie(page.context) is None
    watch.assert_clean(page, SIGNED_OUT_LOAD)


def test_api_keys_usage_and_the_admin_screen(
    watched: tuple[Page, Watch], browser_stack: Stack, browser: Browser
) -> None:
    """A key made, copied once and revoked in Settings; the Usage page; staff cap a user in the
    admin screen, and the user is told why their next message is refused and when it resets."""
    page, watch = watched
    account = new_account("keys")
    register_by_api(browser_stack, account)
    sign_in(page, account)
    send(page, "count my tokens")
    expect(last_message(page)).to_have_attribute("data-status", "completed")

    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("api-key-name").fill("Nightly report")
    page.get_by_test_id("api-key-scope-webhooks").uncheck()
    page.get_by_test_id("api-key-create").click()
    expect(page.get_by_test_id("api-key-value")).to_have_text(re.compile(r"^pk_[A-Za-z0-9]{40}$"))
    key = page.get_by_test_id("api-key-value").inner_text()
    shot(page, "settings-api-key")
    with browser_stack.client() as program:
        program.headers["Authorization"] = f"Bearer {key}"
        assert program.get("/api/dialogs").status_code == 200
        page.get_by_role("button", name="I saved it").click()
        expect(page.get_by_test_id("api-key-value")).to_have_count(0)  # shown once
        item = page.get_by_test_id("api-key-item")
        expect(item).to_contain_text(key[:10])
        expect(item).to_contain_text("chat, read")
        item.get_by_test_id("api-key-revoke").click()
        page.get_by_test_id("revoke-api-key-confirm").click()
        expect(page.get_by_test_id("api-key-item")).to_have_count(0)
        assert program.get("/api/dialogs").json()["code"] == "invalid_api_key"

    page.get_by_test_id("nav-usage").click()
    expect(page.get_by_test_id("usage-bar")).to_have_count(1)
    expect(page.get_by_test_id("usage-total-messages")).to_have_text("1")
    expect(page.get_by_test_id("budget-card")).to_contain_text("No monthly limit")
    shot(page, "usage")

    staff_page = browser.new_context(base_url=browser_stack.url).new_page()
    sign_in(staff_page, Account(make_superuser(browser_stack), "staff", STAFF_PASSWORD))
    staff_page.get_by_test_id("nav-admin").click()
    staff_page.get_by_test_id("admin-search").fill(account.username)
    staff_page.get_by_role("button", name="Search").click()
    expect(staff_page.get_by_test_id("admin-user")).to_have_count(1)
    staff_page.get_by_test_id("admin-budget-toggle").click()
    staff_page.get_by_test_id("admin-budget-input").fill("1")
    staff_page.get_by_test_id("admin-budget-save").click()
    expect(staff_page.get_by_test_id("admin-budget-state")).to_contain_text("of 1 tokens")
    expect(staff_page.get_by_test_id("admin-usage-users")).to_contain_text(account.username)
    shot(staff_page, "admin", full_page=True)
    staff_page.context.close()

    page.get_by_test_id("new-chat").click()
    send(page, "one more")
    expect(page.get_by_test_id("send-error")).to_contain_text("monthly budget of 1 tokens")
    expect(page.get_by_test_id("send-retry")).to_have_count(0)
    page.get_by_test_id("send-see-usage").click()
    expect(page.get_by_test_id("budget-text")).to_contain_text("of 1 tokens used")
    watch.assert_clean(page, SIGNED_OUT_LOAD, (429, "dialogs"))


def test_agents_page_and_addressing_an_agent_from_the_keyboard(
    watched: tuple[Page, Watch], browser_stack: Stack, model_server: tuple[ModelServer, str]
) -> None:
    """Make an agent on the Agents page, chat with it, then address another with `@`."""
    page, watch = watched
    _, model_url = model_server
    httpx.post(f"{model_url}/_control", json={"reply": "In verse I answer."}).raise_for_status()
    account = new_account("agents")
    register_by_api(browser_stack, account)
    sign_in(page, account)

    page.get_by_test_id("nav-agents").click()
    expect(page).to_have_url(re.compile(r"/agents$"))
    expect(page.get_by_test_id("agent-item")).to_have_count(1)  # the built-in assistant
    page.get_by_test_id("agent-new").click()
    page.get_by_test_id("agent-name").fill("Poet")
    page.get_by_test_id("agent-handle").fill("Poet!")  # refused by the server, on the field
    page.get_by_test_id("agent-instructions").fill("Answer in rhyming couplets.")
    page.get_by_test_id("agent-save").click()
    expect(page.get_by_test_id("agent-handle-error")).to_be_visible()
    page.get_by_test_id("agent-handle").fill("poet")
    page.get_by_test_id("agent-save").click()
    expect(page.get_by_test_id("agent-form")).to_have_count(0)
    expect(page.get_by_test_id("agent-item")).to_have_count(2)
    page.get_by_test_id("agent-search").fill("@po")
    expect(page.get_by_test_id("agent-item")).to_have_count(1)
    # an avatar, with the same rules as a user's, shown in the list from this origin
    page.get_by_test_id("agent-edit").click()
    page.get_by_test_id("agent-avatar-input").set_input_files(
        files=[{"name": "poet.png", "mimeType": "image/png", "buffer": _png(64, 64, (40, 90, 220))}]
    )
    expect(page.get_by_test_id("agent-avatar-remove")).to_be_visible()
    page.get_by_test_id("agent-save").click()
    listed = page.get_by_test_id("agent-item").locator("img")
    expect(listed).to_have_attribute("src", re.compile(r"^/api/agents/avatars/"))
    shot(page, "agents")
    page.get_by_test_id("agent-item").get_by_test_id("agent-chat").click()

    expect(page.get_by_test_id("welcome-title")).to_have_text("Chatting with Poet")
    send(page, "write about the sea")
    expect(last_message(page)).to_have_attribute("data-status", "completed")
    expect(last_message(page).get_by_test_id("answer-author")).to_have_text("Poet")
    expect(last_message(page).locator(".turn--assistant img.avatar")).to_be_visible()
    asked = httpx.get(f"{model_url}/_control/requests").json()[-1]
    assert asked["messages"][0] == {"role": "system", "content": "Answer in rhyming couplets."}

    # `@` opens the list; the keyboard picks, Enter completes the handle, Enter again sends
    composer = page.get_by_test_id("composer-input")
    composer.press_sequentially("@as")
    expect(page.get_by_test_id("mention-option")).to_have_text(["Assistant @assistant"])
    composer.press("Enter")
    expect(composer).to_have_value("@assistant ")
    composer.press_sequentially("explain it")
    composer.press("Enter")
    expect(page.get_by_test_id("message-item")).to_have_count(2)
    expect(last_message(page)).to_have_attribute("data-status", "completed")
    expect(last_message(page).get_by_test_id("answer-author")).to_have_text("Assistant")
    asked = httpx.get(f"{model_url}/_control/requests").json()[-1]
    assert asked["messages"][-1] == {"role": "user", "content": "explain it"}
    assert asked["messages"][-2]["name"] == "poet"  # the poet's answer, named as the poet's

    # the chat's own instructions follow the agent's
    page.get_by_test_id("dialog-instructions").click()
    page.get_by_test_id("dialog-instructions-input").fill("Keep it short.")
    page.get_by_test_id("dialog-instructions-save").click()
    expect(page.get_by_test_id("dialog-instructions-dialog")).not_to_be_visible()
    send(page, "once more")
    expect(page.get_by_test_id("message-item")).to_have_count(3)
    expect(last_message(page)).to_have_attribute("data-status", "completed")
    expect(last_message(page).get_by_test_id("answer-author")).to_have_text("Poet")
    asked = httpx.get(f"{model_url}/_control/requests").json()[-1]
    assert asked["messages"][:2] == [
        {"role": "system", "content": "Answer in rhyming couplets."},
        {"role": "system", "content": "Keep it short."},
    ]
    shot(page, "agents-chat")
    watch.assert_clean(page, SIGNED_OUT_LOAD, (422, "agents"))


def test_mobile_viewport_has_a_drawer(
    new_context: Any, browser_stack: Stack, model: ModelServer
) -> None:
    """360 px wide: no sideways scrolling, the sidebar is a drawer that closes on navigation."""
    context = new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    watch = Watch.start(context, browser_stack.url)
    page = context.new_page()
    account = new_account("mobile")
    register_by_api(browser_stack, account)
    page.goto("/login")
    shot(page, "mobile-login")
    sign_in(page, account)

    sidebar = page.get_by_test_id("sidebar")
    expect(sidebar).not_to_be_in_viewport()
    expect(page.get_by_test_id("open-sidebar")).to_be_visible()
    model.behaviour.reply = "A **short** answer that fits a phone screen, wrapped over lines."
    send(page, "Hello from a phone")
    expect(last_message(page)).to_have_attribute("data-status", "completed")
    expect(answer_of(page).locator("strong")).to_have_text("short")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "mobile-chat")
    dialog_url = page.url

    page.get_by_test_id("open-sidebar").tap()
    expect(sidebar).to_be_in_viewport()
    expect(page.get_by_test_id("dialog-item")).to_have_count(1)
    expect(page.locator("main")).to_have_attribute("inert", "")
    page.wait_for_timeout(250)  # the drawer's slide-in transition
    shot(page, "mobile-drawer")
    page.get_by_test_id("close-sidebar").tap()
    expect(sidebar).not_to_be_in_viewport()
    expect(page.locator("main")).not_to_have_attribute("inert", "")

    page.get_by_test_id("open-sidebar").tap()
    page.get_by_test_id("new-chat").tap()
    expect(page).to_have_url(re.compile(r"/chats$"))
    expect(sidebar).not_to_be_in_viewport()
    page.get_by_test_id("open-sidebar").tap()
    page.get_by_test_id("dialog-link").tap()
    expect(page).to_have_url(dialog_url)
    expect(sidebar).not_to_be_in_viewport()
    expect(page.get_by_test_id("message-item")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    watch.assert_clean(page, SIGNED_OUT_LOAD)


def test_drawer_moves_focus_in_and_back_from_the_keyboard(
    new_context: Any, browser_stack: Stack
) -> None:
    context = new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    account = new_account("keys")
    register_by_api(browser_stack, account)
    sign_in(page, account)
    page.get_by_test_id("open-sidebar").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("sidebar")).to_be_in_viewport()
    expect(page.get_by_test_id("new-chat")).to_be_focused(timeout=2000)
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("sidebar")).not_to_be_in_viewport()
    expect(page.get_by_test_id("open-sidebar")).to_be_focused(timeout=2000)


HOSTILE_QUESTION = "<img src=x onerror=\"window.__pwned='question'\"> hi"
HOSTILE = """Here you go.

<script>window.__pwned = "script"</script>

<img src="http://tracker.invalid/raw.gif" onerror="window.__pwned = 'onerror'">

<svg onload="window.__pwned = 'svg'"></svg><iframe src="http://tracker.invalid/frame"></iframe>

[click me](javascript:window.__pwned='link'), [upper](JaVaScRiPt:window.__pwned='upper'),
[entity](&#106;avascript:window.__pwned='entity'), [tabbed](java&#9;script:window.__pwned='tab'),
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==), [vb](vbscript:msgbox(1)),
<javascript:window.__pwned='autolink'> and [a real site](https://example.invalid/page).

![tracking pixel](http://tracker.invalid/pixel.png)
"""


@pytest.mark.parametrize("csp", ["enforced", "bypassed"])
def test_hostile_answer_runs_nothing_and_loads_nothing(
    new_context: Any, browser_stack: Stack, model: ModelServer, csp: str
) -> None:
    """Scripts, handlers, javascript:/data: links and an external image, in a model's answer.

    With the gateway's CSP, and with the CSP switched off to show the renderer is safe alone.
    """
    context = new_context(bypass_csp=csp == "bypassed")
    watch = Watch.start(context, browser_stack.url)
    page = context.new_page()
    account = new_account("hostile")
    register_by_api(browser_stack, account)
    sign_in(page, account)
    model.behaviour.reply = HOSTILE
    send(page, HOSTILE_QUESTION)
    expect(last_message(page)).to_have_attribute("data-status", "completed")
    body = answer_of(page)
    expect(body).to_contain_text('<script>window.__pwned = "script"</script>')  # shown, as text
    expect(last_message(page).get_by_test_id("message-text")).to_have_text(HOSTILE_QUESTION)

    # the Markdown renderer has run (its lazy chunk loaded): the image became a placeholder
    placeholder = body.get_by_test_id("image-placeholder")
    expect(placeholder).to_contain_text("Load image from tracker.invalid")
    dangerous = body.evaluate(
        """(root) => {
        const found = [];
        for (const el of root.querySelectorAll("*")) {
          const tag = el.tagName.toLowerCase();
          const active = ["script", "iframe", "object", "embed", "frame", "style"];
          if (active.includes(tag)) found.push(tag);
          if (tag === "svg" && !el.closest('[data-testid="image-placeholder"]')) found.push(tag);
          for (const attr of el.attributes) {
            if (attr.name.startsWith("on")) found.push(`${el.tagName}[${attr.name}]`);
            if (/^\\s*(javascript|data|vbscript):/i.test(attr.value)) {
              found.push(`${el.tagName}[${attr.name}]=${attr.value}`);
            }
          }
          if (tag === "img") found.push(`img ${el.src}`);
        }
        return found;
      }"""
    )
    assert dangerous == []
    external = body.get_by_role("link", name="a real site")
    expect(external).to_have_attribute("href", "https://example.invalid/page")
    expect(external).to_have_attribute("target", "_blank")
    expect(external).to_have_attribute("rel", re.compile(r"(?=.*\bnoopener\b)(?=.*\bnoreferrer\b)"))

    # the dropped links are plain text; clicking them does nothing
    for name in ("click me", "upper", "entity", "data", "vb"):
        body.get_by_text(name, exact=True).click()
    body.get_by_text("window.__pwned='autolink'", exact=False).click()
    # the tab is percent-encoded by the Markdown parser: a harmless same-origin path remains
    expect(body.get_by_role("link", name="tabbed")).to_have_attribute(
        "href", re.compile("^" + re.escape(browser_stack.url) + "/java%09script:")
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert len(context.pages) == 1  # no link opened anything
    assert watch.foreign_requests() == []
    shot(page, f"hostile-answer-csp-{csp}")
    watch.assert_clean(page, SIGNED_OUT_LOAD)

    # only a click asks for the external image; then the CSP (when on) still refuses it
    placeholder.click()
    expect(body.get_by_test_id("image-failed")).to_be_visible()
    pixel = "http://tracker.invalid/pixel.png"
    assert set(watch.foreign_requests()) == {pixel}
    if csp == "enforced":
        assert watch.escaped == []
        assert set(csp_violations(page)) == {f"img-src {pixel}"}
        assert {r.failure for r in watch.requests if r.url == pixel} == {"csp"}
    else:
        assert set(watch.escaped) == {pixel}
    assert page.evaluate("window.__pwned") is None


def _initial_assets() -> tuple[dict[str, int], int]:
    """gzip sizes of what index.html loads up front, and of every JS/CSS asset."""
    dist = REPO / "web" / "dist"
    html = (dist / "index.html").read_text()
    upfront = re.findall(r'(?:src|href)="/(assets/[^"]+\.(?:js|css))"', html)
    sizes = {name: len(gzip.compress((dist / name).read_bytes(), 9)) for name in upfront}
    total = sum(
        len(gzip.compress(p.read_bytes(), 9))
        for p in (dist / "assets").iterdir()
        if p.suffix in (".js", ".css")
    )
    return sizes, total


FIRST_RENDER = """
window.__marks = {};
new MutationObserver(() => {
  for (const id of ["composer-input", "current-user", "app-loading"]) {
    if (!window.__marks[id] && document.querySelector(`[data-testid="${id}"]`)) {
      window.__marks[id] = performance.now();
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


def test_time_to_first_render_of_chats(watched: tuple[Page, Watch], browser_stack: Stack) -> None:
    """Signed in, a fresh load of /chats until the composer shows (restoring the session first)."""
    page, watch = watched
    account = new_account("timing")
    register_by_api(browser_stack, account)
    sign_in(page, account)
    page.context.add_init_script(FIRST_RENDER)
    samples = []
    for _ in range(5):
        page.goto("/chats")
        expect(page.get_by_test_id("composer-input")).to_be_visible()
        marks = page.evaluate(
            """() => new Promise((resolve) => {
              const done = (fcp) => resolve({
                ...window.__marks,
                fcp,
                dcl: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
              });
              new PerformanceObserver((list) => {
                const entry = list.getEntriesByName("first-contentful-paint")[0];
                if (entry) done(entry.startTime);
              }).observe({ type: "paint", buffered: true });
              setTimeout(() => done(null), 2000);
            })"""
        )
        samples.append(marks)
    composer = statistics.median(s["composer-input"] for s in samples)
    fcp = statistics.median(s["fcp"] for s in samples if s["fcp"] is not None)
    upfront, total = _initial_assets()
    metrics = {
        "first_render_of_chats_ms": {
            "composer_visible_median": round(composer, 1),
            "first_contentful_paint_median": round(fcp, 1),
            "samples": samples,
        },
        "bundle_gzip_bytes": {
            "initial": upfront,
            "initial_total": sum(upfront.values()),
            "all_js_css": total,
        },
    }
    out = SCREENSHOTS.parent / "browser-metrics.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2))
    print(
        f"\n/chats first render: composer after {composer:.0f} ms (median), FCP {fcp:.0f} ms; "
        f"initial bundle {sum(upfront.values()) / 1024:.1f} kB gzip, all {total / 1024:.1f} kB"
    )
    assert composer < 3000
    # one refresh per load restores the session: nothing signs the user out on reload
    assert len(watch.api_calls("POST", "auth/refresh")) == 1 + 5
    watch.assert_clean(page, SIGNED_OUT_LOAD)


def test_refresh_token_rotation_during_use(
    aging_session: AgingSession, browser_stack: Stack, model: ModelServer
) -> None:
    """The session signed in when the module started has a dead access token by now. The next
    actions meet 401s, the app refreshes once through the cookie (which rotates), retries, and the
    user carries on without noticing."""
    session = aging_session
    page, watch = session.page, session.watch
    left = session.signed_in_at + TOKEN_DEAD_AFTER - time.monotonic()
    if left > 0:
        time.sleep(left)
    cookie_before = refresh_cookie(session.context)
    assert cookie_before
    seen_requests, seen_responses = len(watch.requests), len(watch.responses)
    # only the signed-out first load refreshed: nothing happened behind the user's back
    assert len(watch.api_calls("POST", "auth/refresh")) == 1

    # settings asks for several things at once, all with the dead token
    page.bring_to_front()
    page.get_by_test_id("nav-settings").click()
    expect(page.get_by_test_id("session-item")).to_have_count(2)  # with the registering API call
    expect(page.get_by_test_id("webhook-form")).to_be_visible()
    # then back to the chat, and a new answer
    model.behaviour.reply = "after the refresh"
    page.get_by_test_id("dialog-link").click()
    expect(page.get_by_test_id("message-item")).to_have_count(1)
    send(page, "still there?")
    expect(page.get_by_test_id("message-item")).to_have_count(2)
    expect(last_message(page)).to_have_attribute("data-status", "completed")
    expect(answer_of(page)).to_have_text("after the refresh")
    expect(page).not_to_have_url(re.compile("/login"))

    responses = watch.responses[seen_responses:]
    refreshes = [r for r in responses if r.url.endswith("/api/auth/refresh")]
    assert [r.status for r in refreshes] == [200]  # one refresh for every waiting request
    refused = [r for r in responses if r.status == 401]
    # settings loads its sessions and webhooks at once: both refused, both waited for one refresh
    assert len(refused) >= 2, "the old access token was still accepted"
    assert all(r.json()["code"] == "token_expired" for r in refused)
    for r in refused:  # each refused request went again, after the refresh, and succeeded
        retried = [
            o
            for o in responses[responses.index(r) + 1 :]
            if o.url == r.url and o.request.method == r.request.method
        ]
        assert retried, r.url
        assert 200 <= retried[0].status < 300, r.url
    new_calls = watch.requests[seen_requests:]
    assert any(c.method == "POST" and c.url.endswith("/messages") for c in new_calls)

    cookie_after = refresh_cookie(session.context)
    assert cookie_after
    assert cookie_after != cookie_before  # the refresh token rotated
    watch.assert_clean(page, SIGNED_OUT_LOAD, (401, ".*"))
