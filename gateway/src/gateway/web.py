"""Serving the built web UI (`web/dist`): hashed assets cached for a year, index.html for routes."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, Response

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Parley</title></head><body><h1>Parley</h1>
<p>The web UI has not been built. Run <code>make run</code> with Node.js installed,
or use the API at <a href="/api/docs">/api/docs</a>.</p></body></html>"""


def serve(web_dir: Path, path: str) -> Response:
    root = web_dir.resolve()
    index = root / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT)
    candidate = (root / path.lstrip("/")).resolve()
    if candidate.is_file() and candidate.is_relative_to(root):
        immutable = candidate.parent.name == "assets"
        headers = {
            "Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"
        }
        return FileResponse(candidate, headers=headers)
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
