"""TensorFlow checkpoints (tensor bundles: `.index` + `.data-*`) read as plain bytes, no TensorFlow.

The `.index` file is a LevelDB-style sorted table whose values are `BundleEntryProto`s saying
where each variable lies in the data file; TensorFlow writes it uncompressed. Reading it here in
Python means no C++ parser ever sees an uploaded checkpoint, and the arrays are then sliced from
the data file with NumPy.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from core.inspect.allowlists import MAX_UNPACKED_MB
from core.inspect.verdict import refuse

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5  # compression type byte + masked CRC
MAX_VARIABLES = 10_000
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
# TensorFlow DataType enum -> NumPy dtype name, for the types a model's variables use.
DTYPES = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 9: "int64", 10: "bool", 19: "float16",
    22: "uint32", 23: "uint64",  # Keras 3 seed generators keep their state in uint32
}  # fmt: skip
DT_STRING = 7


@dataclass(frozen=True)
class BundleEntry:
    """Where one variable lies in the data file."""

    dtype: str
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise refuse("checkpoint_damaged")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def proto_fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of a protobuf message: ints for varints, bytes otherwise."""
    fields = []
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise refuse("checkpoint_damaged")
        if pos > len(data):
            raise refuse("checkpoint_damaged")
        fields.append((number, value))
    return fields


def _block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of one table block."""
    end = offset + size
    if offset < 0 or end + BLOCK_TRAILER_SIZE > len(data) or size < 4:
        raise refuse("checkpoint_damaged")
    if data[end] != 0:  # TensorFlow writes bundle indexes uncompressed
        raise refuse("checkpoint_compressed")
    block = data[offset:end]
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise refuse("checkpoint_damaged")
    entries, pos, key = [], 0, b""
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + length > limit:
            raise refuse("checkpoint_damaged")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        entries.append((key, block[pos : pos + length]))
        pos += length
        if len(entries) > MAX_VARIABLES:
            raise refuse("checkpoint_too_many")
    return entries


def _handle(value: bytes) -> tuple[int, int]:
    offset, pos = _varint(value, 0)
    size, _ = _varint(value, pos)
    return offset, size


def _entry(value: bytes) -> BundleEntry:
    fields = dict(proto_fields(value))
    dtype_code = fields.get(1, 0)
    if dtype_code != DT_STRING and dtype_code not in DTYPES:
        raise refuse("checkpoint_dtype", code=dtype_code)
    shape = []
    for number, dim in proto_fields(fields.get(2, b"")):
        if number == 2:
            shape.append(int(dict(proto_fields(dim)).get(1, 0)))
    if any(d < 0 or d > 1 << 31 for d in shape):
        raise refuse("checkpoint_damaged")
    if 7 in fields:  # partitioned ("sliced") variables: never made by a small Keras model
        raise refuse("checkpoint_sliced")
    dtype = "string" if dtype_code == DT_STRING else DTYPES[dtype_code]
    return BundleEntry(dtype, tuple(shape), fields.get(3, 0), fields.get(4, 0), fields.get(5, 0))


def read_index(index: bytes) -> tuple[int, dict[str, BundleEntry]]:
    """Number of data shards and every variable's entry; refuse anything malformed."""
    if len(index) < FOOTER_SIZE:
        raise refuse("checkpoint_damaged")
    footer = index[-FOOTER_SIZE:]
    if struct.unpack_from("<Q", footer, 40)[0] != TABLE_MAGIC:
        raise refuse("checkpoint_not_index")
    _, pos = _varint(footer, 0)  # the metaindex handle: empty in bundles
    _, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    shards, entries = 1, {}
    for _, handle in _block(index, index_offset, index_size):
        for key, value in _block(index, *_handle(handle)):
            if key == b"":
                shards = int(dict(proto_fields(value)).get(1, 1))
                continue
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                raise refuse("checkpoint_damaged") from None
            entries[name] = _entry(value)
    if not 1 <= shards <= 16:
        raise refuse("checkpoint_damaged")
    return shards, entries


def check_entries(entries: dict[str, BundleEntry], data_sizes: list[int]) -> None:
    """Every variable lies inside its data file; the total stays within the weights limit."""
    total = 0
    for name, entry in entries.items():
        if entry.shard >= len(data_sizes) or entry.offset + entry.size > data_sizes[entry.shard]:
            raise refuse("checkpoint_outside_data", name=name)
        if entry.dtype != "string":
            itemsize = 1 if entry.dtype in ("uint8", "bool") else int(entry.dtype[-2:]) // 8
            if math.prod(entry.shape) * itemsize != entry.size:
                raise refuse("checkpoint_damaged")
        total += entry.size
    if total > MAX_UNPACKED_MB * 1024 * 1024:
        raise refuse("weights_too_big", size_mb=total / 2**20, limit=MAX_UNPACKED_MB)
