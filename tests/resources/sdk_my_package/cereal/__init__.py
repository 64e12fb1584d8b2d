"""Cereal assets, spread over submodules and a nested subpackage."""
