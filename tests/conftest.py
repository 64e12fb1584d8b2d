"""Fixtures every part of the suite may use."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

DEFAULT_CELERY_BROKER = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture(scope="session")
def celery_broker() -> str:
    """The broker of the celery executor's tests: ``TESSERA_TEST_CELERY_BROKER``, by default
    the machine's RabbitMQ. One that does not answer is a failure, not a skip."""
    url = os.environ.get("TESSERA_TEST_CELERY_BROKER", DEFAULT_CELERY_BROKER)
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        pytest.fail(
            f"the Celery broker at {url} does not answer: {exc}\nThe celery executor's tests "
            "need a real broker: start RabbitMQ, or point TESSERA_TEST_CELERY_BROKER at one.",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def delete_celery_queue(celery_broker: str) -> Callable[[str], None]:
    """Removes a test's queue from the broker, with whatever is left in it."""
    from kombu import Connection

    def delete(name: str) -> None:
        with Connection(celery_broker, connect_timeout=3) as connection:
            connection.default_channel.queue_delete(name)

    return delete
