"""The development cluster's API server: the in-process `Store`, its HTTP front and the Kubernetes object rules.

Controllers and nodes reach the cluster only through `store.Store`, and write events and pod conditions with
`recorder` and `conditions`; nothing here imports them.
"""
