"""The development cluster's controllers: the scheduler and the garbage collector, each a subscriber of the store."""
