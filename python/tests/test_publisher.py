"""Unit tests: no broker, no confluent_kafka needed (a fake producer stands in).

Run: /usr/bin/python3 -m unittest discover -s python/tests   (from the repo root)
"""

import json
import os
import sys
import unittest
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from eplb_heat import HeatAccumulator, HeatBackpressureError, HeatPublisher, build_event, check_counts, encode_event, encode_event_v2, format_ts  # noqa: E402


class FakeMsg:
    def __init__(self, key):
        self._key = key

    def key(self):
        return self._key


class FakeProducer:
    """Records produce() calls; can refuse with BufferError and report delivery later."""

    def __init__(self, full_for=0, fail=False):
        self.full_for = full_for  # how many produce() calls raise BufferError first
        self.fail = fail
        self.queued = []  # (topic, key, value, cb) not yet reported
        self.sent = []
        self.polls = 0

    def produce(self, topic, value=None, key=None, on_delivery=None):
        if self.full_for > 0:
            self.full_for -= 1
            raise BufferError("Local: Queue full")
        self.queued.append((topic, key, value, on_delivery))
        self.sent.append((topic, key, value))

    def poll(self, timeout=0):
        self.polls += 1
        n = len(self.queued)
        for topic, key, value, cb in self.queued:
            cb("broker down" if self.fail else None, FakeMsg(key))
        self.queued = []
        return n

    def flush(self, timeout=0):
        self.poll()
        return 0

    def __len__(self):
        return len(self.queued)


L2S3 = [[1, 2, 3], [4, 5, 6]]


def pub(**kw):
    producer = kw.pop("producer", None)
    if producer is None:  # not `or`: an empty producer has len() 0 and is falsy
        producer = FakeProducer()
    return HeatPublisher("unused:9092", kw.pop("deployment", "dsv3-a"), kw.pop("rank", 3), producer=producer, **kw), producer


class TestEvent(unittest.TestCase):
    def test_shape_matches_contract(self):
        e = build_event("dsv3-a", 3, 1048576, L2S3, 12, ts=datetime(2026, 11, 23, 6, 0, 0, 123456, tzinfo=timezone.utc))
        self.assertEqual(
            list(e.keys()), ["v", "deployment", "rank", "step", "steps", "phase", "mapVersion", "layerVersions", "ts", "load"]
        )
        self.assertEqual(
            json.loads(encode_event(e)),
            {
                "v": 1, "deployment": "dsv3-a", "rank": 3, "step": 1048576, "steps": 1, "phase": "decode",
                "mapVersion": 12, "layerVersions": None, "ts": "2026-11-23T06:00:00.123Z", "load": L2S3,
            },
        )
        self.assertNotIn(b" ", encode_event(e))

    def test_ts_formats(self):
        self.assertRegex(format_ts(), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(format_ts(0), "1970-01-01T00:00:00.000Z")
        self.assertEqual(format_ts(1.5), "1970-01-01T00:00:01.500Z")
        plus2 = timezone(timedelta(hours=2))
        self.assertEqual(format_ts(datetime(2026, 1, 1, 2, 0, tzinfo=plus2)), "2026-01-01T00:00:00.000Z")
        with self.assertRaisesRegex(ValueError, "^ts:"):
            format_ts(datetime(2026, 1, 1))
        with self.assertRaisesRegex(ValueError, "^ts:"):
            format_ts("2026-01-01")

    def test_counts_errors_name_the_element(self):
        cases = [
            ([[1, -2, 3], [4, 5, 6]], r"^load\.0\.1: must be a non-negative count"),
            ([[1, 2, 3.5], [4, 5, 6]], r"^load\.0\.2: must be an integer count"),
            ([[1, 2, 3], [4, True, 6]], r"^load\.1\.1: must be an integer count"),
            ([[1, 2, 3], [4, "5", 6]], r"^load\.1\.1: must be an integer count"),
            ([[1, 2, float("nan")]], r"^load\.0\.2: must be an integer count"),
            ([[1, 2, 2**53]], r"^load\.0\.2: .* exceeds"),
            ([[1, 2, 3], [4, 5]], r"^load\.1: has 2 slots, expected 3"),
            ([], r"^load: must have at least one layer"),
            ([[]], r"^load\.0: must have at least one slot"),
            ([1, 2, 3], r"^load\.0: must be an array"),
            ("12", r"^load: must be a 2-D"),
            (None, r"^load: must be a 2-D"),
        ]
        for counts, pattern in cases:
            with self.subTest(counts=counts):
                with self.assertRaisesRegex(ValueError, pattern):
                    check_counts(counts)

    def test_whole_floats_and_tuples_are_counts(self):
        self.assertEqual(check_counts([[1.0, 2.0], (3, 4)]), [[1, 2], [3, 4]])
        self.assertIs(type(check_counts([[1.0]])[0][0]), int)

    def test_duck_typed_tensors(self):
        class Tensor:  # what torch offers: detach(), cpu(), tolist()
            def __init__(self, rows):
                self.rows = rows
                self.calls = []

            def detach(self):
                self.calls.append("detach")
                return self

            def cpu(self):
                self.calls.append("cpu")
                return self

            def tolist(self):
                self.calls.append("tolist")
                return self.rows

        t = Tensor(L2S3)
        self.assertEqual(check_counts(t), L2S3)
        self.assertEqual(t.calls, ["detach", "cpu", "tolist"])

        class Array:  # numpy: tolist only
            def tolist(self):
                return [[7, 8]]

        self.assertEqual(check_counts(Array()), [[7, 8]])

    def test_counts_are_copied(self):
        rows = [[1, 2]]
        out = check_counts(rows)
        out[0][0] = 99
        self.assertEqual(rows, [[1, 2]])

    def test_field_errors(self):
        ok = dict(deployment="dsv3-a", rank=0, step=0, counts=L2S3, map_version=1)
        cases = [
            (dict(deployment="DSV3"), r"^deployment:"),
            (dict(deployment="-x"), r"^deployment:"),
            (dict(deployment="a\n"), r"^deployment:"),
            (dict(deployment=""), r"^deployment:"),
            (dict(deployment="a" * 129), r"^deployment:"),
            (dict(rank=-1), r"^rank:"),
            (dict(rank=1.0), r"^rank:"),
            (dict(step=-1), r"^step:"),
            (dict(step=2**53), r"^step:"),
            (dict(map_version=0), r"^mapVersion:"),
            (dict(map_version="1"), r"^mapVersion:"),
            (dict(map_version=True), r"^mapVersion:"),
        ]
        for change, pattern in cases:
            with self.subTest(change=change):
                with self.assertRaisesRegex(ValueError, pattern):
                    args = {**ok, **change}
                    build_event(args["deployment"], args["rank"], args["step"], args["counts"], args["map_version"])
        for kw, pattern in [
            (dict(steps=0), r"^steps:"),
            (dict(steps=1_000_001), r"^steps:"),
            (dict(phase="warmup"), r"^phase:"),
            (dict(layer_versions=[1]), r"^layerVersions: has 1 entries, expected 2"),
            (dict(layer_versions=[1, 0]), r"^layerVersions\.1:"),
            (dict(layer_versions="12"), r"^layerVersions:"),
        ]:
            with self.subTest(kw=kw):
                with self.assertRaisesRegex(ValueError, pattern):
                    build_event("dsv3-a", 0, 0, L2S3, 1, **kw)

    def test_numpy_like_scalars(self):
        class Scalar:
            def __init__(self, v):
                self.v = v

            def item(self):
                return self.v

        e = build_event("d", Scalar(2), Scalar(10), L2S3, Scalar(3), layer_versions=[Scalar(3), 2])
        self.assertEqual((e["rank"], e["step"], e["mapVersion"], e["layerVersions"]), (2, 10, 3, [3, 2]))
        with self.assertRaisesRegex(ValueError, "^rank:"):
            build_event("d", Scalar(1.5), 0, L2S3, 1)


class TestPublisher(unittest.TestCase):
    def test_publishes_keyed_by_deployment(self):
        p, prod = pub(phase="prefill")
        e = p.publish_step(7, L2S3, 2, layer_versions=[2, 1], steps=4)
        topic, key, value = prod.sent[0]
        self.assertEqual((topic, key), ("eplb.heat.v1", b"dsv3-a"))
        self.assertEqual(json.loads(value), e)
        self.assertEqual((e["phase"], e["steps"], e["layerVersions"], e["rank"]), ("prefill", 4, [2, 1], 3))
        self.assertEqual(p.stats(), {"sent": 1, "delivered": 1, "failed": 0, "pending": 0, "backpressure_waits": 0})

    def test_shape_fixed_by_first_step(self):
        p, _ = pub()
        p.publish_step(0, L2S3, 1)
        self.assertEqual(p.shape, (2, 3))
        with self.assertRaisesRegex(ValueError, r"^load: shape is 1x3 .* expected 2x3"):
            p.publish_step(1, [[1, 2, 3]], 1)
        with self.assertRaisesRegex(ValueError, r"^load: shape is 2x2 .* expected 2x3"):
            p.publish_step(1, [[1, 2], [3, 4.0]], 1)  # the slow path checks it too

    def test_constructor_checks(self):
        for kw, pattern in [
            (dict(deployment="Bad"), "^deployment:"),
            (dict(rank=-1), "^rank:"),
            (dict(phase="x"), "^phase:"),
            (dict(compression="brotli"), "^compression:"),
            (dict(compression="lz4"), "collector"),
        ]:
            with self.subTest(kw=kw):
                with self.assertRaisesRegex(ValueError, pattern):
                    pub(**kw)
        p, _ = pub(compression="lz4", allow_compression_collector_cannot_read=True)
        self.assertEqual(p.deployment, "dsv3-a")

    def test_delivery_errors_are_counted_and_reported(self):
        seen = []
        p, _ = pub(producer=FakeProducer(fail=True), on_error=lambda err, key: seen.append((err, key)))
        p.publish_step(0, L2S3, 1)
        p.publish_step(1, L2S3, 1)
        self.assertEqual((p.failed, p.delivered, p.last_error), (2, 0, "broker down"))
        self.assertEqual(seen, [("broker down", "dsv3-a")] * 2)

    def test_backpressure_polls_then_retries(self):
        prod = FakeProducer(full_for=3)
        p, _ = pub(producer=prod)
        p.publish_step(0, L2S3, 1)
        self.assertEqual(len(prod.sent), 1)
        self.assertEqual(p.backpressure_waits, 3)
        self.assertGreaterEqual(prod.polls, 4)

    def test_backpressure_is_bounded(self):
        prod = FakeProducer(full_for=10**9)
        p, _ = pub(producer=prod, max_block_s=0.05)
        with self.assertRaises(HeatBackpressureError):
            p.publish_step(0, L2S3, 1)
        self.assertEqual((p.sent, len(prod.sent)), (0, 0))

    def test_close(self):
        p, _ = pub()
        p.publish_step(0, L2S3, 1)
        self.assertEqual(p.close(), 0)
        with self.assertRaises(RuntimeError):
            p.publish_step(1, L2S3, 1)


class TestAccumulator(unittest.TestCase):
    def events(self, prod):
        return [json.loads(v) for _, _, v in prod.sent]

    def test_sums_every_n_steps(self):
        p, prod = pub()
        acc = HeatAccumulator(p, every=3)
        for step in range(6):
            acc.add(100 + step, [[step, 1], [0, 2]], 5)
        ev = self.events(prod)
        self.assertEqual([(e["step"], e["steps"], e["load"]) for e in ev], [
            (100, 3, [[0 + 1 + 2, 3], [0, 6]]),
            (103, 3, [[3 + 4 + 5, 3], [0, 6]]),
        ])
        self.assertEqual(acc.pending_steps, 0)
        self.assertIsNone(acc.flush())

    def test_closes_window_on_map_change_gap_and_flush(self):
        p, prod = pub()
        acc = HeatAccumulator(p, every=10)
        acc.add(0, [[1]], 1)
        acc.add(1, [[1]], 1)
        acc.add(2, [[1]], 2)  # new map version
        acc.add(3, [[1]], 2, layer_versions=[1])  # a layer on another version
        acc.add(7, [[1]], 2, layer_versions=[1])  # gap
        acc.add(8, [[1]], 2, layer_versions=[1], phase="prefill")  # phase change
        acc.flush()
        got = [(e["step"], e["steps"], e["mapVersion"], e["layerVersions"], e["phase"], e["load"]) for e in self.events(prod)]
        self.assertEqual(got, [
            (0, 2, 1, None, "decode", [[2]]),
            (2, 1, 2, None, "decode", [[1]]),
            (3, 1, 2, [1], "decode", [[1]]),
            (7, 1, 2, [1], "decode", [[1]]),
            (8, 1, 2, [1], "prefill", [[1]]),
        ])

    def test_does_not_mutate_caller_counts(self):
        p, _ = pub()
        acc = HeatAccumulator(p, every=2)
        first = [[1, 2]]
        acc.add(0, first, 1)
        acc.add(1, [[1, 1]], 1)
        self.assertEqual(first, [[1, 2]])

    def test_validates_each_step(self):
        p, _ = pub()
        acc = HeatAccumulator(p, every=4)
        acc.add(0, [[1, 2]], 1)
        with self.assertRaisesRegex(ValueError, r"^load\.0\.0: must be a non-negative"):
            acc.add(1, [[-1, 2]], 1)
        with self.assertRaisesRegex(ValueError, r"^load: shape"):
            acc.add(1, [[1, 2, 3]], 1)
        with self.assertRaisesRegex(ValueError, r"^layerVersions:"):
            acc.add(1, [[1, 2]], 1, layer_versions=[1, 1])
        with self.assertRaisesRegex(ValueError, r"^every:"):
            HeatAccumulator(p, every=0)
        self.assertEqual(acc.pending_steps, 1)


# The same bytes are decoded by the TypeScript codec's test (libs/contracts/src/heat/heat-event.v2.spec.ts).
V2_GOLDEN = (
    "02010106647376332d6103000000010000000c00000002000300000000000000304100b0e765e51e7a42"
    "0c0000000b000000000000001100000004000000090000000000000021000000"
)
V2_GOLDEN_WIDE = (
    "02000206647376332d6103000000010000000c00000002000300000000000000304100b0e765e51e7a42"
    "000000000000000000000000000031400000000000001040000000000000224000000000000000000000000000007042"
)


class TestEncodingV2(unittest.TestCase):
    def test_golden_rows(self):
        e = build_event("dsv3-a", 3, 1048576, [[0, 17, 4], [9, 0, 33]], 12, layer_versions=[12, 11], ts=1795000000.123)
        self.assertEqual(encode_event_v2(e).hex(), V2_GOLDEN)

    def test_counts_beyond_u32_travel_as_f64(self):
        e = build_event("dsv3-a", 3, 1048576, [[0, 17, 4], [9, 0, 2**40]], 12, phase="prefill", ts=1795000000.123)
        self.assertEqual(encode_event_v2(e).hex(), V2_GOLDEN_WIDE)

    def test_fields_beyond_u32_are_refused(self):
        e = build_event("dsv3-a", 2**33, 0, [[1]], 1)
        with self.assertRaisesRegex(ValueError, "^rank:.*version 1"):
            encode_event_v2(e)

    def test_publisher_sends_v2(self):
        p, prod = pub(encoding="v2")
        e = p.publish_step(7, L2S3, 2)
        topic, key, value = prod.sent[0]
        self.assertEqual((topic, key), ("eplb.heat.v1", b"dsv3-a"))
        self.assertEqual(value, encode_event_v2(e))
        self.assertEqual(value[0], 2)

    def test_unknown_encoding_refused(self):
        with self.assertRaisesRegex(ValueError, "^encoding:"):
            pub(encoding="v3")


if __name__ == "__main__":
    unittest.main()
