"""The Celery side of pipeline-queue: the app, its thin tasks, the beat schedule and queue routing.

Start a worker with `celery -A workers.app worker -Q control,default` or `pipeline-queue worker`.
"""
