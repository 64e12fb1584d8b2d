"""``/api/v1/tokens``: API tokens, for admins. The secret of a new token is in the answer
that creates it, and nowhere else afterwards."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from server.api.deps import DatabaseDep, ThreadsDep, require
from server.auth import Scope
from server.schemas import TokenCreate, TokenCreatedPublic, TokensPublic
from server.services import tokens

router = APIRouter(tags=["tokens"], dependencies=[Depends(require(Scope.ADMIN))])


@router.get("/tokens")
async def list_tokens(database: DatabaseDep, threads: ThreadsDep) -> TokensPublic:
    return await threads.read_alone(tokens.list_tokens, database)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(
    body: TokenCreate, database: DatabaseDep, threads: ThreadsDep
) -> TokenCreatedPublic:
    return await threads.write(tokens.create_token, database, body)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: str, database: DatabaseDep, threads: ThreadsDep) -> None:
    await threads.write(tokens.revoke_token, database, token_id)
