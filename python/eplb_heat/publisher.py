"""Publishes per-step expert heat to Kafka as ``eplb.heat.v1`` events.

The event format is the one in docs/design.md ("Heat event, version 1") and in the authoritative
TypeScript schema ``libs/contracts/src/heat/heat-event.v1.ts``; ``build_event`` checks locally
what that schema checks, so a worker learns about a bad event from a ``ValueError`` naming the
field instead of from a dead letter later.

Only ``confluent_kafka`` is needed (Debian: ``python3-confluent-kafka``). numpy and torch are
never imported: counts are duck-typed (anything with ``.tolist()``).
"""

from __future__ import annotations

import json
import math
import re
import struct
import threading
import time
from itertools import chain
from datetime import datetime, timezone
from typing import Any, Callable, List, Optional, Sequence

TOPIC = "eplb.heat.v1"
ENCODINGS = ("v1", "v2")
HEAT_V2_FORMAT = 2
_V2_LAYER_VERSIONS = 1
_V2_F64_COUNTS = 2
_U32_MAX = 0xFFFFFFFF
PHASES = ("prefill", "decode", "mixed")
DEPLOYMENT_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_DEPLOYMENT_LEN = 128
MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER; zod's .int() stops there
MAX_STEPS = 1_000_000

# Our collector consumes with kafkajs, which decodes only gzip (and uncompressed) batches out of
# the box; an lz4/snappy/zstd batch would fail in the collector, not here. So only these are
# accepted unless the caller says the consumers can read others.
COLLECTOR_CODECS = ("gzip", "none")
OTHER_CODECS = ("lz4", "snappy", "zstd")

Counts = List[List[int]]


class HeatBackpressureError(BufferError):
    """The producer's local queue stayed full for longer than ``max_block_s``; the event was not
    queued. Raised rather than dropped: a worker that cannot publish must know, not lose heat unseen."""


# --------------------------------------------------------------------------------------------
# Validation and encoding (no Kafka needed; this is what the unit tests exercise)
# --------------------------------------------------------------------------------------------


def _int(field: str, value: Any, minimum: int, maximum: int = MAX_SAFE_INTEGER) -> int:
    if not isinstance(value, (int, float, str, bytes)) and hasattr(value, "item"):
        value = value.item()  # numpy / torch scalar
    # bool is an int subclass in Python, but JSON true is not a number for the TS schema.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field}: must be an integer, got {value!r}")
    if value < minimum or value > maximum:
        raise ValueError(f"{field}: {value} is out of range [{minimum}, {maximum}]")
    return value


def check_deployment(deployment: Any) -> str:
    if not isinstance(deployment, str) or not deployment:
        raise ValueError(f"deployment: must be a non-empty string, got {deployment!r}")
    if len(deployment) > MAX_DEPLOYMENT_LEN:
        raise ValueError(f"deployment: longer than {MAX_DEPLOYMENT_LEN} characters")
    if not DEPLOYMENT_RE.fullmatch(deployment):
        raise ValueError(
            f"deployment: {deployment!r} must be a deployment id (lowercase letters, digits, . _ -)"
        )
    return deployment


def check_phase(phase: Any) -> str:
    if phase not in PHASES:
        raise ValueError(f"phase: must be one of {', '.join(PHASES)}, got {phase!r}")
    return phase


def _as_rows(counts: Any) -> list:
    if hasattr(counts, "detach"):  # torch tensor that may require grad
        counts = counts.detach()
    if hasattr(counts, "cpu"):  # torch tensor on a device (tolist would also copy, but be explicit)
        counts = counts.cpu()
    if hasattr(counts, "tolist"):  # numpy array, torch tensor, array.array
        counts = counts.tolist()
    if isinstance(counts, (str, bytes)) or not isinstance(counts, Sequence):
        raise ValueError(f"load: must be a 2-D [layers][slots] array of counts, got {type(counts).__name__}")
    return list(counts)


def _fast_counts(rows: list) -> Optional[Counts]:
    """The common case (``.tolist()`` of an integer tensor), checked in C-speed builtins; None
    when anything is unusual, and the slow path then names the offending element."""
    first = rows[0]
    if type(first) is not list:
        return None
    width = len(first)
    if width == 0:
        return None
    for row in rows:
        if type(row) is not list or len(row) != width:
            return None
    flat = list(chain.from_iterable(rows))
    if set(map(type, flat)) != _INT_ONLY or min(flat) < 0 or max(flat) > MAX_SAFE_INTEGER:
        return None
    return [row[:] for row in rows]


_INT_ONLY = {int}


def check_counts(counts: Any, shape: Optional[tuple] = None) -> Counts:
    """Returns the counts as a list of lists of Python ints, or raises ValueError naming the
    offending element as the TS contract does (``load.<layer>.<slot>``). ``shape`` = (L, S)
    expected from earlier calls, if any."""
    rows = _as_rows(counts)
    if not rows:
        raise ValueError("load: must have at least one layer")
    fast = _fast_counts(rows)
    if fast is not None:
        if shape is not None and (len(fast), len(fast[0])) != shape:
            raise ValueError(
                f"load: shape is {len(fast)}x{len(fast[0])} [layers x slots], expected {shape[0]}x{shape[1]} as in earlier steps"
            )
        return fast
    out: Counts = []
    width = None
    for l, row in enumerate(rows):
        if hasattr(row, "tolist"):
            row = row.tolist()
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise ValueError(f"load.{l}: must be an array of slot counts, got {type(row).__name__}")
        if width is None:
            width = len(row)
            if width == 0:
                raise ValueError("load.0: must have at least one slot")
        elif len(row) != width:
            raise ValueError(f"load.{l}: has {len(row)} slots, expected {width} (as layer 0)")
        clean = []
        for s, c in enumerate(row):
            # Fast path: a plain non-negative int (what .tolist() gives for integer dtypes).
            if type(c) is int:
                if c < 0:
                    raise ValueError(f"load.{l}.{s}: must be a non-negative count, got {c}")
                if c > MAX_SAFE_INTEGER:
                    raise ValueError(f"load.{l}.{s}: {c} exceeds {MAX_SAFE_INTEGER}")
                clean.append(c)
                continue
            if isinstance(c, bool):
                raise ValueError(f"load.{l}.{s}: must be an integer count, got {c!r}")
            if isinstance(c, float):
                # A float tensor of counts is fine when the values are whole numbers (the TS schema
                # sees 3.0 and 3 alike); 3.5, NaN or inf are not counts.
                if not math.isfinite(c) or c != math.floor(c):
                    raise ValueError(f"load.{l}.{s}: must be an integer count, got {c!r}")
                c = int(c)
            elif isinstance(c, int):
                c = int(c)
            else:
                raise ValueError(f"load.{l}.{s}: must be an integer count, got {c!r}")
            if c < 0:
                raise ValueError(f"load.{l}.{s}: must be a non-negative count, got {c}")
            if c > MAX_SAFE_INTEGER:
                raise ValueError(f"load.{l}.{s}: {c} exceeds {MAX_SAFE_INTEGER}")
            clean.append(c)
        out.append(clean)
    if shape is not None and (len(out), width) != shape:
        raise ValueError(
            f"load: shape is {len(out)}x{width} [layers x slots], expected {shape[0]}x{shape[1]} as in earlier steps"
        )
    return out


def format_ts(ts: Any = None) -> str:
    """ISO-8601 UTC with milliseconds and Z, like JavaScript's ``Date.toISOString()``.
    ``ts`` is None (now), a timezone-aware datetime, or seconds since the epoch."""
    if ts is None:
        dt = datetime.now(timezone.utc)
    elif isinstance(ts, datetime):
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise ValueError("ts: datetime must be timezone-aware (a naive time is ambiguous)")
        dt = ts.astimezone(timezone.utc)
    elif isinstance(ts, (int, float)) and not isinstance(ts, bool):
        if not math.isfinite(ts):
            raise ValueError(f"ts: must be finite, got {ts!r}")
        dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    else:
        raise ValueError(f"ts: must be None, an aware datetime or epoch seconds, got {ts!r}")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def check_layer_versions(layer_versions: Any, num_layers: int) -> Optional[List[int]]:
    """None (every layer on mapVersion) or one positive map version per layer."""
    if layer_versions is None:
        return None
    if hasattr(layer_versions, "tolist"):
        layer_versions = layer_versions.tolist()
    if isinstance(layer_versions, (str, bytes)) or not isinstance(layer_versions, Sequence):
        raise ValueError("layerVersions: must be a list of map versions, one per layer, or None")
    if len(layer_versions) != num_layers:
        raise ValueError(f"layerVersions: has {len(layer_versions)} entries, expected {num_layers} (one per layer)")
    return [_int(f"layerVersions.{i}", v, 1) for i, v in enumerate(layer_versions)]


def build_event(
    deployment: str,
    rank: int,
    step: int,
    counts: Any,
    map_version: int,
    *,
    layer_versions: Optional[Sequence[int]] = None,
    steps: int = 1,
    phase: str = "decode",
    ts: Any = None,
    shape: Optional[tuple] = None,
) -> dict:
    """Validates and returns one ``eplb.heat.v1`` event as a dict (key order as in docs/design.md)."""
    check_deployment(deployment)
    check_phase(phase)
    load = check_counts(counts, shape)
    lv = check_layer_versions(layer_versions, len(load))
    return {
        "v": 1,
        "deployment": deployment,
        "rank": _int("rank", rank, 0),
        "step": _int("step", step, 0),
        "steps": _int("steps", steps, 1, MAX_STEPS),
        "phase": phase,
        "mapVersion": _int("mapVersion", map_version, 1),
        "layerVersions": lv,
        "ts": format_ts(ts),
        "load": load,
    }


def encode_event(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _ts_ms(ts: str) -> int:
    dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return (int(dt.timestamp()) * 1000) + dt.microsecond // 1000


def encode_event_v2(event: dict) -> bytes:
    """The event (as ``build_event`` returns it) as ``eplb.heat.v2`` binary rows (docs/design.md,
    "Heat event, version 2"; the TypeScript codec is ``libs/contracts/src/heat/heat-event.v2.ts``):
    the same topic and key, read by the collector without parsing text. Counts travel as u32 when
    every one fits, else as f64."""
    dep = event["deployment"].encode("utf-8")
    load = event["load"]
    num_layers, slots = len(load), len(load[0])
    flat = list(chain.from_iterable(load))
    wide = max(flat) > _U32_MAX
    lv = event["layerVersions"]
    for field in ("rank", "steps", "mapVersion"):
        if event[field] > _U32_MAX:
            raise ValueError(f"{field}: {event[field]} does not fit version 2 (at most {_U32_MAX}); publish version 1")
    if lv is not None and max(lv) > _U32_MAX:
        raise ValueError(f"layerVersions: a version above {_U32_MAX} does not fit version 2; publish version 1")
    if num_layers > 0xFFFF or slots > 0xFFFF:
        raise ValueError(f"load: {num_layers} layers x {slots} slots is too large for version 2")
    flags = (_V2_LAYER_VERSIONS if lv is not None else 0) | (_V2_F64_COUNTS if wide else 0)
    parts = [
        struct.pack("<BBBB", HEAT_V2_FORMAT, PHASES.index(event["phase"]), flags, len(dep)),
        dep,
        struct.pack(
            "<IIIHHdd",
            event["rank"],
            event["steps"],
            event["mapVersion"],
            num_layers,
            slots,
            float(event["step"]),
            float(_ts_ms(event["ts"])),
        ),
    ]
    if lv is not None:
        parts.append(struct.pack(f"<{num_layers}I", *lv))
    parts.append(struct.pack(f"<{len(flat)}{'d' if wide else 'I'}", *flat))
    return b"".join(parts)


# --------------------------------------------------------------------------------------------
# Publisher
# --------------------------------------------------------------------------------------------


class HeatPublisher:
    """Non-blocking publisher of one rank's heat.

    ``publish_step`` validates, queues the event in librdkafka and returns at once; delivery runs
    in librdkafka's threads and is reported through ``poll``/``flush`` (called for you: ``poll(0)``
    after each publish). Delivery failures increment ``failed`` and call ``on_error(err, event_key)``
    if given; ``flush(timeout)`` returns how many events are still undelivered.

    Not thread-safe for concurrent ``publish_step`` calls on one instance beyond what librdkafka
    guarantees; one publisher per rank process is the intended use.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        deployment: str,
        rank: int,
        *,
        phase: str = "decode",
        topic: str = TOPIC,
        linger_ms: int = 20,
        compression: str = "gzip",
        allow_compression_collector_cannot_read: bool = False,
        max_block_s: float = 5.0,
        on_error: Optional[Callable[[Any, str], None]] = None,
        client_id: Optional[str] = None,
        extra_config: Optional[dict] = None,
        producer: Any = None,
        encoding: str = "v1",
    ) -> None:
        self.deployment = check_deployment(deployment)
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding: must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
        # v2: binary rows the collector reads without parsing text; same topic, key and checks
        self._encode = encode_event_v2 if encoding == "v2" else encode_event
        self.rank = _int("rank", rank, 0)
        self.phase = check_phase(phase)
        if compression not in COLLECTOR_CODECS:
            if compression not in OTHER_CODECS:
                raise ValueError(f"compression: must be one of {', '.join(COLLECTOR_CODECS + OTHER_CODECS)}, got {compression!r}")
            if not allow_compression_collector_cannot_read:
                raise ValueError(
                    f"compression: {compression!r} cannot be read by the collector (kafkajs decodes gzip only); "
                    "use 'gzip' or 'none', or pass allow_compression_collector_cannot_read=True"
                )
        if max_block_s < 0:
            raise ValueError("max_block_s: must be >= 0")
        self.topic = topic
        self.max_block_s = max_block_s
        self.on_error = on_error
        self._shape: Optional[tuple] = None
        self._lock = threading.Lock()
        self.sent = 0  # queued in librdkafka
        self.delivered = 0  # acknowledged by all in-sync replicas
        self.failed = 0  # delivery failed after librdkafka's retries
        self.backpressure_waits = 0  # times the queue was full and we polled before retrying
        self.last_error: Any = None
        self._closed = False
        if producer is None:
            from confluent_kafka import Producer  # imported late: unit tests run without it

            config = {
                "bootstrap.servers": bootstrap_servers,
                "client.id": client_id or f"eplb-heat-{deployment}-{self.rank}",
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": linger_ms,
                "compression.type": compression,
            }
            config.update(extra_config or {})
            producer = Producer(config)
        self._producer = producer

    @property
    def shape(self) -> Optional[tuple]:
        """(L, S) fixed by the first published step."""
        return self._shape

    def _on_delivery(self, err: Any, msg: Any) -> None:
        with self._lock:
            if err is None:
                self.delivered += 1
                return
            self.failed += 1
            self.last_error = err
        if self.on_error is not None:
            try:
                key = msg.key().decode() if msg is not None and msg.key() is not None else self.deployment
            except Exception:  # noqa: BLE001 - the report must not break the poll loop
                key = self.deployment
            self.on_error(err, key)

    def build(self, step: int, counts: Any, map_version: int, layer_versions=None, steps: int = 1, ts=None, phase=None) -> dict:
        event = build_event(
            self.deployment,
            self.rank,
            step,
            counts,
            map_version,
            layer_versions=layer_versions,
            steps=steps,
            phase=self.phase if phase is None else phase,
            ts=ts,
            shape=self._shape,
        )
        if self._shape is None:
            self._shape = (len(event["load"]), len(event["load"][0]))
        return event

    def publish_step(
        self,
        step: int,
        counts: Any,
        map_version: int,
        layer_versions: Optional[Sequence[int]] = None,
        steps: int = 1,
        ts: Any = None,
        *,
        phase: Optional[str] = None,
    ) -> dict:
        """Validates and queues one event; returns it (as a dict). Raises ValueError naming the
        field on bad input, HeatBackpressureError when the queue stays full for ``max_block_s``."""
        if self._closed:
            raise RuntimeError("publisher is closed")
        event = self.build(step, counts, map_version, layer_versions, steps, ts, phase)
        self._produce(self._encode(event))
        return event

    def _produce(self, value: bytes) -> None:
        key = self.deployment.encode()
        deadline = None
        while True:
            try:
                self._producer.produce(self.topic, value=value, key=key, on_delivery=self._on_delivery)
                break
            except BufferError:
                # Local queue full: serve delivery reports (which frees space) and retry, bounded.
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.max_block_s
                if now >= deadline:
                    raise HeatBackpressureError(
                        f"heat queue for {self.deployment}/{self.rank} full for {self.max_block_s}s; event not queued"
                    ) from None
                self.backpressure_waits += 1
                self._producer.poll(min(0.05, max(0.0, deadline - now)))
        self.sent += 1
        self._producer.poll(0)

    def poll(self, timeout: float = 0) -> int:
        """Serves delivery reports; returns how many were served."""
        return self._producer.poll(timeout)

    def flush(self, timeout: float = 10.0) -> int:
        """Waits up to ``timeout`` seconds for outstanding events; returns how many are still
        undelivered (0 = everything queued so far was acknowledged or reported failed)."""
        return self._producer.flush(timeout)

    @property
    def pending(self) -> int:
        return len(self._producer)

    def stats(self) -> dict:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "pending": self.pending,
            "backpressure_waits": self.backpressure_waits,
        }

    def close(self, timeout: float = 10.0) -> int:
        """Flushes and stops publishing; returns how many events are still undelivered."""
        if self._closed:
            return self.pending
        self._closed = True
        return self.flush(timeout)

    def __enter__(self) -> "HeatPublisher":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class HeatAccumulator:
    """Sums per-step counts and publishes one event every ``every`` steps (with ``steps=every``).

    A window is closed early — published with the steps it has — when the map in force changes
    (``map_version`` or ``layer_versions``), when steps are not consecutive, or on ``flush()``:
    heat measured under different maps, or with a gap, must not be summed into one event.
    """

    def __init__(self, publisher: HeatPublisher, every: int) -> None:
        self.publisher = publisher
        self.every = _int("every", every, 1, MAX_STEPS)
        self._sum: Optional[Counts] = None
        self._start = 0
        self._count = 0
        self._map_version = 0
        self._layer_versions: Optional[list] = None
        self._phase: Optional[str] = None

    @property
    def pending_steps(self) -> int:
        return self._count

    def add(self, step: int, counts: Any, map_version: int, layer_versions=None, *, phase: Optional[str] = None) -> Optional[dict]:
        """Adds one step; returns the published event when a window closed with this step, the one
        closed early if this step started a new window, or None."""
        step = _int("step", step, 0)
        map_version = _int("mapVersion", map_version, 1)
        if phase is not None:
            check_phase(phase)
        rows = check_counts(counts, self.publisher.shape)
        lv = check_layer_versions(layer_versions, len(rows))
        published = None
        if self._count and (
            step != self._start + self._count
            or map_version != self._map_version
            or lv != self._layer_versions
            or phase != self._phase
        ):
            published = self.flush()
        if self._count == 0:
            self._sum = rows
            self._start, self._map_version, self._layer_versions, self._phase = step, map_version, lv, phase
        else:
            if len(rows) != len(self._sum) or len(rows[0]) != len(self._sum[0]):
                raise ValueError(f"load: shape is {len(rows)}x{len(rows[0])}, expected {len(self._sum)}x{len(self._sum[0])}")
            for acc, row in zip(self._sum, rows):
                for i, c in enumerate(row):
                    acc[i] += c
        self._count += 1
        if self._count >= self.every:
            return self.flush()
        return published

    def flush(self) -> Optional[dict]:
        """Publishes the open window (if any) with the steps it has."""
        if not self._count:
            return None
        event = self.publisher.publish_step(
            self._start, self._sum, self._map_version, self._layer_versions, steps=self._count, phase=self._phase
        )
        self._sum, self._count = None, 0
        return event
