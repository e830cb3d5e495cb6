"""The producer: an event becomes a build in the store, its Secrets in Kubernetes and `pq.advance` messages.

`submit.submit_file` does all three for a pipeline file; `tenants` says whose secrets and trust apply;
`cancel.cancel_build` stops a build; `dependencies` decides when a stage that waits on other pipelines may run.
This file imports nothing, so that the command line loads the producer's parts only when it uses them.
"""
