"""moto's DynamoDB server for the local stack: started on a port nobody else holds."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import boto3
import pytest

from rsbatch.local import dynamodb
from rsbatch.local.dynamodb import DynamoDBServer


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process's server already listens on (another test worker's stack, say)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_port_taken_before_moto_binds_it_is_not_mistaken_for_ours(
    taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    picks = iter([taken_port])
    real = dynamodb._free_port
    monkeypatch.setattr(dynamodb, "_free_port", lambda host: next(picks, None) or real(host))
    server = DynamoDBServer().start()
    try:
        assert server.port != taken_port  # moto lost the race for it and was started elsewhere
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert client.list_tables()["TableNames"] == []  # our own, empty server answers
    finally:
        server.stop()
