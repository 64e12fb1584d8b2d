"""Scripts that run inside the measured interpreter.

Each driver is run as a file (``python bench/drivers/NAME.py ...``) by the Tessera venv's
Python or by ``bench/.venv-dagster``'s. Two kinds:

- one measurement per process (``define``, ``materialize``, ``snapshot_*``): standard library
  plus the side's own package, never ``bench``; it prints exactly one JSON object on its last
  line of stdout, which the runner parses;
- session drivers of the server workloads (``launch_*``, ``ingest_tessera``,
  ``catalog_tessera``): set a deployment up once, then take one measurement per command read
  from stdin (the protocol is in ``bench/session.py``). The Tessera ones share
  ``bench/drivers/_deploy.py`` (the Tessera side runs with the repository on ``PYTHONPATH``);
  the Dagster one is self-contained.
"""
