"""Serving the built web UI (`web/dist`): hashed assets cached for a year, index.html for routes."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, Response

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Parley</title></head><body><h1>Parley</h1>
<p>The web UI has not been built. Run <code>make run</code> with Node.js installed,
or use the API at <a href="/api/docs">/api/docs</a>.</p></body></html>"""


# Paths that belong to services or operators, never to the app: the app's index.html must not
# answer them with a 200 (scanners and health checks would believe they exist).
RESERVED_PREFIXES = ("internal", "metrics", "api", "v1", "dev", ".well-known", "assets")


def is_reserved(path: str) -> bool:
    """True for a path the app fallback must not answer (a missing asset included: a stale
    hashed asset must fail loudly rather than load index.html as JavaScript)."""
    first = path.lstrip("/").split("/", 1)[0]
    return first in RESERVED_PREFIXES


def serve(web_dir: Path, path: str) -> Response | None:
    """The file, or index.html for an app route; None (a 404) for a reserved path."""
    root = web_dir.resolve()
    index = root / "index.html"
    candidate = (root / path.lstrip("/")).resolve()
    if candidate.is_file() and candidate.is_relative_to(root):
        immutable = candidate.parent.name == "assets"
        headers = {
            "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"
        }
        return FileResponse(candidate, headers=headers)
    if is_reserved(path):
        return None
    if not index.is_file():
        return HTMLResponse(NOT_BUILT)
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
