"""The rules a definition's group name, tags, owners and kinds follow: the reference's.

Each check raises ``DefinitionError`` starting with ``asset 'KEY': `` and then the cause in
the reference's words, so that a message searched for on the web finds its explanation.
The checks run once per asset when its spec is built; each is one compiled regular
expression per value, and nothing when the value is absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from codeloc._errors import DefinitionError
from codeloc._key import AssetKey

__all__ = [
    "KIND_TAG_PREFIX",
    "MAX_KINDS",
    "check_group_name",
    "check_kinds",
    "check_owners",
    "check_tags",
    "kinds_of",
]

#: A kind is a tag ``dagster/kind/<kind>`` with an empty value, as in the reference: code that
#: sets such tags itself (integrations do) declares kinds, and code reading ``tags`` sees the
#: same keys on both.
KIND_TAG_PREFIX = "dagster/kind/"
MAX_KINDS = 10

_NAME = r"[A-Za-z0-9_]+"
_GROUP_NAME = re.compile(rf"{_NAME}(/{_NAME})*")
# Tag keys are Kubernetes-label-like: an optional namespace, then a name, 63 characters each;
# only the kinds' namespace has two levels.
_TAG_KEY = re.compile(r"([A-Za-z0-9_.-]{1,63}/|dagster/kind/)?[A-Za-z0-9_.-]{1,63}")
_TAG_VALUE = re.compile(r"[A-Za-z0-9_.-]{0,63}")
# The reference's pattern, quirks kept ("|" among the top-level domain's letters), so that an
# owner accepted there is accepted here.
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,7}\b")
_TAG_KEY_RULE = (
    "Allowed characters: alpha-numeric, '_', '-', '.'. Tag keys can also contain a namespace "
    "section, separated by a '/'. Each section must have <= 63 characters."
)


def check_group_name(asset: AssetKey, group_name: str | None) -> None:
    """Refuse an empty group name, or one that is not ``/``-separated ``[A-Za-z0-9_]+``."""
    if group_name is None:
        return
    if not isinstance(group_name, str):
        raise _error(asset, f"group_name must be a str, not {group_name!r}")
    if group_name == "":
        raise _error(
            asset,
            "Empty asset group name was provided, which is not permitted. "
            "Set group_name=None to use the default group_name or set non-empty string",
        )
    if _GROUP_NAME.fullmatch(group_name) is None:
        raise _error(
            asset,
            f'"{group_name}" is not a valid asset group name. Group names '
            f"must be one or more segments matching ^{_NAME}$ separated by '/' "
            "(e.g. 'marketing' or 'marketing/foo/bar').",
        )


def check_tags(asset: AssetKey, tags: Mapping[str, Any] | None) -> dict[str, str]:
    """The tags as a new dict, each key and value checked by the reference's strict rules."""
    if not tags:
        return {}
    out: dict[str, str] = {}
    bad_keys: list[Any] = []
    for key, value in tags.items():
        if not isinstance(key, str) or _TAG_KEY.fullmatch(key) is None:
            bad_keys.append(key)
        if not isinstance(value, str):
            raise _error(asset, f"Tag values must be strings, got type {type(value)} at key {key}.")
        if _TAG_VALUE.fullmatch(value) is None:
            raise _error(
                asset,
                f"Invalid tag value: {value}, for key: {key}. Allowed "
                "characters: alpha-numeric, '_', '-', '.'. Must have <= 63 characters.",
            )
        out[key] = value
    if bad_keys:
        raise _error(asset, f"Found invalid tag keys: {bad_keys[:5]}. {_TAG_KEY_RULE}")
    return out


def check_owners(asset: AssetKey, owners: Sequence[str] | None) -> tuple[str, ...]:
    """The owners as a tuple; each an e-mail address or ``team:`` and a name."""
    if not owners:
        return ()
    if isinstance(owners, str):
        raise _error(asset, f"owners must be a list of strings, not the string {owners!r}")
    checked = tuple(owners)
    for owner in checked:
        if not isinstance(owner, str) or not (
            (owner.startswith("team:") and len(owner) > 5) or _EMAIL.fullmatch(owner)
        ):
            raise _error(
                asset,
                f"Invalid owner '{owner}'. Owner must be an email address or a team name "
                "prefixed with 'team:'.",
            )
    return checked


def check_kinds(
    asset: AssetKey, tags: dict[str, str], kinds: Iterable[str] | None
) -> dict[str, str]:
    """``tags`` with a kind tag per kind added; more than ``MAX_KINDS`` in all is refused.

    Kinds are not checked as tag keys are, as in the reference: ``"dbt cloud"`` is a kind.
    """
    if kinds:
        if isinstance(kinds, str):
            raise _error(asset, f"kinds must be a set of strings, not the string {kinds!r}")
        # Sorted: kinds are a set, and a set's order changes from process to process, which
        # would change the snapshot's hash each time the location starts.
        for kind in sorted(kinds):
            tags[KIND_TAG_PREFIX + kind] = ""
    elif not any(k.startswith(KIND_TAG_PREFIX) for k in tags):
        return tags
    if len(kinds_of(tags)) > MAX_KINDS:
        raise _error(asset, "Assets can have at most ten kinds currently.")
    return tags


def kinds_of(tags: Mapping[str, str]) -> frozenset[str]:
    """The kinds among ``tags``: the keys under ``KIND_TAG_PREFIX``, without it."""
    cut = len(KIND_TAG_PREFIX)
    return frozenset(k[cut:] for k in tags if k.startswith(KIND_TAG_PREFIX))


def _error(asset: AssetKey, cause: str) -> DefinitionError:
    return DefinitionError(f"asset '{asset.to_user_string()}': {cause}")
