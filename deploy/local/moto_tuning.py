"""Make moto's Step Functions interpreter cheap per execution and per task, and tell us when
executions end.

moto parses the definition again for every execution (about 0.1 s of CPU for the checkout saga's
21 KB), and builds a new boto3 client for every task it runs (tens of milliseconds each): with a
few hundred executions in flight that, not the handlers, is what the machine spends its time on.
A parsed definition is a tree of declarations whose run state lives in each execution's
`Environment` (its heap, keyed by component), so one parse serves every execution of a
definition. The local cloud has one region and fixed fake credentials, so one client per service
is enough; boto3 clients are thread-safe.
"""

from __future__ import annotations

import base64
import copy
import functools
import importlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

_MODULES = [
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    *(
        f"moto.stepfunctions.parser.asl.component.state.exec.state_task.service.{name}"
        for name in (
            "state_task_service_events", "state_task_service_dynamodb",
            "state_task_service_aws_sdk", "state_task_service_sqs", "state_task_service_sns",
            "state_task_service_sfn",
        )
    ),
]  # fmt: skip


def share_interpreter_clients(endpoint: str) -> None:
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service)
        with lock:
            if key not in clients:
                clients[key] = boto3.client(
                    service_name=service,
                    region_name=region,
                    endpoint_url=endpoint,
                    aws_access_key_id="ak",
                    aws_secret_access_key="sk",
                    config=Config(
                        parameter_validation=False,
                        retries={"max_attempts": 0, "total_max_attempts": 1},
                        connect_timeout=60,
                        read_timeout=3600,
                        max_pool_connections=256,
                    ),
                )
            return clients[key]

    for name in _MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "boto_client_for"):
            setattr(module, "boto_client_for", boto_client_for)  # noqa: B010


def parse_each_definition_once(cached_definitions: int = 16) -> None:
    """Parse a definition on its first execution only (the result is cached by its text)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = AmazonStateLanguageParser.parse
    if isinstance(parse, functools._lru_cache_wrapper):
        return  # already cached
    AmazonStateLanguageParser.parse = staticmethod(  # type: ignore[method-assign]
        functools.lru_cache(maxsize=cached_definitions)(parse)
    )


_closed_callback: Callable[[Any], None] | None = None
_hooked = False


def on_execution_closed(callback: Callable[[Any], None] | None) -> None:
    """Call `callback(execution)` whenever an execution ends (None: stop calling).

    moto publishes no "Execution Status Change" events; its interpreter tells the execution it
    terminated, which is the moment Step Functions would publish one.
    """
    global _closed_callback, _hooked
    _closed_callback = callback
    if _hooked:
        return
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original = BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original(self)
        listener = _closed_callback
        if listener is not None:
            try:
                listener(self.execution)
            except Exception:  # a listener must never break the interpreter
                logging.getLogger(__name__).exception("execution-closed listener failed")

    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    _hooked = True


def keep_task_failure_cause() -> None:
    """moto 5.2's SendTaskFailure drops `cause` (it passes only `error` on), so a decline sent
    through a task token would reach the rollback without its reason: pass it on, as AWS does.
    Idempotent; a moto that fixes it is left alone."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.send_task_failure
    if getattr(original, "_keeps_cause", False):
        return

    @functools.wraps(original)
    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"),
            error=self._get_param("error"),
            cause=self._get_param("cause"),
        )
        return EmptyResult()

    send_task_failure._keeps_cause = True  # type: ignore[attr-defined]
    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]


def parse_each_json_path_once(cached_paths: int = 4096) -> None:
    """moto's interpreter parses a JSONPath (`$.order_id`) again at every use, and jsonpath-ng
    builds its whole yacc parser for each parse: about a tenth of the local cloud's CPU under
    load. A parsed path holds no state of an evaluation (`find` and `update_or_create` read it
    and write only the data), so one parse per path text serves every state of every
    execution. Idempotent."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        parse = module.parse
        if not isinstance(parse, functools._lru_cache_wrapper):
            module.parse = functools.lru_cache(maxsize=cached_paths)(parse)  # type: ignore[attr-defined]


def parse_each_condition_once(cached_conditions: int = 4096) -> None:
    """moto parses a condition expression again for every request that carries one, twice for an
    UpdateItem (the request's check, then the write), and its reduction of parentheses and
    booleans copies the rest of the expression at every `)`: the largest single cost of the
    local cloud under load once Flask's debug mode was off. PynamoDB writes its conditions with
    placeholders (`#0`, `:0`), so the text and names repeat across checkouts and only the values
    change. The reduced tree is kept per (expression, names, value names); each parse puts its own
    values into it (by the placeholder, the node's text) and builds moto's operators from it, as
    moto does. An expression moto refuses is refused the same way (errors are not kept).
    Idempotent."""
    from moto.dynamodb.comparisons import ConditionExpressionParser as Parser

    if getattr(Parser.parse, "_keeps_trees", False):
        return
    stock_parse = Parser.parse
    trees: dict[tuple[Any, ...], Any] = {}
    lock = threading.Lock()

    def reduced_tree(parser: Any) -> Any:
        """moto's `parse` up to its operators: the same steps in the same order."""
        nodes = parser._lex_condition_expression()
        nodes = parser._parse_paths(nodes)
        nodes = parser._apply_functions(nodes)
        nodes = parser._apply_comparator(nodes)
        nodes = parser._apply_in(nodes)
        nodes = parser._apply_between(nodes)
        nodes = parser._apply_parens_and_booleans(nodes)
        node = nodes[0]
        parser._assert_no_redundant_parentheses(node)
        return node

    @functools.wraps(stock_parse)
    def parse(self: Any) -> Any:
        if not self.condition_expression:
            return stock_parse(self)
        names = self.expression_attribute_names or {}
        values = self.expression_attribute_values or {}
        key = (self.condition_expression, tuple(sorted(names.items())), tuple(sorted(values)))
        with lock:
            node = trees.get(key)
        if node is None:
            node = reduced_tree(self)
            with lock:
                if len(trees) >= cached_conditions:
                    trees.clear()  # a bound, not a policy: the saga's conditions are a few dozen
                trees[key] = node
        else:
            node = _with_values(node, values, Parser.Kind.EXPRESSION_ATTRIBUTE_VALUE)
        self.expr_attr_names_found.extend(self._find_literals(node))
        self.expr_attr_values_found.extend(self._find_expr_attr_values(node))
        return self._make_op_condition(node)

    parse._keeps_trees = True  # type: ignore[attr-defined]
    Parser.parse = parse  # type: ignore[method-assign]


def _with_values(node: Any, values: dict[str, Any], value_kind: str) -> Any:
    """The reduced tree with this request's values at its placeholders (namedtuples: a copy)."""
    if node.kind == value_kind:
        return node._replace(value=values[node.text])
    if not node.children:
        return node
    return node._replace(children=[_with_values(c, values, value_kind) for c in node.children])


# DynamoDB's data-plane answers: items, keys, counts and capacity (no timestamps, nothing the
# service model renames or reformats).
# (BatchWriteItem and TransactWriteItems answer through another result class: moto's own path.)
ITEM_OPERATIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
    "TransactGetItems",
})  # fmt: skip


def serialize_dynamodb_items_directly() -> None:
    """moto 5.2 serializes every DynamoDB answer through the service model with a value picker
    that tries several aliases of every key of every value (the item's attribute maps are
    recursive): a fifth of the local cloud's CPU under load. For an item operation the answer
    is plain data already; walking it along the output shape (unknown keys and empty values
    dropped, blobs in base64) makes the same JSON at a fraction of the cost
    (tests/local/test_moto_tuning.py compares the two on every kind of attribute). Other
    operations keep moto's serializer. Idempotent."""
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result
    if getattr(original, "_direct", False):
        return

    @functools.wraps(original)
    def execute_result(self: Any, context: Any) -> Any:
        operation = context.operation_model
        if operation.name not in ITEM_OPERATIONS or operation.output_shape is None:
            return original(self, context)
        body = json.dumps(_wire(self.result, operation.output_shape))
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    execute_result._direct = True  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def _wire(value: Any, shape: Any) -> Any:
    """`value` as the JSON protocol writes it for `shape` (a botocore shape)."""
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        return {
            key: _wire(item, members[key])
            for key, item in value.items()
            if key in members and item is not None
        }
    if kind == "list":
        return [_wire(item, shape.member) for item in value]
    if kind == "map":
        return {key: _wire(item, shape.value) for key, item in value.items() if item is not None}
    if kind == "blob":
        raw = value if isinstance(value, bytes) else str(value).encode()
        return base64.b64encode(raw).decode()
    convert = _SCALARS.get(kind)
    return convert(value) if convert is not None else value


# As moto's serializer writes scalars (a capacity of 1 is `1.0`, a double).
_SCALARS: dict[str, Callable[[Any], Any]] = {
    "integer": int, "long": int, "double": float, "float": float, "string": str,
}  # fmt: skip


def list_moto_modules_once() -> None:
    """moto's server lists its own package directory (150 entries, an `isdir` each) to route
    every request: a twentieth of the local cloud's CPU under load. The list cannot change
    while the process runs. Idempotent."""
    from moto import backends

    listed = backends.list_of_moto_modules
    if getattr(listed, "_once", False):
        return
    modules = tuple(listed())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    list_of_moto_modules._once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


class _TablesNotCopied:
    """Stands in for `copy` in moto's DynamoDB models: `deepcopy(table)` returns the table
    itself (the transaction's items are kept instead, by `snapshot_transaction_items`); every
    other deep copy is a deep copy."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table_type):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


_TRANSACTIONS = threading.Lock()


def snapshot_transaction_items() -> None:
    """moto backs up every table a TransactWriteItems names, whole, with a deep copy, to roll
    back a cancelled transaction: the cost grows with every item ever written (an eighth of the
    local cloud's CPU after a few hundred checkouts, more the longer `make run` runs). Keep
    only the items the transaction may write (at most 100 keys) and put exactly those back,
    with the tables' stream records, when it is cancelled; the tables stay in place.
    Idempotent."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    backend = models.DynamoDBBackend
    original = backend.transact_write_items
    if getattr(original, "_item_snapshots", False):
        return
    models.copy = _TablesNotCopied(Table)  # type: ignore[assignment,attr-defined]

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        # One transaction at a time, as a transaction is isolated on DynamoDB: a cancelled one
        # puts back what it read, which must not undo another's committed write.
        with _TRANSACTIONS:
            kept = _Snapshot(self, transact_items)
            try:
                original(self, transact_items)
            except Exception:
                kept.put_back()
                raise

    transact_write_items._item_snapshots = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _Snapshot:
    """The items a transaction may write, as they were, and its tables' stream lengths."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        self.items: list[tuple[Any, Any, Any, Any]] = []
        self.streams: dict[int, tuple[Any, int]] = {}
        for table, hash_value, range_value in _written_keys(backend, transact_items):
            try:
                item = table.get_item(hash_value, range_value)
            except Exception:  # an invalid key: the transaction itself refuses it
                continue
            self.items.append((table, hash_value, range_value, copy.deepcopy(item)))
            if table.stream_shard is not None:
                self.streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))

    def put_back(self) -> None:
        for table, hash_value, range_value, item in reversed(self.items):
            _put_back(table, hash_value, range_value, item)
        for shard, length in self.streams.values():  # no stream record of a cancelled write
            del shard.items[length:]


def _written_keys(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The (table, hash, range) of every item the transaction may write."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    keys = []
    for entry in transact_items:
        kind, operation = next(iter(entry.items()))
        key = operation.get("Key") or operation.get("Item")
        if kind == "ConditionCheck" or not isinstance(key, dict):
            continue  # a condition check writes nothing
        try:
            table = backend.get_table(operation.get("TableName"))  # by name or by ARN
        except Exception:  # no such table: the transaction itself refuses it
            continue
        if table.hash_key_attr not in key:
            continue
        range_attr = table.range_key_attr
        range_value = DynamoType(key[range_attr]) if range_attr and range_attr in key else None
        keys.append((table, DynamoType(key[table.hash_key_attr]), range_value))
    return keys


def _put_back(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    """The item as it was before the transaction (None: it did not exist)."""
    if range_value is not None:
        bucket = table.items.setdefault(hash_value, {})
        if item is None:
            bucket.pop(range_value, None)
            if not bucket:
                table.items.pop(hash_value, None)
        else:
            bucket[range_value] = item
    elif item is None:
        table.items.pop(hash_value, None)
    else:
        table.items[hash_value] = item


def backend_app_without_debug(create_app: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's `create_backend_app`, with its Flask app out of debug mode.

    moto sets `debug = True`, so Flask builds a new class for every request that reads a body
    (`flask.debughelpers.attach_enctype_error_multidict`, for a friendlier error on a missing
    upload): under load that class creation was a fifth of the local cloud's busy time
    (docs/performance.md, round 7). Exceptions still propagate as they do in debug mode, so a
    failure inside moto surfaces the same way.
    """

    @functools.wraps(create_app)
    def create(service: Any) -> Any:
        app = create_app(service)
        app.debug = False
        app.config["PROPAGATE_EXCEPTIONS"] = True
        return app

    return create
