"""The ASGI application: every route of the server, one Starlette app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from pipeline_queue.server import api, health, hooks, metrics
from pipeline_queue.server.pages import routes as pages
from pipeline_queue.server.services import Services


def create_app(services: Services) -> Starlette:
    """The application serving `services`; routes find them in `request.app.state.services`."""
    routes: list[BaseRoute] = [*health.routes(), *hooks.routes(), *metrics.routes(), *api.routes(), *pages.routes()]
    app = Starlette(routes=routes)
    app.state.services = services
    return app
