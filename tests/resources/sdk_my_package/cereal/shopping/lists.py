from codeloc import asset


@asset
def shopping_list(sugary_cereals: list[dict]) -> list[str]:
    return sorted(c["name"] for c in sugary_cereals)
