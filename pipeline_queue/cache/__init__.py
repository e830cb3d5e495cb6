"""The node image cache: which private images sit on which node, and the guard that keeps them from leaking.

`rules` and `guard` are pure (no I/O): what is private, what to do before a step pod exists, what is a leak;
`index` keeps the Redis copy of every node's `status.images` and the credentialed pulls; `service` is what
`advance` reads for the guard and how it records what the guard found; `probe` asks registries anonymously.
"""
