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


# --- condition expressions: one reduction per expression, the values put in per request -------

CONDITIONS = [
    # what PynamoDB writes for the saga's tables, and every construction of the grammar
    ("(attribute_not_exists (#0) OR #1 = :0)", {"#0": "pk", "#1": "status"}, [":0"]),
    ("((#0 = :0 AND #1 >= :1) AND attribute_exists (#2))", {"#0": "status", "#1": "n", "#2": "pk"},
     [":0", ":1"]),
    ("NOT (#0 IN (:0, :1, :2))", {"#0": "status"}, [":0", ":1", ":2"]),
    ("#0 BETWEEN :0 AND :1 OR size (#1) > :2", {"#0": "n", "#1": "ss"}, [":0", ":1", ":2"]),
    ("begins_with (#0, :0) AND contains (#1, :1) AND attribute_type (#2, :2)",
     {"#0": "status", "#1": "ss", "#2": "m"}, [":0", ":1", ":2"]),
    ("#0.#1[0] <> :0", {"#0": "m", "#1": "inner"}, [":0"]),
]  # fmt: skip
CONDITION_ITEMS = [
    {"pk": {"S": "a"}, "status": {"S": "AUTHORIZED"}, "n": {"N": "3"}, "ss": {"SS": ["x", "y"]},
     "m": {"M": {"inner": {"L": [{"S": "deep"}]}}}},
    {"pk": {"S": "b"}, "status": {"S": "VOIDED"}, "n": {"N": "12"}, "ss": {"SS": ["z"]}},
    {},
]  # fmt: skip
VALUE_SETS = [
    [{"S": "AUTHORIZED"}, {"N": "2"}, {"S": "M"}],
    [{"S": "VOIDED"}, {"N": "10"}, {"S": "L"}],
    [{"S": "AUTH"}, {"N": "20"}, {"N": "0"}],
]


def _parse(parse: Any, expression: str, names: dict[str, str], values: dict[str, Any]) -> Any:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    parser = ConditionExpressionParser(expression, names, values)
    op = parse(parser)
    return op, parser.expr_attr_names_found, parser.expr_attr_values_found


def _shape(value: Any) -> Any:
    """An operator tree as plain data: each object's class and attributes, all the way down
    (moto's own repr fails on a list index in a path)."""
    if hasattr(value, "__dict__"):
        return (type(value).__name__, {k: _shape(v) for k, v in vars(value).items()})
    if isinstance(value, list | tuple):
        return [_shape(v) for v in value]
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return value


def _outcomes(op: Any) -> list[Any]:
    """What the operator says of each item (or the error it raises)."""
    from moto.dynamodb.models.dynamo_type import Item

    said = []
    for attributes in CONDITION_ITEMS:
        # moto keeps the key beside the attributes; a condition reads only the attributes
        item = Item(hash_key=None, range_key=None, attrs=attributes) if attributes else None  # type: ignore[arg-type]
        try:
            said.append(op.expr(item))
        except Exception as error:  # the same refusal counts as the same outcome
            said.append(type(error).__name__)
    return said


@pytest.mark.parametrize(("expression", "names", "value_names"), CONDITIONS)
def test_a_condition_parsed_once_answers_as_moto_s_own_parse_for_every_set_of_values(
    expression, names, value_names
):
    from moto.dynamodb.comparisons import ConditionExpressionParser

    moto_tuning.parse_each_condition_once()
    tuned: Any = ConditionExpressionParser.parse
    stock = tuned.__wrapped__
    for value_set in VALUE_SETS:  # the first fills the cache, the others reuse its tree
        values = dict(zip(value_names, value_set, strict=False))
        stock_op, stock_names, stock_values = _parse(stock, expression, names, values)
        op, found_names, found_values = _parse(tuned, expression, names, values)

        assert _shape(op) == _shape(stock_op)
        assert (found_names, found_values) == (stock_names, stock_values)
        assert _outcomes(op) == _outcomes(stock_op)


def test_a_condition_moto_refuses_is_refused_the_same_way_every_time():
    from moto.dynamodb.comparisons import ConditionExpressionParser

    moto_tuning.parse_each_condition_once()
    tuned: Any = ConditionExpressionParser.parse
    for expression, names, values in [
        ("(#0 = :0", {"#0": "a"}, {":0": {"S": "x"}}),  # unmatched parenthesis
        ("#0 = :1", {"#0": "a"}, {":0": {"S": "x"}}),  # a value that was not given
        ("((#0 = :0))", {"#0": "a"}, {":0": {"S": "x"}}),  # redundant parentheses
    ]:
        refusals = []
        for parse in (tuned.__wrapped__, tuned, tuned):
            with pytest.raises(Exception) as refused:  # noqa: PT011 - moto's own types
                _parse(parse, expression, names, values)
            refusals.append((type(refused.value), str(refused.value)))
        assert len(set(refusals)) == 1, refusals
