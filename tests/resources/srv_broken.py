"""A code location whose code fails to import."""

raise RuntimeError("the warehouse credentials are missing")
