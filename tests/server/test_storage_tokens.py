"""API token rows on SQLite and PostgreSQL: migration 0004, and secrets kept out of errors."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from server.auth import hash_secret, new_secret
from server.storage import tokens as token_store
from server.storage.db import Database
from server.storage.migrate import alembic_config, current_revision, engine_for, upgrade


def test_0004_adds_the_token_table_and_takes_it_away(empty_database_url: str) -> None:
    upgrade(empty_database_url, "0003")
    engine = engine_for(empty_database_url)
    try:
        assert "api_tokens" not in inspect(engine).get_table_names()
        upgrade(empty_database_url, "0004")
        assert current_revision(engine) == "0004"
        columns = {c["name"] for c in inspect(engine).get_columns("api_tokens")}
        assert columns == {
            "id",
            "name",
            "scope",
            "locations",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "hash",
        }
        command.downgrade(alembic_config(empty_database_url), "0003")
        assert "api_tokens" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _create(database: Database, token_id: str, secret_hash: str) -> None:
    with database.transaction() as session:
        token_store.create_token(
            session,
            token_id=token_id,
            secret_hash=secret_hash,
            scope="read",
            name=None,
            locations=None,
            created_at=1.0,
            expires_at=None,
        )


def test_a_database_error_does_not_carry_the_hash(database: Database) -> None:
    # An error's text reaches the log with its traceback: its statement's parameters must not.
    # (PostgreSQL's own detail names the key that clashed, here the id, not the other values.)
    _create(database, "same-id", hash_secret(new_secret()))
    second = hash_secret(new_secret())
    with pytest.raises(IntegrityError) as raised:
        _create(database, "same-id", second)
    assert second not in str(raised.value)
    assert "SQL parameters hidden" in str(raised.value)


def test_revoke_keeps_the_first_time_and_rows_stay(database: Database) -> None:
    _create(database, "t1", hash_secret(new_secret()))
    with database.transaction() as session:
        assert token_store.revoke_token(session, "t1", 10.0) is True
        assert token_store.revoke_token(session, "t1", 20.0) is False
        assert token_store.revoke_token(session, "nope", 20.0) is False
    with database.transaction() as session:
        row = token_store.get_token(session, "t1")
        assert row is not None
        assert row.revoked_at == 10.0
        assert token_store.any_token(session)


def test_touch_writes_at_most_every_so_often(database: Database) -> None:
    _create(database, "t1", hash_secret(new_secret()))
    for now in (100.0, 130.0, 170.0):
        with database.transaction() as session:
            token_store.touch_token(session, "t1", now, every=60.0)
    with database.transaction() as session:
        row = token_store.get_token(session, "t1")
        assert row is not None
        assert row.last_used_at == 170.0  # 130 was too soon after 100; 170 was not
