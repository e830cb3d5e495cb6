"""The development cluster: a small Kubernetes (API server, scheduler, simulated kubelets) for development and tests.

`DevCluster` in `cluster.py` wires it together; `Store` in `store.py` is the in-process API the parts share.
"""
