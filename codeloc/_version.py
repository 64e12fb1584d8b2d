"""The SDK version, reported by code locations."""

__version__ = "0.1.0"
