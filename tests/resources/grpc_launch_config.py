"""A location whose resource is configured at launch and whose asset has classic config."""

from codeloc import AssetExecutionContext, ConfigurableResource, Definitions, asset


class Warehouse(ConfigurableResource):
    url: str


@asset(config_schema={"n": int})
def counted(context: AssetExecutionContext, warehouse: Warehouse) -> str:
    return f"{warehouse.url}:{context.op_config['n']}"


defs = Definitions(assets=[counted], resources={"warehouse": Warehouse.configure_at_launch()})
