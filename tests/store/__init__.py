"""Tests of pipeline_queue.store."""
