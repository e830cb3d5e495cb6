"""The pages people read in a browser: builds, a build with its logs, repositories, the node cache.

Server-rendered (Jinja2 templates, `templates/`), with one small script (`static/pages.js`) that follows server-sent
events for live status and logs; no build step. `routes.routes()` is what the app mounts. This package's `clock`
and `ansi` are pure and the command line shares them, so nothing heavy is imported here.
"""
