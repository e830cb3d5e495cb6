"""Reconciling a stage: read it with its pods (`service`), decide purely (`state`, `observe`), apply (`apply`).

`service.advance_stage` is what the Celery task calls. This file imports nothing, so that the pure modules
load without the database and the cluster client.
"""
