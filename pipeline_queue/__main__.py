"""`python -m pipeline_queue` is the `pipeline-queue` command."""

from pipeline_queue.cli import main

main()
