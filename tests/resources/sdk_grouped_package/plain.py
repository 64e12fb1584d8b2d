from codeloc import asset


@asset
def campaigns() -> list[str]:
    return ["spring", "autumn"]
