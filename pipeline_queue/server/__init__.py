"""`serve`: the HTTP face of pipeline-queue (webhooks, the API, health and metrics), on Starlette and uvicorn.

`app.create_app(services)` builds the ASGI application from the routes of `health`, `hooks`, `api` and `metrics`;
each module owns its routes and reads what it needs from `Services`.
"""
