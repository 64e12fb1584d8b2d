"""A location whose asset uses a resource that notes its lifecycle in a file (run config)."""

import os

from pydantic import PrivateAttr

from codeloc import ConfigurableResource, Definitions, asset


class Noted(ConfigurableResource):
    log: str = ""
    fail_setup: bool = False
    _opened: str = PrivateAttr(default="")

    def _note(self, what: str) -> None:
        with open(self.log, "a") as f:
            f.write(f"{what} {os.getpid()}\n")

    def setup_for_execution(self, context: object) -> None:
        self._note("setup")
        if self.fail_setup:
            raise ConnectionError("warehouse unreachable")
        self._opened = "opened"

    def teardown_after_execution(self, context: object) -> None:
        self._note("teardown")


@asset
def noted(warehouse: Noted) -> str:
    warehouse._note(f"asset-{warehouse._opened}")
    return warehouse._opened


defs = Definitions(assets=[noted], resources={"warehouse": Noted()})
