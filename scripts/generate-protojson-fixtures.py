#!/usr/bin/env python3
"""Regenerates the ProtoJSON golden fixtures with the reference implementation.

The Swift codec in Sources/WorkerPool/Transports/GRPC/ProtoJSON/ is tested against these files, so
CI needs no Python packages: run this once after changing kitchen.proto or the cases below, and
commit the output.

    python3 -m venv /tmp/protojson-venv
    /tmp/protojson-venv/bin/pip install protobuf grpcio-tools
    /tmp/protojson-venv/bin/python scripts/generate-protojson-fixtures.py

Writes, under Tests/WorkerPoolTests/Fixtures/ProtoJSON/:
  kitchen.protoset          protoc --include_imports --descriptor_set_out of kitchen.proto
  kitchen-no-imports.protoset   the same without --include_imports (must be refused)
  cases/NAME.input.json     JSON as a user might write it (proto names, numbers as strings, ...)
  cases/NAME.binpb          the message the reference encodes from it (deterministic map order)
  cases/NAME.json           the reference's JSON for that message (json_format.MessageToJson)
  malformed.json            inputs the reference rejects, with the field path our codec must name
"""

import base64
import importlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from google.protobuf import json_format

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "WorkerPoolTests" / "Fixtures" / "ProtoJSON"

# name -> JSON input. Each exercises one group of field kinds; "everything" combines them.
CASES = {
    "empty": {},
    "scalars-json-names": {
        "scalars": {
            "fDouble": 1.5, "fFloat": 0.25, "fInt32": -42, "fInt64": "-9007199254740993",
            "fUint32": 4294967295, "fUint64": "18446744073709551615", "fSint32": -2147483648,
            "fSint64": "-9223372036854775808", "fFixed32": 7, "fFixed64": "8", "fSfixed32": -9,
            "fSfixed64": "-10", "fBool": True, "fString": "h\u00e9llo \"w\"\n\u2603 \U0001F600",
            "fBytes": "AAEC/f7/", "fColor": "GREEN",
        }
    },
    "scalars-proto-names": {
        "scalars": {
            "f_double": "-2.5e-3", "f_float": "3", "f_int32": "12", "f_int64": 12345678901234,
            "f_uint32": "7", "f_uint64": 42, "f_sint32": 2147483647, "f_sint64": "9223372036854775807",
            "f_fixed32": "4294967295", "f_fixed64": 18446744073709551615, "f_sfixed32": 2147483647,
            "f_sfixed64": -1, "f_bool": False, "f_string": "", "f_bytes": "-_8", "f_color": 1,
        }
    },
    "special-floats": {
        "scalars": {"fDouble": "NaN", "fFloat": "-Infinity"},
        "ratios": ["Infinity", -0.0, 1e300, 5e-324],
    },
    "integral-floats-as-ints": {"scalars": {"fInt32": 1e3, "fInt64": 2.0, "fUint64": "100"}},
    "repeated": {
        "numbers": [1, -1, 2147483647, -2147483648, 0],
        "tags": ["a", "", "c"],
        "items": [{"name": "x", "count": 1}, {}, {"name": "z", "children": [{"name": "deep"}]}],
        "colors": ["RED", 2, "COLOR_UNSPECIFIED"],
        "ratios": [0.1, 2.0, -3.25],
        "bigs": ["1", 2, "-3"],
        "deltas": ["-1", "1", "-9223372036854775808"],
        "crcs": [1, 4294967295],
    },
    "maps": {
        "counts": {"b": "2", "a": 1, "": "0"},
        "byId": {"2": {"name": "two"}, "-1": {"name": "minus one", "count": 3}, "0": {}},
        "flags": {"true": "yes", "false": "no"},
        "blobs": {"18446744073709551615": "AQID", "0": ""},
        "palette": {"sky": "GREEN", "fire": 1, "none": "COLOR_UNSPECIFIED"},
    },
    "oneof-string": {"text": ""},
    "oneof-message": {"item": {"name": "chosen"}},
    "oneof-int64": {"big": "0"},
    "nested": {"nested": {"name": "outer", "children": [{"name": "a", "children": [{"count": 5}]}]}},
    "timestamps": {
        "createdAt": "1972-01-01T10:00:20.021Z",
        "times": ["1970-01-01T00:00:00Z", "2024-02-29T23:59:59.999999999Z", "0001-01-01T00:00:00Z",
                  "9999-12-31T23:59:59.5Z", "2021-06-01T12:00:00+02:30", "1969-12-31T23:59:59.000001Z"],
    },
    "durations": {"ttl": "-1.5s"},
    "duration-nanos": {"ttl": "0.000000001s"},
    "duration-whole": {"ttl": "315576000000s"},
    "wrappers": {
        "wInt32": -5, "wInt64": "-6", "wUint32": 7, "wUint64": "8", "wFloat": 1.5, "wDouble": "-Infinity",
        "wBool": True, "wString": "s", "wBytes": "Zm9v",
    },
    "wrappers-defaults": {"wInt32": 0, "wInt64": "0", "wBool": False, "wString": "", "wBytes": ""},
    "struct": {
        "attrs": {"a": 1, "b": [True, None, "x", {"c": -2.5}], "d": {}, "e": None, "f": []},
        "value": {"k": [1, "two"]},
        "list": [1, "a", None, False, {"z": []}],
    },
    "value-scalars": {"value": "just a string"},
    "value-null": {"value": None},
    "field-mask": {"mask": "fooBar,baz.quxQuux,a"},
    "field-mask-empty": {"mask": ""},
    "empty-message": {"nothing": {}},
    "optional-presence": {"maybeCount": 0, "scalars": {}},
    "json-name-option": {"customName": "by json name"},
    "json-name-option-proto-name": {"renamed": "by proto name"},
    "nulls-are-defaults": {"scalars": None, "numbers": None, "counts": None, "ttl": None},
    "everything": {
        "scalars": {"fInt32": 3, "fString": "s", "fColor": "RED", "fBytes": "AQ=="},
        "numbers": [3, 2, 1], "tags": ["t"], "items": [{"name": "i", "count": 2}],
        "counts": {"k": "9"}, "byId": {"7": {"name": "seven"}}, "item": {"count": 1},
        "nested": {"name": "n"}, "createdAt": "2020-01-01T00:00:00.100Z", "ttl": "3.000001s",
        "wInt32": 1, "attrs": {"x": "y"}, "value": 2, "list": [], "mask": "a.b",
        "nothing": {}, "colors": ["GREEN"], "ratios": [0.5], "maybeCount": 4, "bigs": ["5"],
        "flags": {"true": "t"}, "blobs": {"1": "/w=="}, "customName": "c",
        "times": ["2000-01-01T00:00:00Z"], "palette": {"p": "RED"}, "deltas": ["-2"], "crcs": [3],
    },
}

# Inputs the reference rejects. "path" is the field path our codec must name in its error.
MALFORMED = [
    {"json": {"nope": 1}, "path": "params.nope"},
    {"json": {"scalars": {"fInt32": 2147483648}}, "path": "params.scalars.fInt32"},
    {"json": {"scalars": {"fInt32": 1.5}}, "path": "params.scalars.fInt32"},
    {"json": {"scalars": {"fUint32": -1}}, "path": "params.scalars.fUint32"},
    {"json": {"scalars": {"fUint64": "18446744073709551616"}}, "path": "params.scalars.fUint64"},
    {"json": {"scalars": {"fInt64": "9223372036854775808"}}, "path": "params.scalars.fInt64"},
    {"json": {"scalars": {"fFloat": 1e39}}, "path": "params.scalars.fFloat"},
    {"json": {"scalars": {"fBool": "true"}}, "path": "params.scalars.fBool"},
    {"json": {"scalars": {"fString": 5}}, "path": "params.scalars.fString"},
    {"json": {"scalars": {"fBytes": "not base64!"}}, "path": "params.scalars.fBytes"},
    {"json": {"scalars": {"fColor": "PURPLE"}}, "path": "params.scalars.fColor"},
    {"json": {"scalars": "x"}, "path": "params.scalars"},
    {"json": {"items": [{}, {}, {"count": 2147483648}]}, "path": "params.items[2].count"},
    {"json": {"items": {"name": "x"}}, "path": "params.items"},
    {"json": {"numbers": [1, "x"]}, "path": "params.numbers[1]"},
    {"json": {"counts": {"a": "x"}}, "path": "params.counts[\"a\"]"},
    {"json": {"byId": {"one": {}}}, "path": "params.byId"},
    {"json": {"text": "a", "big": "1"}, "path": "params.big"},
    {"json": {"createdAt": "yesterday"}, "path": "params.createdAt"},
    {"json": {"createdAt": "10000-01-01T00:00:00Z"}, "path": "params.createdAt"},
    {"json": {"ttl": "1.5"}, "path": "params.ttl"},
    {"json": {"ttl": "315576000001s"}, "path": "params.ttl"},
    {"json": {"wInt32": "x"}, "path": "params.wInt32"},
    {"json": {"mask": 3}, "path": "params.mask"},
    {"json": {"nested": {"children": [{"nope": True}]}}, "path": "params.nested.children[0].nope"},
    {"json": [1], "path": "params"},
]


def read_varint(data: bytes, index: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        byte = data[index]
        index += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, index


def sort_map_entries(raw: bytes, descriptor) -> bytes:
    """Orders the entries of each top-level map field by key.

    Map order on the wire is unspecified and this build of the reference (upb) writes hash order
    even with deterministic=True; the Swift codec writes entries sorted by key (integers by value,
    strings by UTF-8 bytes, false before true), so the fixtures are put in that order. Every
    other byte is the reference's.
    """
    records = []
    index = 0
    while index < len(raw):
        start = index
        tag, index = read_varint(raw, index)
        wire_type = tag & 7
        if wire_type == 0:
            _, index = read_varint(raw, index)
        elif wire_type == 1:
            index += 8
        elif wire_type == 5:
            index += 4
        elif wire_type == 2:
            length, index = read_varint(raw, index)
            index += length
        records.append((tag >> 3, raw[start:index]))

    def key(record):
        number, data = record
        field = descriptor.fields_by_number[number]
        _, at = read_varint(data, 0)
        _, at = read_varint(data, at)  # the entry's length
        key_field = field.message_type.fields_by_number[1]
        tag, at = read_varint(data, at)
        assert tag >> 3 == 1, "the reference writes the key first"
        if key_field.type == key_field.TYPE_STRING:
            length, at = read_varint(data, at)
            return data[at:at + length]
        value, _ = read_varint(data, at)
        if key_field.type in (key_field.TYPE_INT32, key_field.TYPE_INT64) and value >= 1 << 63:
            value -= 1 << 64
        return value

    def is_map(number: int) -> bool:
        field = descriptor.fields_by_number.get(number)
        return field is not None and field.message_type is not None and field.message_type.GetOptions().map_entry

    output = []
    group = []
    for record in records + [(None, b"")]:
        if group and record[0] != group[0][0]:
            output.extend(sorted(group, key=key) if is_map(group[0][0]) else group)
            group = []
        if record[0] is not None:
            group.append(record)
    return b"".join(data for _, data in output)


def main() -> int:
    source = FIXTURES / "kitchen.proto"
    with tempfile.TemporaryDirectory() as tmp:
        protoset = FIXTURES / "kitchen.protoset"
        include = pathlib.Path(importlib.import_module("grpc_tools").__file__).parent / "_proto"
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{FIXTURES}", f"-I{include}",
             "--include_imports", f"--descriptor_set_out={protoset}", f"--python_out={tmp}", source.name],
            check=True,
        )
        # The same file without --include_imports: a protoset the daemon must refuse.
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{FIXTURES}", f"-I{include}",
             f"--descriptor_set_out={FIXTURES / 'kitchen-no-imports.protoset'}", source.name],
            check=True,
        )
        sys.path.insert(0, tmp)
        kitchen = importlib.import_module("kitchen_pb2")

    cases = FIXTURES / "cases"
    shutil.rmtree(cases, ignore_errors=True)
    cases.mkdir()

    def write(name: str, message) -> None:
        raw = message.SerializeToString(deterministic=True)
        (cases / f"{name}.binpb").write_bytes(sort_map_entries(raw, kitchen.Kitchen.DESCRIPTOR))
        canonical = json_format.MessageToDict(message)
        (cases / f"{name}.json").write_text(json.dumps(canonical, ensure_ascii=False, sort_keys=True) + "\n")

    for name, value in CASES.items():
        text = json.dumps(value, ensure_ascii=False)
        (cases / f"{name}.input.json").write_text(text + "\n")
        message = json_format.Parse(text, kitchen.Kitchen())
        write(name, message)

    # Binary-only cases: the wire forms a decoder must accept though encoders rarely write them.
    def varint(value: int) -> bytes:
        out = bytearray()
        value &= (1 << 64) - 1
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                return bytes(out)

    # `numbers` (packed by default) written unpacked, `bigs` ([packed = false]) written packed,
    # a singular field repeated (last one wins) and a message field split in two (merged).
    unpacked = b"".join(varint(2 << 3 | 0) + varint(v) for v in (5, -6, 7))
    packed_payload = b"".join(varint(v) for v in (1, 2, 300))
    packed = varint(30 << 3 | 2) + varint(len(packed_payload)) + packed_payload
    item_a = varint(1 << 3 | 2) + varint(1) + b"a"
    item_b = varint(2 << 3 | 0) + varint(9)
    split = (varint(10 << 3 | 2) + varint(len(item_a)) + item_a + varint(10 << 3 | 2) + varint(len(item_b)) + item_b)
    last_wins = varint(29 << 3 | 0) + varint(1) + varint(29 << 3 | 0) + varint(2)
    unknown = varint(1000 << 3 | 0) + varint(1) + varint(1001 << 3 | 2) + varint(2) + b"zz"
    wire_cases = {
        "wire-unpacked": unpacked,
        "wire-packed-declared-unpacked": packed,
        "wire-merged-message": split,
        "wire-last-wins": last_wins,
        "wire-unknown-fields-skipped": unknown + unpacked,
    }
    for name, raw in wire_cases.items():
        message = kitchen.Kitchen()
        message.ParseFromString(raw)
        (cases / f"{name}.wire.binpb").write_bytes(raw)
        canonical = json_format.MessageToDict(message)
        (cases / f"{name}.json").write_text(json.dumps(canonical, ensure_ascii=False, sort_keys=True) + "\n")

    for entry in MALFORMED:
        try:
            json_format.Parse(json.dumps(entry["json"]), kitchen.Kitchen())
        except json_format.ParseError:
            continue
        raise SystemExit(f"the reference accepted a malformed case: {entry['json']}")
    (FIXTURES / "malformed.json").write_text(json.dumps(MALFORMED, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(CASES)} JSON cases, {len(wire_cases)} wire cases, {len(MALFORMED)} malformed inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
