"""A location whose code fails to import."""

from codeloc import asset


@asset
def fine() -> int:
    return 1


raise RuntimeError("this module is broken on purpose")
