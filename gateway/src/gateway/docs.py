"""`/api/docs`: Swagger UI for the merged OpenAPI document, served from the installed
`swagger-ui-bundle` wheel (no CDN, so it works offline and under the gateway's strict CSP)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter
from starlette.responses import FileResponse, HTMLResponse, Response

from kit.errors import NotFound

ASSETS = Path(swagger_ui_bundle.swagger_ui_path)
SERVED = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
    }
)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parley API</title>
<link rel="icon" href="/docs-assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs-assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<noscript><a href="/api/openapi.json">The OpenAPI document</a></noscript>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/docs-assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs-assets/init.js"></script></body></html>"""
INIT = """window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"});"""
# Swagger UI sets inline styles, so this page (and only this one) allows them
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
async def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": CSP})


@router.get("/docs-assets/{name}")
async def docs_asset(name: str) -> Response:
    if name == "init.js":
        return Response(INIT, media_type="text/javascript")
    if name not in SERVED:
        raise NotFound()
    return FileResponse(ASSETS / name, headers={"Cache-Control": "public, max-age=86400"})
