"""A chain of N assets (``TESSERA_TEST_ASSETS``, default 100,000), each ``deps=`` the one before."""

import os

from codeloc import asset

N = int(os.environ.get("TESSERA_TEST_ASSETS", "100000"))


def _define(i: int):
    def compute() -> None:
        return None

    return asset(name=f"a{i:06d}", deps=[f"a{i - 1:06d}"] if i else None, group_name="chain")(
        compute
    )


chain = [_define(i) for i in range(N)]
