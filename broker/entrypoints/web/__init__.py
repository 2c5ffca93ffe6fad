"""The web UI for MASH staff: server-rendered pages under /ui (Jinja2 + vendored htmx).

`mount_web(app, settings)` adds the pages, the static files and the security headers to the
API's FastAPI app; the JSON API stays where it is.
"""

from __future__ import annotations

import importlib
import importlib.util

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from broker.config import Settings
from broker.entrypoints.web.core import HERE, WebUi
from broker.entrypoints.web.security import Csrf, UiSecurityHeaders

# Pages other features add: a module here with a `router` (see core.py), included when present.
OPTIONAL_PAGES = ("contacts", "timeliness", "notifications")


def mount_web(app: FastAPI, settings: Settings) -> None:
    from broker.entrypoints.web import enquiries, oidc, placeholders, session

    key = settings.web_csrf_key.get_secret_value().encode() if settings.web_csrf_key else None
    app.state.web = WebUi(csrf=Csrf(key), dev_sign_in=session.dev_sign_in_allowed(settings))
    app.include_router(session.router)
    app.include_router(oidc.router)
    app.include_router(enquiries.router)
    present = set()
    for name in OPTIONAL_PAGES:
        module_name = f"broker.entrypoints.web.{name}"
        if importlib.util.find_spec(module_name) is not None:
            app.include_router(importlib.import_module(module_name).router)
            present.add(name)
    app.include_router(placeholders.router_for(missing=set(OPTIONAL_PAGES) - present))
    app.mount("/ui/static", StaticFiles(directory=str(HERE / "static")), name="ui-static")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @app.get("/ui", include_in_schema=False)
    async def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    app.add_middleware(UiSecurityHeaders)
