"""``ResourceParam[T]``: a parameter so annotated is the resource of its name, a plain object."""

import pytest

from codeloc import (
    AssetExecutionContext,
    Definitions,
    ResourceParam,
    UnknownResourceError,
    asset,
    build_asset_context,
    graph_asset,
    materialize,
    op,
)


class Client:
    """A plain object, not a ConfigurableResource: the reason ResourceParam exists."""

    def __init__(self, base: int = 40) -> None:
        self.base = base

    def get(self) -> int:
        return self.base + 2


@asset
def fetched(client: ResourceParam[Client]) -> int:
    return client.get()


@asset
def doubled(context: AssetExecutionContext, fetched: int, client: ResourceParam[Client]) -> int:
    assert context.resources.client is client
    return fetched + client.get()


def test_the_parameter_is_a_resource_not_an_upstream_asset() -> None:
    assert fetched.required_resource_keys == {"client"}
    assert doubled.required_resource_keys == {"client"}
    assert dict(doubled.keys_by_input_name) == {"fetched": fetched.key}
    assert fetched.dependency_keys == frozenset()


def test_definitions_give_the_plain_object() -> None:
    defs = Definitions(assets=[fetched, doubled], resources={"client": Client()})

    result = defs.get_implicit_global_asset_job_def().execute_in_process()

    assert (result.asset_value("fetched"), result.asset_value("doubled")) == (42, 84)


def test_materialize_gives_the_plain_object() -> None:
    result = materialize([fetched, doubled], resources={"client": Client(base=0)})
    assert result.asset_value("doubled") == 4


def test_a_missing_resource_is_refused_naming_it() -> None:
    with pytest.raises(UnknownResourceError, match=r"asset 'fetched'.*'client'"):
        Definitions(assets=[fetched])
    with pytest.raises(UnknownResourceError, match="'client'"):
        materialize([fetched])


def test_direct_invocation_takes_the_resource_as_an_argument_or_from_the_context() -> None:
    assert fetched(client=Client(base=1)) == 3
    context = build_asset_context(resources={"client": Client(base=2)})
    assert doubled(context, fetched=1) == 5
    with pytest.raises(UnknownResourceError, match="asset 'fetched' requires resource 'client'"):
        fetched()


def test_a_string_annotation_is_read_as_well() -> None:
    @asset
    def postponed(client: "ResourceParam[Client]") -> int:
        return client.get()

    assert postponed.required_resource_keys == {"client"}
    assert materialize([postponed], resources={"client": Client()}).asset_value("postponed") == 42


def test_an_op_parameter_is_a_resource_too() -> None:
    @op
    def read(client: ResourceParam[Client]) -> int:
        return client.get()

    @graph_asset
    def through_op():
        return read()

    result = materialize([through_op], resources={"client": Client(base=8)})
    assert result.asset_value("through_op") == 10
