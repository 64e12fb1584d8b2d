from codeloc import asset


@asset(group_name="marketing")
def campaign_budget(campaigns: list[str]) -> dict[str, int]:
    return dict.fromkeys(campaigns, 100)
