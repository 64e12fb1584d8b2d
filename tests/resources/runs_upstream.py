"""An upstream location whose asset fails."""

from codeloc import Definitions, asset


@asset
def upstream_fails() -> int:
    raise RuntimeError("upstream broke")


defs = Definitions(assets=[upstream_fails])
