"""The development cluster's simulated nodes: kubelets that pull images and run containers as local processes.

Pull secrets are read and matched by the node's own keyring (`dockerconfig`, `keyring`, `globs`), written after
the kubelet's credentialprovider and independent of the product's registry code, so it can judge that code.
Pod addresses and hosts files (`POD_IP`, `DEVCLUSTER_HOSTS_FILE`) are in `network`.
"""
