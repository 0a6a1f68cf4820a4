"""`parley`: run and administer a Parley installation (docs/DESIGN.md §7)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from kit import providers
from kit.providers import exit_on_bad_providers_file
from parley import stack, supervisor


def cmd_up(_: argparse.Namespace) -> int:
    stack.raise_open_file_limit()
    procs, env = stack.plan()
    if providers_file := env.get("PARLEY_PROVIDERS_FILE"):
        # a file every process would refuse stops here, said once, before anything starts
        exit_on_bad_providers_file("parley", lambda: providers.load(providers_file))
    os.environ.update({k: v for k, v in env.items() if k.startswith("PARLEY_")})
    run = supervisor.Supervisor(procs, env)
    return asyncio.run(run.run(env["PARLEY_PUBLIC_URL"]))


def cmd_migrate(_: argparse.Namespace) -> int:
    from auth_service.config import Settings as AuthSettings
    from auth_service.main import MIGRATIONS as AUTH_MIGRATIONS
    from chat_service.config import Settings as ChatSettings
    from chat_service.main import MIGRATIONS as CHAT_MIGRATIONS
    from kit.migrations import upgrade

    upgrade(AuthSettings().database_url, AUTH_MIGRATIONS)
    upgrade(ChatSettings().database_url, CHAT_MIGRATIONS)
    print("migrations applied")
    return 0


def cmd_createsuperuser(args: argparse.Namespace) -> int:
    from parley.admin import create_superuser

    email = args.email or input("Email: ")
    username = args.username or input("Username: ")
    password = os.environ.get("PARLEY_SUPERUSER_PASSWORD") or getpass.getpass("Password: ")
    try:
        asyncio.run(create_superuser(email, username, password))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"superuser {email} created")
    return 0


def cmd_mailer(args: argparse.Namespace) -> int:
    from mailer import admin
    from mailer.config import settings

    if args.mailer_command == "dead-letters":
        for letter in admin.list_dead_letters(settings.broker_url):
            print(letter)
        return 0
    count = admin.replay(settings.broker_url, args.ids or None)
    print(f"replayed {count} event(s)")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="parley", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start every process in the foreground").set_defaults(fn=cmd_up)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)
    su = sub.add_parser("createsuperuser", help="create a staff account (confirmed)")
    su.add_argument("--email")
    su.add_argument("--username")
    su.set_defaults(fn=cmd_createsuperuser)
    mail = sub.add_parser("mailer", help="the mailer's dead letters")
    mail_sub = mail.add_subparsers(dest="mailer_command", required=True)
    mail_sub.add_parser("dead-letters", help="list mail events that could not be sent")
    replay = mail_sub.add_parser("replay", help="send dead letters again (all, or the ids given)")
    replay.add_argument("ids", nargs="*")
    mail.set_defaults(fn=cmd_mailer)
    args = parser.parse_args(argv)
    sys.exit(args.fn(args))
