"""Assets for ``tessera materialize`` tests: a healthy chain and a failing branch."""

import os

from codeloc import AssetExecutionContext, Config, asset


class ScaleConfig(Config):
    factor: int = 1


@asset(group_name="numbers", code_version="1")
def numbers() -> list[int]:
    return [1, 2, 3]


@asset(group_name="numbers")
def total(context: AssetExecutionContext, config: ScaleConfig, numbers: list[int]) -> int:
    value = sum(numbers) * config.factor
    context.add_output_metadata({"total": value})
    return value


@asset(group_name="fragile")
def broken(numbers: list[int]) -> int:
    raise RuntimeError(f"broken cannot count to {len(numbers)}")


@asset(group_name="fragile")
def after_broken(broken: int) -> int:
    return broken + 1


@asset(group_name="files")
def marker() -> None:
    # Written to the working directory: proves the command ran the function, in this process.
    with open("marker.txt", "w") as f:
        f.write(str(os.getpid()))
