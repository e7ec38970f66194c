"""The sales channels' wire formats: one module per kind, and the route and worker they share."""
