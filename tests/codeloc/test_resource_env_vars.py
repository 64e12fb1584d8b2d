"""``EnvVar`` resource fields: read from the environment when a run sets the resource up."""

import pytest

from codeloc import ConfigurableResource, Definitions, EnvVar, RunFailedError, asset, materialize


class Api(ConfigurableResource):
    token: str
    region: str = "eu"


class DefaultsToEnv(ConfigurableResource):
    token: str = EnvVar("TESSERA_TEST_DEFAULT_TOKEN")


@asset
def called(api: Api) -> tuple[str, str]:
    return api.token, api.region


@asset
def called_default(api: DefaultsToEnv) -> str:
    return api.token


def test_envvar_is_a_str_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    var = EnvVar("TESSERA_TEST_TOKEN")
    assert isinstance(var, str)
    assert var.env_var_name == "TESSERA_TEST_TOKEN"
    monkeypatch.delenv("TESSERA_TEST_TOKEN", raising=False)
    assert var.get_value() is None
    assert var.get_value("fallback") == "fallback"
    monkeypatch.setenv("TESSERA_TEST_TOKEN", "s3cret")
    assert var.get_value() == "s3cret"


def test_the_value_is_read_at_run_time_not_at_definition_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TESSERA_TEST_TOKEN", raising=False)
    # defining the resource and the definitions needs no variable
    defs = Definitions(assets=[called], resources={"api": Api(token=EnvVar("TESSERA_TEST_TOKEN"))})

    monkeypatch.setenv("TESSERA_TEST_TOKEN", "first")
    assert materialize(defs.assets, resources=defs.resources).asset_value("called") == (
        "first",
        "eu",
    )
    # each run reads it again
    monkeypatch.setenv("TESSERA_TEST_TOKEN", "second")
    assert materialize(defs.assets, resources=defs.resources).asset_value("called") == (
        "second",
        "eu",
    )


def test_a_missing_variable_fails_the_run_naming_the_variable_and_the_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TESSERA_TEST_TOKEN", raising=False)
    resources = {"api": Api(token=EnvVar("TESSERA_TEST_TOKEN"))}
    with pytest.raises(RunFailedError) as info:
        materialize([called], resources=resources)
    assert "resource 'api'" in str(info.value)
    assert "environment variable 'TESSERA_TEST_TOKEN' is not set" in str(info.value)

    result = materialize([called], resources=resources, raise_on_error=False)
    assert not result.success
    assert not result.events_of_type("STEP_START")


def test_a_field_defaulting_to_an_envvar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_TEST_DEFAULT_TOKEN", "from-default")
    result = materialize([called_default], resources={"api": DefaultsToEnv()})
    assert result.asset_value("called_default") == "from-default"
    # a value given explicitly wins over the default
    result = materialize([called_default], resources={"api": DefaultsToEnv(token="given")})
    assert result.asset_value("called_default") == "given"


def test_run_config_overrides_keep_the_envvar_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_TEST_TOKEN", "t")
    result = materialize(
        [called],
        resources={"api": Api(token=EnvVar("TESSERA_TEST_TOKEN"))},
        run_config={"resources": {"api": {"config": {"region": "us"}}}},
    )
    assert result.asset_value("called") == ("t", "us")


def test_the_variable_is_read_in_the_step_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_TEST_TOKEN", "in-child")
    result = materialize(
        [called],
        resources={"api": Api(token=EnvVar("TESSERA_TEST_TOKEN"))},
        executor="multiprocess",
    )
    assert result.asset_value("called") == ("in-child", "eu")
