"""`python -m gateway`: serve the gateway with uvicorn on PARLEY_HOST:PARLEY_PORT.

Uvicorn's own proxy-header handling is switched off: by default it believes X-Forwarded-For from
127.0.0.1, and the gateway decides whom to believe itself (`PARLEY_TRUSTED_PROXIES`). Run it
this way, or pass `--no-proxy-headers` to `uvicorn gateway.main:app`.
"""

from __future__ import annotations

import uvicorn

from gateway.config import settings


def main() -> None:
    uvicorn.run(
        "gateway.main:app",
        host=settings.host,
        port=settings.port,
        proxy_headers=False,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()
