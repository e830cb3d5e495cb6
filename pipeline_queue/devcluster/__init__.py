"""The development cluster: a small Kubernetes (API server, controllers, simulated nodes) for development and tests.

It stands apart from the product: of `pipeline_queue` it imports only the image grammar (`pipeline_queue.images`).
Its three halves meet only through the API server's in-process `Store`, as real components meet through the API:

- `apiserver/`: the store every part shares (objects, resourceVersions, watches), the REST front the official
  client speaks to, the object rules (schema, validation, defaults, deletion) and the Status errors; with the
  helpers components write through it (the event recorder, pod phases and conditions).
- `controllers/`: the scheduler and the garbage collector (with the namespace controller).
- `node/`: simulated kubelets: the pull decision against the simulated registries and the node's image cache,
  the kubelet's own credential keyring for pull secrets, and containers run as local processes.

`cluster.py` assembles them (`DevCluster`), `kubeconfig.py` points clients at it, and `errors.py` holds the
`DevClusterError` tree.
"""
