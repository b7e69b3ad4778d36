"""Graph-only SavedModels (model.export, tf.saved_model.save): saved_model.pb read as protobuf data.

tf.saved_model.load runs nothing of the stored graph by itself, except the functions of assets,
resources and custom savers, so those are refused; its variables are restored from the checkpoint
by TensorFlow's own code. Calling the serving signature runs its function and every function that
one calls, so each op they reach must be pure tensor math (`GRAPH_OPS`). Parsing here uses the
plain wire-format reader: no TensorFlow (and no C++ parser) sees an uploaded graph.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from core.inspect.allowlists import (
    ACCEPTED_INPUT_SHAPES,
    GRAPH_OBJECT_KINDS,
    GRAPH_OPS,
    GRAPH_USER_OBJECTS,
    MAX_CONST_MB,
    NUM_CLASSES,
    SERVING_SIGNATURE,
)
from core.inspect.bundle import proto_fields
from core.inspect.shapes import fmt_shape
from core.inspect.verdict import refuse

DT_FLOAT = 1
INIT_SIGNATURE = "__saved_model_init_op"
MAIN_OP_COLLECTION = "saved_model_main_op"
# SavedObject field numbers (tensorflow/core/protobuf/saved_object_graph.proto)
OBJECT_KINDS = {
    4: "user_object", 5: "asset", 6: "function", 7: "variable", 8: "bare_concrete_function",
    9: "constant", 10: "resource", 12: "captured_tensor",
}  # fmt: skip
OBJECT_EXTRAS = {11: "saveable_objects", 13: "registered_name", 14: "serialized_user_proto",
                 16: "registered_saver"}  # fmt: skip
ITEM_SIZES = {1: 4, 2: 8, 3: 4, 4: 1, 5: 2, 6: 1, 9: 8, 10: 1, 14: 2, 17: 2, 19: 2}


def _all(data: bytes, number: int) -> list:
    return [value for n, value in proto_fields(data) if n == number]


def _one(data: bytes, number: int, default: bytes | int = b"") -> bytes | int:
    values = _all(data, number)
    # Protobuf merges a repeated singular message, so TensorFlow could see what the last copy
    # alone does not show: TensorFlow never writes one twice, so refuse it.
    if len(values) > 1:
        raise refuse("graph_damaged")
    return values[0] if values else default


def _text(value: bytes | int) -> str:
    if not isinstance(value, bytes):
        raise refuse("graph_damaged")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("graph_damaged") from None


def _map(data: bytes, number: int) -> dict[str, bytes]:
    """A protobuf map<string, message> field."""
    return {_text(_one(entry, 1)): _one(entry, 2) for entry in _all(data, number)}


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _shape(shape: bytes) -> tuple[int, ...] | None:
    """A TensorShapeProto's dimensions (-1 for free ones); None for an unknown rank."""
    if _one(shape, 3, 0):
        return None
    return tuple(_signed(_one(dim, 1, 0)) for dim in _all(shape, 2))


def inspect_graph(saved_model: bytes, entries_params: int) -> dict:
    """Check a graph-only SavedModel; return its serving signature's names and input shape."""
    metas = _all(saved_model, 2)
    if len(metas) != 1:
        raise refuse("graph_meta_graphs")
    meta = metas[0]
    if _all(meta, 6):
        raise refuse("graph_assets")
    objects = _one(meta, 7)
    if not objects:  # a TF1 SavedModel: its loader would run the graph's init ops
        raise refuse("graph_tf1")
    graph = _one(meta, 2)
    functions, top_level = _all(_one(graph, 2), 1), _all(graph, 1)
    library = {_text(_one(_one(function, 1), 1)): function for function in functions}
    nodes = {_text(_one(node, 1)): node for node in top_level}
    if len(library) != len(functions) or len(nodes) != len(top_level):
        raise refuse("graph_damaged")  # two functions or nodes of one name: which would run?
    # Grappler may swap a call for any library function declaring the same api_implements,
    # reachable or not: such graphs are refused outright.
    for name, function in library.items():
        if any(_text(_one(entry, 1)) == "api_implements" for entry in _all(function, 5)):
            raise refuse("graph_swappable", name=name)
    signatures = _map(meta, 5)
    if SERVING_SIGNATURE not in signatures:
        raise refuse("graph_no_serving")
    starts = set(_object_functions(objects))
    tensors = []
    for name, signature in signatures.items():
        outputs = list(_map(signature, 2).values()) if name != INIT_SIGNATURE else []
        tensors += [_text(_one(info, 1)) for info in outputs]
        tensors += [_text(_one(info, 1)) for info in _map(signature, 1).values()]
        if name == INIT_SIGNATURE:
            tensors += [_text(_one(info, 1)) for info in _map(signature, 2).values()]
    for key, collection in _map(meta, 4).items():
        if key != MAIN_OP_COLLECTION:
            raise refuse("graph_collection", name=key)
        tensors += [_text(value) for value in _all(_one(collection, 1), 1)]
    starts |= _check_top_level(nodes, tensors, library)
    _check_functions(starts, library)
    input_key, input_shape, output_key = _serving(signatures[SERVING_SIGNATURE])
    return {
        "ok": True,
        "kind": "savedmodel_graph",
        "input_shape": list(input_shape),
        "num_params": entries_params,
        "signature": [SERVING_SIGNATURE, input_key, output_key],
    }


def _object_functions(objects: bytes) -> Iterator[str]:
    """Every concrete function the loaded object exposes; refuse what would run at load time."""
    for node in _all(objects, 1):
        fields = proto_fields(node)
        kinds = [OBJECT_KINDS[n] for n, _ in fields if n in OBJECT_KINDS]
        extras = [OBJECT_EXTRAS[n] for n, _ in fields if n in OBJECT_EXTRAS]
        if len(kinds) != 1 or kinds[0] not in GRAPH_OBJECT_KINDS or extras:
            raise refuse("graph_object", kind=(kinds + extras or ["?"])[-1])
        body = _one(node, {v: k for k, v in OBJECT_KINDS.items()}[kinds[0]])
        if kinds[0] == "user_object" and _text(_one(body, 1)) not in GRAPH_USER_OBJECTS:
            raise refuse("graph_object", kind=_text(_one(body, 1)))
        if kinds[0] == "function":
            yield from (_text(name) for name in _all(body, 1))
        if kinds[0] == "bare_concrete_function":
            yield _text(_one(body, 1))
    yield from _map(objects, 2)


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _check_top_level(nodes: dict[str, bytes], tensors: list[str], library: dict) -> set[str]:
    """The top-level nodes the signatures and init op reach: allowed ops; the functions called."""
    called: set[str] = set()
    seen: set[str] = set()
    pending = [_node_name(t) for t in tensors]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in nodes:
            raise refuse("graph_damaged")
        called |= _check_node(nodes[name], library)
        pending += [_node_name(_text(i)) for i in _all(nodes[name], 3)]
    return called


def _check_functions(starts: set[str], library: dict[str, bytes]) -> None:
    """Every op of every function reachable from `starts` is allowed."""
    seen: set[str] = set()
    pending = sorted(starts)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in library:
            raise refuse("graph_damaged")
        for node in _all(library[name], 3):
            pending += sorted(_check_node(node, library))


def _check_node(node: bytes, library: dict[str, bytes]) -> set[str]:
    """Refuse a node whose op is not allowed or whose constant is too big; the functions it calls."""
    op = _text(_one(node, 2))
    called = {op} if op in library else set()
    if not called and op not in GRAPH_OPS:
        raise refuse("graph_op", op=op)
    for entry in _all(node, 5):
        called |= _attr_functions(_one(entry, 2), library)
        if op == "Const":
            _check_constant(_one(_one(entry, 2), 8))
    return called


def _attr_functions(attr: bytes | int, library: dict[str, bytes]) -> set[str]:
    """Function names an AttrValue holds: `func`, a list of them, or a string naming one."""
    if not isinstance(attr, bytes):
        return set()
    names = set()
    for number, value in proto_fields(attr):
        if number == 10 and isinstance(value, bytes):
            names.add(_text(_one(value, 1)))
            for entry in _all(value, 2):
                names |= _attr_functions(_one(entry, 2), library)
        elif number == 2 and isinstance(value, bytes) and value.decode("latin-1") in library:
            names.add(value.decode("latin-1"))
        elif number == 1 and isinstance(value, bytes):
            for item_number, item in proto_fields(value):
                if item_number == 9 and isinstance(item, bytes):
                    names.add(_text(_one(item, 1)))
                elif isinstance(item, bytes) and item.decode("latin-1") in library:
                    names.add(item.decode("latin-1"))
    return names


def _check_constant(tensor: bytes | int) -> None:
    if not isinstance(tensor, bytes) or not tensor:
        return
    shape = _shape(_one(tensor, 2)) or ()
    if any(d < 0 for d in shape):
        raise refuse("graph_damaged")
    size = math.prod(shape) * ITEM_SIZES.get(int(_one(tensor, 1, 0)), 8)
    if size > MAX_CONST_MB * 1024 * 1024:
        raise refuse("graph_constant_too_big", size_mb=size / 2**20, limit=MAX_CONST_MB)


def _serving(signature: bytes) -> tuple[str, tuple[int, ...], str]:
    """The serving signature's input name and shape and output name; refuse what the app can't feed."""
    inputs, outputs = _map(signature, 1), _map(signature, 2)
    if len(inputs) != 1 or len(outputs) != 1:
        raise refuse("graph_signature_arity", inputs=len(inputs), outputs=len(outputs))
    (input_key, input_info), (output_key, output_info) = *inputs.items(), *outputs.items()
    shape = _shape(_one(input_info, 3))
    if _one(input_info, 2, 0) != DT_FLOAT or not shape or shape[0] != -1:
        raise refuse("wrong_input", shape=fmt_shape(shape or ()))
    if shape[1:] not in ACCEPTED_INPUT_SHAPES:
        raise refuse("wrong_input", shape=fmt_shape(shape[1:]))
    out = _shape(_one(output_info, 3))
    if _one(output_info, 2, 0) != DT_FLOAT or not out or out[1:] != (NUM_CLASSES,):
        raise refuse("wrong_output", shape=fmt_shape((out or ())[1:]), classes=NUM_CLASSES)
    return input_key, shape[1:], output_key
