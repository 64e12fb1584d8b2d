"""A module with a ``Definitions`` object whose asset needs a resource from it."""

from codeloc import ConfigurableResource, Definitions, asset


class Greeter(ConfigurableResource):
    greeting: str = "hello"

    def greet(self, name: str) -> str:
        return f"{self.greeting}, {name}"


@asset
def greeting(greeter: Greeter) -> str:
    return greeter.greet("world")


@asset
def not_in_definitions() -> int:
    return 0


defs = Definitions(assets=[greeting], resources={"greeter": Greeter(greeting="bonjour")})
