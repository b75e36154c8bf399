"""Heat publisher for inference-engine workers: ``eplb.heat.v1`` events to Kafka.

    from eplb_heat import HeatPublisher
    pub = HeatPublisher("kafka:9092", "dsv3-a", rank=3)
    pub.publish_step(step, counts, map_version)   # counts: [L][S] list, numpy array or torch tensor
    ...
    pub.close()
"""

from .publisher import (
    COLLECTOR_CODECS,
    ENCODINGS,
    PHASES,
    TOPIC,
    HeatAccumulator,
    HeatBackpressureError,
    HeatPublisher,
    build_event,
    check_counts,
    encode_event,
    encode_event_v2,
    format_ts,
)

__all__ = [
    "COLLECTOR_CODECS",
    "ENCODINGS",
    "PHASES",
    "TOPIC",
    "HeatAccumulator",
    "HeatBackpressureError",
    "HeatPublisher",
    "build_event",
    "check_counts",
    "encode_event",
    "encode_event_v2",
    "format_ts",
]
