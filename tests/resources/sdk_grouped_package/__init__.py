"""A package where one asset already has a group: loading it with a group is an error."""
