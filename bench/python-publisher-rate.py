"""One process publishing one rank's DeepSeek-V3 heat (58 layers x 5 slots) as fast as it can
through eplb_heat.HeatPublisher, for bench/python-publisher.bench.ts. Prints one JSON line.

argv: bootstrap servers, topic, deployment id, seconds, compression (gzip | none).
"""

import json
import os
import random
import resource
import sys
import time

from eplb_heat import HeatPublisher

servers, topic, deployment, seconds, compression = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
L, S = 58, 5
rng = random.Random(7)
# what a worker hands over: .tolist() of an integer tensor, a fresh one each step
loads = [[[rng.randrange(0, 4000) for _ in range(S)] for _ in range(L)] for _ in range(64)]

pub = HeatPublisher(servers, deployment, rank=0, topic=topic, compression=compression, max_block_s=30.0)
cpu0 = resource.getrusage(resource.RUSAGE_SELF)
start = time.monotonic()
step = 0
while time.monotonic() - start < seconds:
    for _ in range(256):
        pub.publish_step(step, loads[step % 64], 1)
        step += 1
queued_s = time.monotonic() - start
left = pub.close(120.0)
total_s = time.monotonic() - start
cpu1 = resource.getrusage(resource.RUSAGE_SELF)
cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
print(json.dumps({
    "compression": compression,
    "events": step,
    "delivered": pub.delivered,
    "failed": pub.failed,
    "undelivered": left,
    "queued_per_s": round(step / queued_s),
    "delivered_per_s": round(pub.delivered / total_s),
    "cpu_s": round(cpu_s, 2),
    "cpu_us_per_event": round(cpu_s / max(1, step) * 1e6, 1),
    "backpressure_waits": pub.backpressure_waits,
    "pid": os.getpid(),
}))
