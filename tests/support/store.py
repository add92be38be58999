"""The shared DynamoDB store on moto: its table, and writes made atomic as the service makes them."""

from __future__ import annotations

import threading

import boto3
import pytest

from breakglass_aws.journal.dynamodb import create_table

TABLE = "breakglass-store"


def make_table(region="us-east-1"):
    create_table(boto3.client("dynamodb", region_name=region), TABLE)


@pytest.fixture(autouse=True)
def atomic_dynamodb(monkeypatch):
    """DynamoDB applies each write (and each transaction) atomically; moto's in-process backend
    does not guard against threads. Serialize its operations the way the service does."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query"):
        original = getattr(DynamoDBBackend, name)

        def guarded(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, guarded)
