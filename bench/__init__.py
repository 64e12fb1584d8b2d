"""Tessera's benchmark: workloads measured on Tessera and on Dagster, side by side.

``python -m bench run [NAME...] [--quick]``; see ``bench/README.md``.
"""
