"""``DataVersion`` given by an asset through ``Output`` or ``MaterializeResult``."""

import pytest

from codeloc import AssetKey, DataVersion, MaterializeResult, Output, asset, materialize


def recorded(result) -> dict[str, tuple[str | None, str | None]]:
    """Per asset: the data version of its materialization, and the tag that carries it."""
    return {
        e.materialization.asset_key.to_user_string(): (
            e.materialization.data_version,
            e.materialization.tags.get("tessera/data_version"),
        )
        for e in result.get_asset_materialization_events()
    }


def test_an_output_data_version_is_recorded_and_feeds_downstream() -> None:
    def build(version: str):
        @asset
        def source():
            return Output(1, data_version=DataVersion(version))

        @asset(code_version="1")
        def derived(source):
            return source + 1

        return [source, derived]

    first = recorded(materialize(build("etag-1")))
    again = recorded(materialize(build("etag-1")))
    changed = recorded(materialize(build("etag-2")))

    assert first["source"] == ("etag-1", "etag-1")
    assert changed["source"] == ("etag-2", "etag-2")
    assert again["derived"] == first["derived"]
    assert changed["derived"] != first["derived"]  # derived from its input's version


def test_a_materialize_result_data_version_is_recorded() -> None:
    @asset
    def stored_elsewhere():
        return MaterializeResult(data_version=DataVersion("rows-42"))

    assert recorded(materialize([stored_elsewhere]))["stored_elsewhere"] == ("rows-42", "rows-42")


def test_results_hold_a_data_version() -> None:
    assert Output(1, data_version=DataVersion("a")).data_version == DataVersion("a")
    assert MaterializeResult(asset_key=AssetKey("x"), data_version="b").data_version == DataVersion(
        "b"
    )
    assert Output(1).data_version is None
    assert DataVersion("a").value == "a"
    with pytest.raises(ValueError, match="DataVersion needs a non-empty string, got ''"):
        DataVersion("")
    with pytest.raises(ValueError, match="got 3"):
        DataVersion(3)  # type: ignore[arg-type]
