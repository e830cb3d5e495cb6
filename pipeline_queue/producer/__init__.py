"""The producer: an event becomes a build in the store (its plans and sealed Secrets) and `pq.advance` messages.

`submit.submit_text` does it for a pipeline file's text (`submit_file` for a file); `webhooks.receive_hook` for a
git host's delivery; `restart.restart_build` runs a build's stored file again; `tenants` says whose secrets and
trust apply; `cancel` cancels and approves builds; `dependencies` decides when a stage that waits on other
pipelines may run. This file imports nothing, so that the command line loads the producer's parts only when it
uses them.
"""
