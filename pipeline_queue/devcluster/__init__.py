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

At its edges it behaves like a real cluster, so kubectl works against it as against one:

- It speaks TLS with a certificate from an authority made at every start (`DevCluster.certificate_authority`,
  in the kubeconfig): kubectl sends a kubeconfig's token to https servers only. Plain HTTP on the same port is
  served too, for clients handed the address without TLS (`apiserver/tls.py`).
- Reads come back as kubectl asks: `Table`s with kube-apiserver's columns for `kubectl get` (`printing.py`,
  `tables.py`); `/openapi/v2` (JSON, or gnostic protobuf) and `/openapi/v3` from the official schemas for
  validation, `apply` and `explain` (`openapi.py`); server-side apply with field managers (`apply.py`).
- The API server answers only to the bearer token of the kubeconfig it wrote (`DevCluster.token`, new at every
  start): anything else gets a 401 Status, discovery included; /healthz, /livez and /readyz stay open, as
  kube-apiserver leaves them to anonymous users. It answers only to a Host header naming it on loopback
  (`localhost`, `127.0.0.1` or `[::1]` with its port), else 403: a browser page elsewhere cannot reach it by DNS
  rebinding (`apiserver/access.py`). Bodies are JSON, or protobuf for the kinds kubectl's typed clients send
  (`apiserver/protobuf.py`; else 415), of at most 3 MiB, kube-apiserver's default (else 413, sent before more
  than that is read); bad framing is a 400 (`apiserver/body.py`). exec, attach, port-forward and proxy answer a
  400 Status saying they are not supported here, and what to do instead.
- Every pod gets a loopback address of its own from 127.10.0.0/16 (`status.podIP`, and `POD_IP` in its
  containers' environment, bindable as is on Linux) and a hosts file with its `spec.hostAliases`, which the
  kubelet names in `DEVCLUSTER_HOSTS_FILE`: a local process cannot have its own /etc/hosts, so a step reads
  `${DEVCLUSTER_HOSTS_FILE:-/etc/hosts}` to find its service by name (`node/network.py`).
- Once a pod object is gone (graceful deletion and finalizers over), its folder (`data_dir/pods/<uid>`) and its
  logs (`data_dir/logs/<ns>_<pod>_<uid>`) are removed; a running or finished pod keeps them, and a claim's
  folder (`data_dir/volumes/<ns>/<claim>`) stays with the claim.
"""
