"""The Celery side of pipeline-queue: the app, its thin tasks, the beat schedule and queue routing.

`app` is the entry module (`celery -A workers.app worker`, or `pipeline-queue worker`); `tasks` defines the
tasks on it; `resources` is what each worker process opens once; `enqueue` is how anyone sends `advance`.
"""
