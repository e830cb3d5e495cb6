"""Registry credential plugins, the edge: Drone's HTTP registry extension, the kubelet's exec credential providers
and Amazon ECR (boto3, optional), asked by the worker when a stage starts.

The rules (which images a plugin serves, what its answers mean, how long they are kept) are the domain's
(`pipeline_queue.registry`); only this package opens connections, runs providers or imports boto3.
"""
