"""The development mail catcher: an SMTP server that keeps every mail, and pages to read them.

`parley up` runs it when `SMTP_HOST` is unset, and the gateway proxies `/dev/mail*` to it:

- SMTP on 127.0.0.1:`--smtp-port` accepts any mail and stores it as an `.eml` file in `--dir`.
- `/dev/mail` lists the caught mail, newest first; `/dev/mail/{id}` shows one: subject, from, to,
  the HTML part (in a sandboxed iframe: no scripts, no forms, links open in a new tab), the text
  part and the links found in both; `/dev/mail/{id}.eml` is the raw message.
- `/dev/mail/api` returns `[{id, subject, to, from, date, text, html, links}]`, newest first
  (`?to=` keeps the mail whose To header contains the given text); `DELETE /dev/mail/api` clears.

    python -m parley_testing.mailcatcher --smtp-port 1025 --http-port 8025 --dir .parley/mail
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
_ID = re.compile(r"^\d{20}-[0-9a-f]{8}$")
_URL = re.compile(r"https?://[^\s<>\"'`]+")
_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: http: https:; "
    "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


@dataclass(frozen=True)
class CaughtMail:
    id: str
    subject: str
    to: str
    from_: str
    date: str
    text: str
    html: str
    links: list[str]

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("from_")
        return data


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def extract_links(text: str, html_body: str) -> list[str]:
    """http(s) links from the HTML's anchors and the text, in order of appearance, once each."""
    parser = _Hrefs()
    parser.feed(html_body)
    found = [h.strip() for h in parser.hrefs] + [m.rstrip(".,;:!?)]") for m in _URL.findall(text)]
    return list(dict.fromkeys(link for link in found if link.startswith(("http://", "https://"))))


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_type() != f"text/{subtype}":
        return ""
    try:
        content = str(part.get_content())
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content.replace("\r\n", "\n")


def parse_mail(mail_id: str, raw: bytes, received_at: float) -> CaughtMail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    try:
        date = parsedate_to_datetime(str(message["Date"])).astimezone(UTC)
    except (TypeError, ValueError):
        date = datetime.fromtimestamp(received_at, UTC)
    text, html_body = _part(message, "plain"), _part(message, "html")
    return CaughtMail(
        id=mail_id,
        subject=str(message.get("Subject", "")),
        to=str(message.get("To", "") or message.get("X-Original-To", "")),
        from_=str(message.get("From", "")),
        date=date.isoformat(),
        text=text,
        html=html_body,
        links=extract_links(text, html_body),
    )


class MailStore:
    """Caught mail as `<ns timestamp>-<random>.eml` files: names sort by arrival."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def save(self, raw: bytes, recipients: list[str]) -> str:
        mail_id = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        envelope = f"X-Original-To: {', '.join(recipients)}\r\n".encode()
        tmp = self.directory / f".{mail_id}.tmp"
        tmp.write_bytes(envelope + raw)
        os.replace(tmp, self.directory / f"{mail_id}.eml")
        return mail_id

    def ids(self) -> list[str]:
        """Newest first."""
        names = (path.stem for path in self.directory.glob("*.eml"))
        return sorted((name for name in names if _ID.match(name)), reverse=True)

    def raw(self, mail_id: str) -> bytes | None:
        if not _ID.match(mail_id):
            return None
        try:
            return (self.directory / f"{mail_id}.eml").read_bytes()
        except FileNotFoundError:
            return None

    def get(self, mail_id: str) -> CaughtMail | None:
        raw = self.raw(mail_id)
        if raw is None:
            return None
        return parse_mail(mail_id, raw, int(mail_id.split("-")[0]) / 1e9)

    def all(self) -> Iterator[CaughtMail]:
        for mail_id in self.ids():
            if (mail := self.get(mail_id)) is not None:
                yield mail

    def clear(self) -> None:
        for mail_id in self.ids():
            with contextlib.suppress(FileNotFoundError):
                (self.directory / f"{mail_id}.eml").unlink()


class CatchingHandler:
    """aiosmtpd handler: accept every mail and store it."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        await asyncio.to_thread(self.store.save, data, [str(r) for r in envelope.rcpt_tos])
        return "250 Message accepted for delivery"


# -- pages ----------------------------------------------------------------------------------

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1f2933; background: #f6f7f9; }
header { background: #3b3f99; color: #fff; padding: 12px 24px; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { padding: 16px 24px; max-width: 1100px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid #e5e7eb; }
td { vertical-align: top; }
th { font-size: 13px; color: #6b7280; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dt { color: #6b7280; } dd { margin: 0; }
iframe { width: 100%; height: 560px; border: 1px solid #d1d5db; background: #fff; }
pre { white-space: pre-wrap; background: #fff; border: 1px solid #d1d5db; padding: 12px; }
.empty { color: #6b7280; }
"""


def _page(title: str, body: str) -> HTMLResponse:
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        '<header><a href="/dev/mail">Parley · caught mail</a></header>'
        f"<main>{body}</main></body></html>"
    )
    return HTMLResponse(
        document,
        headers={
            "Content-Security-Policy": _PAGE_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def create_app(store: MailStore) -> Starlette:
    async def index(_: Request) -> Response:
        mails = await asyncio.to_thread(lambda: list(store.all()))
        if not mails:
            return _page("Caught mail", '<p class="empty">No mail yet.</p>')
        rows = "".join(
            f'<tr><td>{_e(m.date)}</td><td><a href="/dev/mail/{m.id}">'
            f"{_e(m.subject or '(no subject)')}</a></td>"
            f"<td>{_e(m.to)}</td><td>{_e(m.from_)}</td></tr>"
            for m in mails
        )
        return _page(
            "Caught mail",
            f"<h1>Caught mail ({len(mails)})</h1><table><thead><tr><th>Date</th><th>Subject</th>"
            f"<th>To</th><th>From</th></tr></thead><tbody>{rows}</tbody></table>",
        )

    async def detail(request: Request) -> Response:
        mail_id = request.path_params["mail_id"]
        if mail_id.endswith(".eml"):
            raw = await asyncio.to_thread(store.raw, mail_id.removesuffix(".eml"))
            if raw is None:
                return _page("Not found", "<p>No such mail.</p>")
            return Response(
                raw, media_type="message/rfc822", headers={"X-Content-Type-Options": "nosniff"}
            )
        mail = await asyncio.to_thread(store.get, mail_id)
        if mail is None:
            response = _page("Not found", "<p>No such mail.</p>")
            response.status_code = 404
            return response
        links = "".join(
            f'<li><a href="{_e(link)}" target="_blank" rel="noopener noreferrer">'
            f"{_e(link)}</a></li>"
            for link in mail.links
        )
        # No allow-scripts, allow-forms or allow-same-origin: the mail's HTML cannot run code,
        # post anything or read this page; its links open in a new tab.
        frame = (
            f'<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" title="HTML part" '
            f'srcdoc="{_e("<base target=_blank>" + mail.html)}"></iframe>'
            if mail.html
            else '<p class="empty">No HTML part.</p>'
        )
        none = '<p class="empty">None.</p>'
        body = (
            f"<h1>{_e(mail.subject or '(no subject)')}</h1><dl>"
            f"<dt>From</dt><dd>{_e(mail.from_)}</dd><dt>To</dt><dd>{_e(mail.to)}</dd>"
            f"<dt>Date</dt><dd>{_e(mail.date)}</dd>"
            f'<dt>Raw</dt><dd><a href="/dev/mail/{mail.id}.eml">{mail.id}.eml</a></dd></dl>'
            f"<h2>Links</h2>{f'<ul>{links}</ul>' if links else none}"
            f"<h2>HTML</h2>{frame}"
            f"<h2>Text</h2>{f'<pre>{_e(mail.text)}</pre>' if mail.text else none}"
        )
        return _page(mail.subject or "Mail", body)

    async def api(request: Request) -> Response:
        if request.method == "DELETE":
            await asyncio.to_thread(store.clear)
            return Response(status_code=204)
        to = request.query_params.get("to", "").lower()
        mails = await asyncio.to_thread(lambda: list(store.all()))
        return JSONResponse([m.public() for m in mails if to in m.to.lower()])

    async def api_one(request: Request) -> Response:
        mail = await asyncio.to_thread(store.get, request.path_params["mail_id"])
        if mail is None:
            return JSONResponse({"status": 404, "code": "not_found"}, status_code=404)
        return JSONResponse(mail.public())

    return Starlette(
        routes=[
            Route("/dev/mail", index),
            Route("/dev/mail/", index),
            Route("/dev/mail/api", api, methods=["GET", "DELETE"]),
            Route("/dev/mail/api/{mail_id}", api_one),
            Route("/dev/mail/{mail_id}", detail),
        ]
    )


# -- process --------------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: `serve()` owns SIGINT/SIGTERM for both servers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    smtp_port: int, http_port: int, directory: Path, *, host: str = "127.0.0.1"
) -> None:
    import signal

    store = MailStore(directory)
    loop = asyncio.get_running_loop()
    handler = CatchingHandler(store)
    smtp = await loop.create_server(
        partial(
            SMTP,
            handler,
            hostname="parley-mailcatcher",
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
        ),
        host=host,
        port=smtp_port,
    )
    web = _Server(
        uvicorn.Config(
            create_app(store), host=host, port=http_port, log_level="warning", lifespan="off"
        )
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(web, "should_exit", True))
    try:
        await web.serve()
    finally:
        smtp.close()
        await smtp.wait_closed()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="parley_testing.mailcatcher", description="The development mail catcher."
    )
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path(".parley/mail"))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.smtp_port, args.http_port, args.dir, host=args.host))


if __name__ == "__main__":
    main()
