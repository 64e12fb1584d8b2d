"""A location whose assets are stored by a user IO manager writing JSON files (run config
says where), one loaded by an input manager that fails."""

import json
import os
from pathlib import Path
from typing import Any

from codeloc import (
    AssetIn,
    ConfigurableIOManager,
    Definitions,
    InputContext,
    IOManager,
    OutputContext,
    asset,
)


class JsonFiles(ConfigurableIOManager):
    base: str = ""

    def _path(self, key: Any) -> Path:
        return Path(self.base, *key.path).with_suffix(".json")

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "value": obj,
            "pid": os.getpid(),
            "name": context.name,
            "step_key": context.step_key,
            "run_id": context.run_id,
            # Definition metadata as given (a typed value's own value, where it is wrapped).
            "metadata": {k: getattr(v, "value", v) for k, v in context.definition_metadata.items()},
            "resource_config": context.resource_config,
        }
        path.write_text(json.dumps(record))
        context.add_output_metadata({"path": str(path)})

    def load_input(self, context: InputContext) -> Any:
        assert context.upstream_output is not None
        upstream = context.upstream_output
        record = json.loads(self._path(upstream.asset_key).read_text())
        with open(Path(self.base, "loads.txt"), "a") as f:
            f.write(f"{context.name} {context.asset_key.to_user_string()} {os.getpid()}\n")
        return record["value"]


class Unreadable(IOManager):
    def handle_output(self, context: OutputContext, obj: Any) -> None:
        raise AssertionError("an input manager stores nothing")

    def load_input(self, context: InputContext) -> Any:
        raise OSError("the archive is offline")


@asset(metadata={"owner": "sales"})
def orders() -> list[int]:
    return [3, 4]


@asset
def total(orders: list[int]) -> int:
    return sum(orders)


@asset(ins={"orders": AssetIn(input_manager_key="archive")})
def archived(orders: list[int]) -> int:
    return len(orders)


defs = Definitions(
    assets=[orders, total, archived],
    resources={"io_manager": JsonFiles(), "archive": Unreadable()},
)
