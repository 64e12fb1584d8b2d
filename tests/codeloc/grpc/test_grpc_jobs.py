"""A job's retry policy and config travel in the snapshot, so that a job launched by name runs
as it was defined."""

from __future__ import annotations

from codeloc import Backoff, Definitions, RetryPolicy, asset, define_asset_job
from codeloc._snapshot import RetryPolicySnap, snapshot_of
from codeloc.grpc import convert


@asset
def a() -> int:
    return 1


@asset
def b(a: int) -> int:
    return a


def location(**job_args: object) -> Definitions:
    return Definitions(assets=[a, b], jobs=[define_asset_job("j", selection=["*b"], **job_args)])


def test_a_job_carries_its_retry_policy_and_config_through_the_wire() -> None:
    defs = location(
        op_retry_policy=RetryPolicy(max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL),
        config={"ops": {"a": {"config": {"n": 3, "name": "x"}}}},
        tags={"team": "data"},
    )
    snapshot = snapshot_of(defs)

    (job,) = snapshot.jobs
    assert job.op_retry_policy == RetryPolicySnap(3, 2, "EXPONENTIAL", None)
    assert job.config == {"ops": {"a": {"config": {"n": 3, "name": "x"}}}, "resources": {}}
    chunks = convert.to_snapshot_chunks(snapshot)
    back = convert.from_snapshot_chunks(type(c).FromString(c.SerializeToString()) for c in chunks)
    assert back == snapshot
    assert isinstance(back.jobs[0].config["ops"]["a"]["config"]["n"], int)


def test_a_job_without_them_has_neither() -> None:
    (job,) = snapshot_of(location()).jobs

    assert (job.op_retry_policy, job.config) == (None, None)


def test_the_snapshot_hash_follows_the_job_policy_config_and_tags() -> None:
    hashes = {
        snapshot_of(location()).hash,
        snapshot_of(location(op_retry_policy=RetryPolicy(max_retries=1))).hash,
        snapshot_of(location(config={"ops": {"a": {"config": {"n": 1}}}})).hash,
        snapshot_of(location(tags={"t": "1"})).hash,
    }
    assert len(hashes) == 4
