"""The node image cache: which private images sit on which node, and the guard that keeps them from leaking.

`rules` is pure (no I/O); `index` keeps the Redis copy of every node's `status.images`.
"""
