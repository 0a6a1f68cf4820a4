"""Account changes that must reach tokens already issued, through Redis (docs/DESIGN.md §3).

An access token is a snapshot of the account when it was signed. Two changes cannot wait for it
to expire (up to the access lifetime, 15 minutes):

- **a revoked session** (logout, password change, deactivation): auth sets
  `parley:revoked-session:{session_id}`, and the gateway refuses the session's tokens at once;
- **a confirmed email**: auth sets `parley:email-confirmed:{user_id}`, and chat treats the
  user's older tokens (which still say `email_confirmed: false`) as confirmed.

Each key lives as long as the longest-lived token it corrects (`ttl_seconds`); tokens signed
after the change carry it themselves.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

REVOKED_SESSION_KEY = "parley:revoked-session:{}"
EMAIL_CONFIRMED_KEY = "parley:email-confirmed:{}"


def revoked_session_key(session_id: uuid.UUID) -> str:
    return REVOKED_SESSION_KEY.format(session_id)


def email_confirmed_key(user_id: uuid.UUID) -> str:
    return EMAIL_CONFIRMED_KEY.format(user_id)


def ttl_seconds(access_lifetime: timedelta) -> int:
    """How long a correction must last: the access lifetime plus a minute of clock skew."""
    return int(access_lifetime.total_seconds()) + 60
