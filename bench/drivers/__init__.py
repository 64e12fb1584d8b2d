"""Scripts that run inside the measured interpreter, one measurement per process.

Each driver is run as a file (``python bench/drivers/NAME.py ...``) by the Tessera venv's
Python or by ``bench/.venv-dagster``'s, so it uses the standard library only and never imports
``bench``. It prints exactly one JSON object on its last line of stdout; the runner parses it.
"""
