"""Service-to-service calls: `/internal/*` routes demand `Bearer $PARLEY_INTERNAL_TOKEN`."""

from __future__ import annotations

import hmac

from kit.errors import Forbidden
from kit.jwt import bearer_token


def check_internal_token(authorization: str | None, expected: str) -> None:
    token = bearer_token(authorization)
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden("This route is for Parley's own services.")
