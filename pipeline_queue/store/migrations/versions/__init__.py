"""One module per schema revision, applied in order by `pipeline_queue.store.migrate`."""
