"""The local cloud's speed-ups of moto answer exactly what moto answers without them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import moto
import pytest
from moto.dynamodb.responses import DynamoResult

from deploy.local import moto_tuning

ITEM = {
    "pk": {"S": "a"},
    "sk": {"N": "1"},
    "n": {"N": "1.50"},
    "big": {"N": "12345678901234567890.000000001"},
    "b": {"B": b"\x00\x01\xff"},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "yes": {"BOOL": True},
    "none": {"NULL": True},
    "empty_s": {"S": ""},
    "m": {"M": {"inner": {"L": [{"S": "deep"}, {"M": {}}, {"L": []}, {"N": "-0"}]}}},
    "unicode": {"S": "caf\u00e9 \u2603"},
}


def create_table(db: Any, name: str, range_key: str | None = None) -> None:
    """A pay-per-request table keyed by `pk` (S), with `sk` of type `range_key` if given."""
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key is not None:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": range_key})
    db.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip


def _canonical(body: str | bytes) -> str:
    return json.dumps(json.loads(body), sort_keys=True)


@pytest.fixture
def compared(monkeypatch) -> list[str]:
    """Answer every DynamoDB item operation both ways and record any difference."""
    moto_tuning.serialize_dynamodb_items_directly()
    direct = DynamoResult.execute_result
    original = direct.__wrapped__  # type: ignore[attr-defined]
    checked: list[str] = []

    def both(self: Any, context: Any) -> Any:
        theirs = original(self, context)
        ours = direct(self, context)
        name = context.operation_model.name
        if name in moto_tuning.ITEM_OPERATIONS:
            assert ours[0] == theirs[0], name
            assert ours[1]["Content-Type"] == theirs[1]["Content-Type"], name
            # as text, canonically: 1 and 1.0 are equal as numbers, not on the wire
            assert _canonical(ours[2]) == _canonical(theirs[2]), name
            checked.append(name)
        return theirs

    monkeypatch.setattr(DynamoResult, "execute_result", both)
    return checked


def test_item_operations_answer_what_the_service_model_serializer_answers(compared):
    with moto.mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        create_table(db, "t", range_key="N")
        key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
        db.put_item(TableName="t", Item=ITEM, ReturnConsumedCapacity="TOTAL")
        db.put_item(TableName="t", Item=ITEM, ReturnValues="ALL_OLD")
        db.get_item(TableName="t", Key=key)
        db.get_item(TableName="t", Key={"pk": {"S": "nobody"}, "sk": {"N": "9"}})
        db.get_item(TableName="t", Key=key, ProjectionExpression="m.inner, b")
        db.update_item(
            TableName="t", Key=key, UpdateExpression="SET n = n + :one, added = :s",
            ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"S": "new"}},
            ReturnValues="ALL_NEW",
        )  # fmt: skip
        db.query(TableName="t", KeyConditionExpression="pk = :p",
                 ExpressionAttributeValues={":p": {"S": "a"}}, Limit=1)  # fmt: skip
        db.query(TableName="t", KeyConditionExpression="pk = :p",
                 ExpressionAttributeValues={":p": {"S": "nobody"}})  # fmt: skip
        db.scan(TableName="t")
        db.scan(TableName="t", Select="COUNT")
        db.batch_write_item(RequestItems={"t": [
            {"PutRequest": {"Item": {**ITEM, "sk": {"N": str(n)}}}} for n in range(2, 5)
        ]})  # fmt: skip
        db.batch_get_item(RequestItems={"t": {"Keys": [key, {"pk": {"S": "a"}, "sk": {"N": "2"}}]}},
                          ReturnConsumedCapacity="TOTAL")  # fmt: skip
        db.query(TableName="t", KeyConditionExpression="pk = :p", Limit=2,
                 ExpressionAttributeValues={":p": {"S": "a"}},
                 ReturnConsumedCapacity="TOTAL")  # fmt: skip
        db.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}])
        db.transact_write_items(TransactItems=[
            {"Update": {"TableName": "t", "Key": key, "UpdateExpression": "SET yes = :f",
                        "ExpressionAttributeValues": {":f": {"BOOL": False}}}},
            {"Delete": {"TableName": "t", "Key": {"pk": {"S": "a"}, "sk": {"N": "3"}}}},
        ])  # fmt: skip
        db.delete_item(TableName="t", Key=key, ReturnValues="ALL_OLD")

    assert set(compared) == moto_tuning.ITEM_OPERATIONS


def test_a_failed_item_operation_is_still_moto_s_error(compared):
    with moto.mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        create_table(db, "t")
        db.put_item(TableName="t", Item={"pk": {"S": "a"}})
        with pytest.raises(db.exceptions.ConditionalCheckFailedException):
            db.put_item(TableName="t", Item={"pk": {"S": "a"}},
                        ConditionExpression="attribute_not_exists(pk)")  # fmt: skip


def test_a_json_path_parsed_once_evaluates_as_a_fresh_parse():
    from jsonpath_ng.ext.parser import parse as fresh
    from moto.stepfunctions.parser.asl.utils import json_path

    moto_tuning.parse_each_json_path_once()
    parse = vars(json_path)["parse"]
    data = {"order_id": "o-1", "items": [{"sku": "A"}, {"sku": "B"}], "payment": None}
    for path in ("$.order_id", "$.items[1].sku", "$.items[*].sku", "$.payment", "$"):
        first = [m.value for m in parse(path).find(data)]
        again = [m.value for m in parse(path).find(data)]
        assert first == again == [m.value for m in fresh(path).find(data)]
    assert parse("$.order_id") is parse("$.order_id")


def test_moto_s_module_list_is_read_once_and_the_same():
    from moto import backends

    before = list(backends.list_of_moto_modules())
    moto_tuning.list_moto_modules_once()

    assert list(backends.list_of_moto_modules()) == before
    assert "dynamodb" in before


def _state(db: Any) -> list[dict[str, Any]]:
    return sorted(
        (item for table in ("h", "r") for item in db.scan(TableName=table)["Items"]),
        key=lambda item: json.dumps(item, sort_keys=True),
    )


@pytest.fixture
def tables() -> Any:
    moto_tuning.snapshot_transaction_items()
    with moto.mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        create_table(db, "h")
        create_table(db, "r", range_key="S")
        db.put_item(TableName="h", Item={"pk": {"S": "stock"}, "n": {"N": "5"}})
        db.put_item(TableName="h", Item={"pk": {"S": "gone"}, "m": {"M": {"a": {"S": "b"}}}})
        db.put_item(TableName="r", Item={"pk": {"S": "o"}, "sk": {"S": "1"}, "v": {"S": "x"}})
        yield db


def test_a_cancelled_transaction_leaves_every_item_as_it_was(tables):
    db = tables
    before = _state(db)

    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(TransactItems=[
            {"Update": {"TableName": "h", "Key": {"pk": {"S": "stock"}},
                        "UpdateExpression": "SET n = n - :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": "h", "Item": {"pk": {"S": "new"}, "x": {"S": "y"}}}},
            {"Delete": {"TableName": "h", "Key": {"pk": {"S": "gone"}}}},
            {"Put": {"TableName": "r", "Item": {"pk": {"S": "o"}, "sk": {"S": "2"}}}},
            {"Update": {"TableName": "r", "Key": {"pk": {"S": "o"}, "sk": {"S": "1"}},
                        "UpdateExpression": "SET v = :z",
                        "ExpressionAttributeValues": {":z": {"S": "z"}}}},
            {"ConditionCheck": {"TableName": "r", "Key": {"pk": {"S": "o"}, "sk": {"S": "9"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])  # fmt: skip

    assert _state(db) == before


def test_a_transaction_that_commits_writes_every_item(tables):
    db = tables

    db.transact_write_items(TransactItems=[
        {"Update": {"TableName": "h", "Key": {"pk": {"S": "stock"}},
                    "UpdateExpression": "SET n = n - :one", "ConditionExpression": "n >= :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Put": {"TableName": "r", "Item": {"pk": {"S": "o"}, "sk": {"S": "2"}}}},
        {"Delete": {"TableName": "h", "Key": {"pk": {"S": "gone"}}}},
    ])  # fmt: skip

    assert db.get_item(TableName="h", Key={"pk": {"S": "stock"}})["Item"]["n"] == {"N": "4"}
    assert "Item" in db.get_item(TableName="r", Key={"pk": {"S": "o"}, "sk": {"S": "2"}})
    assert "Item" not in db.get_item(TableName="h", Key={"pk": {"S": "gone"}})


def test_a_transaction_naming_one_item_twice_is_refused_and_changes_nothing(tables):
    db = tables
    before = _state(db)
    key = {"pk": {"S": "stock"}}

    with pytest.raises(db.exceptions.ClientError, match="multiple operations"):
        db.transact_write_items(TransactItems=[
            {"Update": {"TableName": "h", "Key": key, "UpdateExpression": "SET n = :z",
                        "ExpressionAttributeValues": {":z": {"N": "0"}}}},
            {"Delete": {"TableName": "h", "Key": key}},
        ])  # fmt: skip

    assert _state(db) == before


def test_a_cancelled_transaction_naming_a_table_by_arn_is_rolled_back_too(tables):
    db = tables
    before = _state(db)
    arn = db.describe_table(TableName="h")["Table"]["TableArn"]

    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(TransactItems=[
            {"Put": {"TableName": arn, "Item": {"pk": {"S": "by-arn"}}}},
            {"ConditionCheck": {"TableName": "h", "Key": {"pk": {"S": "nobody"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])  # fmt: skip

    assert _state(db) == before


def test_a_cancelled_transaction_leaves_no_stream_record(tables):
    from moto.dynamodb.models import dynamodb_backends

    db = tables
    db.update_table(
        TableName="h", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    shard = dynamodb_backends["123456789012"]["us-east-1"].tables["h"].stream_shard
    assert shard is not None
    db.put_item(TableName="h", Item={"pk": {"S": "streamed"}})
    recorded = len(shard.items)

    with pytest.raises(db.exceptions.TransactionCanceledException):
        db.transact_write_items(TransactItems=[
            {"Put": {"TableName": "h", "Item": {"pk": {"S": "never"}}}},
            {"ConditionCheck": {"TableName": "h", "Key": {"pk": {"S": "nobody"}},
                                "ConditionExpression": "attribute_exists(pk)"}},
        ])  # fmt: skip

    assert recorded == 1
    assert len(shard.items) == recorded
