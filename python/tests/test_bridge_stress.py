"""Many layers' transfers at once, round after round, on a real 4-process gloo group (CPU), with
an engine thread swapping at step boundaries and a prober reading the live weights, as in
service: every rank finishes every round, holding exactly what the new rows say.

It guards against native faults that only show under this concurrency: the bridge once died with
SIGSEGV every few dozen rounds here, from a torch binding that corrupted the interpreter's heap
when called from several threads. Run: /usr/bin/python3 -m unittest discover -s python/tests
"""

import datetime
import multiprocessing as mp
import os
import random
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bridge_plans import lists_for, outcome, wait_for  # noqa: E402

try:
    import torch
    import torch.distributed as dist
except ImportError:  # scripts/python-deps.sh installs Debian's python3-torch
    torch = None

WORLD, S, LAYERS, EXPERTS, ROUNDS = 4, 4, 8, 12, 15
KINDS = [(64, 32), (32, 32)]  # w13, w2 of one expert, float16


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rows_of(seed):
    """A map: per layer every expert at least once, no expert twice on one rank."""
    rng = random.Random(seed)
    while True:
        rows = []
        for _ in range(LAYERS):
            row = list(range(EXPERTS)) + [rng.randrange(EXPERTS) for _ in range(WORLD * S - EXPERTS)]
            rng.shuffle(row)
            rows.append(row)
        if all(len(set(row[r * S:(r + 1) * S])) == S for row in rows for r in range(WORLD)):
            return rows


def report(out, rank, result):
    """Puts the rank's result and waits until it has left this process, which exits at once after
    (the queue writes from a thread of its own)."""
    out.put((rank, result))
    out.close()
    out.join_thread()


def worker(rank, port, out):
    try:
        from eplb_bridge import ExpertBridge, expert_checksum, fill_reference
        store = dist.TCPStore("127.0.0.1", port, WORLD, rank == 0, timeout=datetime.timedelta(seconds=60))
        dist.init_process_group("gloo", store=dist.PrefixStore("pg/", store), rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=60))
        cur = rows_of(0)
        weights = []
        for layer, row in enumerate(cur):
            tensors = [torch.empty((S,) + d, dtype=torch.float16) for d in KINDS]
            fill_reference(tensors, layer, row[rank * S:(rank + 1) * S])
            weights.append(tensors)
        b = ExpertBridge(rank, S, weights, [row[rank * S:(rank + 1) * S] for row in cur], 1, dist.PrefixStore("eplb-bridge/", store))
        stop = threading.Event()

        def engine():
            while not stop.is_set():
                for layer_weights in weights:
                    for w in layer_weights:
                        w.view(-1)[0].item()
                time.sleep(0.002)
                b.step_boundary()

        def prober():
            while not stop.is_set():
                b.describe()
                time.sleep(0.02)
        for f in (engine, prober):
            threading.Thread(target=f, daemon=True).start()
        failures = []
        for rnd in range(ROUNDS):
            nxt = rows_of(rnd + 1)
            results = {}

            def prepare(layer, rnd=rnd, nxt=nxt, results=results):
                local, recv, send = lists_for(rank, cur[layer], nxt[layer], WORLD, S)
                # every other layer paced, so some layers' receives are still being posted while others finish
                results[layer] = outcome(lambda: b.prepare(layer, f"r{rnd}", 1, rnd + 2, nxt[layer], local, recv, send,
                                                           bytes_per_second=400_000 if layer % 2 else None, timeout_s=30))
            threads = [threading.Thread(target=prepare, args=(layer,)) for layer in range(LAYERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            failures += [(rnd, layer, r) for layer, r in results.items() if r != "ok"]
            if failures:
                break
            for layer in range(LAYERS):
                b.commit(layer, f"r{rnd}")
            cur = nxt
        stop.set()
        held = b.describe()
        want = []
        for layer, row in enumerate(cur):
            tensors = [torch.empty((S,) + d, dtype=torch.float16) for d in KINDS]
            fill_reference(tensors, layer, row[rank * S:(rank + 1) * S])
            want.append([expert_checksum([t[j] for t in tensors]) for j in range(S)])
        report(out, rank, {"failures": failures, "rounds": rnd + 1, "experts": [h["experts"] for h in held], "want_experts": [row[rank * S:(rank + 1) * S] for row in cur],
                        "checksums": [h["checksums"] for h in held], "want_checksums": want})
        # no rank leaves while another still talks to the group, and rank 0, which hosts the store,
        # leaves last: the others' last store call is the one that says they are leaving
        store.add("stress/done", 1)
        settled = wait_for(lambda: store.add("stress/done", 0) >= WORLD)
        if rank == 0:
            settled = wait_for(lambda: store.add("stress/left", 0) >= WORLD - 1) and settled
        else:
            store.add("stress/left", 1)
        os._exit(0 if settled else 2)
    except Exception as e:  # the parent asserts on what each rank returned
        report(out, rank, {"error": repr(e)})
        os._exit(1)


@unittest.skipIf(torch is None, "python3-torch is not installed (scripts/python-deps.sh)")
class BridgeUnderConcurrencyTest(unittest.TestCase):
    def test_every_round_of_concurrent_layer_transfers_completes_on_every_rank_with_the_new_rows(self):
        ctx = mp.get_context("fork")
        out = ctx.Queue()
        port = free_port()
        ps = [ctx.Process(target=worker, args=(r, port, out)) for r in range(WORLD)]
        for p in ps:
            p.start()
        got = {}
        try:
            for _ in ps:
                rank, result = out.get(timeout=240)
                got[rank] = result
        finally:
            for p in ps:
                p.join(90)
                if p.exitcode is None:  # hung: the assertion below reports it, and nothing is left running
                    p.kill()
                    p.join()
        # a rank that died in native code reports nothing and exits by a signal
        self.assertEqual([p.exitcode for p in ps], [0] * WORLD, f"exit codes {[p.exitcode for p in ps]}; reports {sorted(got)}")
        for rank in range(WORLD):
            r = got[rank]
            self.assertNotIn("error", r, r)
            self.assertEqual(r["failures"], [])
            self.assertEqual(r["rounds"], ROUNDS)
            self.assertEqual(r["experts"], r["want_experts"])
            self.assertEqual(r["checksums"], r["want_checksums"])


if __name__ == "__main__":
    unittest.main()
