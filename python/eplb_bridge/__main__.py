"""A stand-alone bridge worker: one EP rank with reference weights and a driver loop playing the
engine (it reads the live weights as a forward pass would and calls step_boundary() between
passes). Tests and benches run it; an engine embeds ExpertBridge instead.

  /usr/bin/python3 -m eplb_bridge --rank R --world-size W --store 127.0.0.1:PORT \
      --socket /run/eplb/dep/rank-R.sock --map-file MAP.json --weights w13:64x32,w2:32x32 [--dtype float16]

MAP.json is the agent's map file: {shape: {numLayers, numExperts, numRanks, slotsPerRank,
numNodes}, version, physicalToLogical}. Rank 0 hosts the TCP store. Prints one JSON line
{"ready": true, ...} once the process group is up and the socket listens.
"""

import argparse
import datetime
import faulthandler
import json
import os
import signal
import sys
import threading
import time

import torch
import torch.distributed as dist

from .bridge import ExpertBridge
from .server import BridgeServer
from .weights import fill_reference


def parse_weights(spec):
    out = []
    for part in spec.split(","):
        name, dims = part.split(":")
        out.append((name, tuple(int(d) for d in dims.split("x"))))
    return out


def main(argv=None):
    # a crash in native code (torch, gloo) kills the process without a Python traceback: print
    # every thread's Python stack on SIGSEGV, SIGFPE, SIGABRT and SIGBUS first, so the bridge's
    # stderr says where it was
    faulthandler.enable()
    ap = argparse.ArgumentParser(prog="eplb_bridge")
    ap.add_argument("--rank", type=int, required=True)
    ap.add_argument("--world-size", type=int, required=True)
    ap.add_argument("--store", required=True, help="HOST:PORT of the TCP store (rank 0 hosts it)")
    ap.add_argument("--socket", required=True)
    ap.add_argument("--map-file", required=True)
    ap.add_argument("--weights", default="w13:64x32,w2:32x32", help="name:dims per weight kind of one expert")
    ap.add_argument("--dtype", default="float16")
    ap.add_argument("--backend", default="gloo")
    ap.add_argument("--step-ms", type=float, default=2.0, help="the driver loop's forward pass")
    ap.add_argument("--pg-timeout-s", type=float, default=120.0)
    a = ap.parse_args(argv)

    with open(a.map_file) as f:
        m = json.load(f)
    shape, rows = m["shape"], m["physicalToLogical"]
    S = shape["slotsPerRank"]
    host, port = a.store.rsplit(":", 1)
    timeout = datetime.timedelta(seconds=a.pg_timeout_s)
    store = dist.TCPStore(host, int(port), a.world_size, a.rank == 0, timeout=timeout)
    dist.init_process_group(a.backend, store=dist.PrefixStore("pg/", store), rank=a.rank, world_size=a.world_size, timeout=timeout)
    device = torch.device("cuda", torch.cuda.current_device()) if a.backend == "nccl" else None

    dtype = getattr(torch, a.dtype)
    kinds = parse_weights(a.weights)
    weights, experts = [], []
    for layer, row in enumerate(rows):
        mine = row[a.rank * S:(a.rank + 1) * S]
        tensors = [torch.empty((S,) + dims, dtype=dtype) for _, dims in kinds]
        fill_reference(tensors, layer, mine)
        weights.append([t.to(device) for t in tensors] if device is not None else tensors)
        experts.append(mine)

    def checkpoint(layer, expert):
        tensors = [torch.empty((1,) + dims, dtype=dtype) for _, dims in kinds]
        fill_reference(tensors, layer, [expert])
        return [t[0] for t in tensors]

    bridge = ExpertBridge(a.rank, S, weights, experts, m["version"], dist.PrefixStore("eplb-bridge/", store),
                          device=device, checkpoint=checkpoint)
    server = BridgeServer(bridge, a.socket, log=lambda msg: print(json.dumps({"rank": a.rank, "msg": msg}), file=sys.stderr, flush=True)).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(json.dumps({"ready": True, "rank": a.rank, "socket": a.socket, "layers": len(rows), "slotsPerRank": S,
                      "expertBytes": sum(w[0].numel() * w[0].element_size() for w in weights[0])}), flush=True)
    steps = 0
    try:
        while not stop.is_set():
            # a forward pass reads the live weights; the swap happens only between passes
            for layer_weights in weights:
                for w in layer_weights:
                    w.view(-1)[0].item()
            time.sleep(a.step_ms / 1000)
            bridge.step_boundary()
            steps += 1
    except KeyboardInterrupt:
        pass
    server.close()
    # Exit without the interpreter's finalisation: request threads may still sit in gloo (a
    # transfer's wait), and finalising under them ends in std::terminate (SIGABRT) when such a
    # thread wakes to take the GIL. The peers see this rank's connections close either way, as
    # after destroy_process_group.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
