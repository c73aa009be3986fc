"""The Prometheus exposition schema (io.prometheus.client, metrics.proto), the
messages the tests read, built at run time with the protobuf runtime so the
library's hand-written encoder is checked by a decoder it did not write.

Only the fields the library writes or a reader needs are declared; field
numbers and types are those of metrics.proto.
"""

from __future__ import annotations

from typing import Iterator, List, Tuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal.decoder import _DecodeVarint32  # the delimited framing

_F = descriptor_pb2.FieldDescriptorProto


def _message(fd, name: str, fields) -> None:
    m = fd.message_type.add(name=name)
    for fname, number, ftype, label, type_name in fields:
        f = m.field.add(name=fname, number=number, type=ftype, label=label)
        if type_name:
            f.type_name = type_name


def _build():
    fd = descriptor_pb2.FileDescriptorProto(name="bt_test_prom_metrics.proto",
                                            package="io.prometheus.client", syntax="proto2")
    opt, rep = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
    p = ".io.prometheus.client."
    _message(fd, "LabelPair", [("name", 1, _F.TYPE_STRING, opt, None),
                               ("value", 2, _F.TYPE_STRING, opt, None)])
    _message(fd, "Counter", [("value", 1, _F.TYPE_DOUBLE, opt, None)])
    _message(fd, "Bucket", [("cumulative_count", 1, _F.TYPE_UINT64, opt, None),
                            ("upper_bound", 2, _F.TYPE_DOUBLE, opt, None)])
    _message(fd, "BucketSpan", [("offset", 1, _F.TYPE_SINT32, opt, None),
                                ("length", 2, _F.TYPE_UINT32, opt, None)])
    _message(fd, "Histogram", [
        ("sample_count", 1, _F.TYPE_UINT64, opt, None),
        ("sample_sum", 2, _F.TYPE_DOUBLE, opt, None),
        ("bucket", 3, _F.TYPE_MESSAGE, rep, p + "Bucket"),
        ("schema", 5, _F.TYPE_SINT32, opt, None),
        ("zero_threshold", 6, _F.TYPE_DOUBLE, opt, None),
        ("zero_count", 7, _F.TYPE_UINT64, opt, None),
        ("positive_span", 12, _F.TYPE_MESSAGE, rep, p + "BucketSpan"),
        ("positive_delta", 13, _F.TYPE_SINT64, rep, None),
    ])
    _message(fd, "Metric", [("label", 1, _F.TYPE_MESSAGE, rep, p + "LabelPair"),
                            ("counter", 3, _F.TYPE_MESSAGE, opt, p + "Counter"),
                            ("histogram", 7, _F.TYPE_MESSAGE, opt, p + "Histogram")])
    _message(fd, "MetricFamily", [("name", 1, _F.TYPE_STRING, opt, None),
                                  ("help", 2, _F.TYPE_STRING, opt, None),
                                  ("type", 3, _F.TYPE_INT32, opt, None),
                                  ("metric", 4, _F.TYPE_MESSAGE, rep, p + "Metric")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    desc = pool.FindMessageTypeByName("io.prometheus.client.MetricFamily")
    return message_factory.GetMessageClass(desc)


MetricFamily = _build()
COUNTER, HISTOGRAM = 0, 4


def families(data: bytes) -> Iterator[object]:
    """The MetricFamily messages of a delimited stream (each after its varint length)."""
    pos = 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        fam = MetricFamily()
        fam.ParseFromString(data[pos:pos + size])
        pos += size
        yield fam


def native_buckets(hist) -> List[Tuple[int, int]]:
    """(Prometheus bucket index, count) of a native histogram's positive buckets."""
    out, index, count = [], 0, 0
    deltas = iter(hist.positive_delta)
    for n, span in enumerate(hist.positive_span):
        index = span.offset if n == 0 else index + span.offset
        for _ in range(span.length):
            count += next(deltas)
            out.append((index, count))
            index += 1
    return out


def prometheus_index(lower_ns: int) -> int:
    """The schema-4 index k of the bucket (2^((k-1)/16), 2^(k/16)] holding the
    integer `lower_ns` >= 1: the smallest k with lower_ns <= 2^(k/16)."""
    k = 16 * (lower_ns.bit_length() - 1) - 1
    while lower_ns ** 16 > 2 ** k:
        k += 1
    return k
