"""Delivering committed domain events: the bus that hands each to its handlers, the dispatcher that
claims them from the table, and the registry that says who handles what."""
