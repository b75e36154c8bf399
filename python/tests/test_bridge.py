"""The bridge on a real 2-process gloo group (CPU): P2P staging, commit at a step boundary,
abort, a late peer. Run: /usr/bin/python3 -m unittest discover -s python/tests
"""

import datetime
import multiprocessing as mp
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bridge_plans  # noqa: E402
from bridge_plans import outcome, wait_for  # noqa: E402

try:
    import torch
    import torch.distributed as dist
except ImportError:  # scripts/python-deps.sh installs Debian's python3-torch
    torch = None

S = 4
LAYERS = 2
KINDS = [(8, 4), (4, 4)]  # w13, w2 of one expert, float16


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_bridge(rank, rows, store):
    from eplb_bridge import ExpertBridge, fill_reference
    weights, experts = [], []
    for layer, row in enumerate(rows):
        mine = row[rank * S:(rank + 1) * S]
        tensors = [torch.empty((S,) + d, dtype=torch.float16) for d in KINDS]
        fill_reference(tensors, layer, mine)
        weights.append(tensors)
        experts.append(mine)
    return ExpertBridge(rank, S, weights, experts, 1, dist.PrefixStore("eplb-bridge/", store))


def reference_sums(layer, experts):
    from eplb_bridge import expert_checksum, fill_reference
    tensors = [torch.empty((len(experts),) + d, dtype=torch.float16) for d in KINDS]
    fill_reference(tensors, layer, experts)
    return [expert_checksum([t[j] for t in tensors]) for j in range(len(experts))]


def lists_for(rank, cur, nxt):
    return bridge_plans.lists_for(rank, cur, nxt, 2, S)


def worker(rank, port, scenario, out):
    try:
        store = dist.TCPStore("127.0.0.1", port, 2, rank == 0, timeout=datetime.timedelta(seconds=30))
        dist.init_process_group("gloo", store=dist.PrefixStore("pg/", store), rank=rank, world_size=2, timeout=datetime.timedelta(seconds=30))
        out.put((rank, SCENARIOS[scenario](rank, store)))
        dist.barrier()
        dist.destroy_process_group()
    except Exception as e:  # the parent asserts on what each rank returned
        out.put((rank, {"error": repr(e)}))


CUR = [[0, 1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1, 0]]
# layer 0: experts cross ranks both ways, one local copy, and a second slot of an arriving expert
NXT = [[4, 1, 5, 0, 4, 0, 6, 4], [7, 6, 5, 4, 3, 2, 1, 0]]


def scenario_move(rank, store):
    b = make_bridge(rank, CUR, store)
    local, recv, send = lists_for(rank, CUR[0], NXT[0])
    staged = b.prepare(0, "r1", 1, 2, NXT[0], local, recv, send)
    live_during = b.describe([0])[0]
    engine = threading.Thread(target=lambda: [b.step_boundary() or time.sleep(0.002) for _ in range(200)])
    engine.start()
    holdings = b.commit(0, "r1")
    again = b.commit(0, "r1")
    engine.join()
    return {"staged": staged, "live_during": live_during, "holdings": holdings, "again": again, "left": b.staged_layers(), "lists": (local, recv, send)}


def scenario_abort(rank, store):
    b = make_bridge(rank, CUR, store)
    local, recv, send = lists_for(rank, CUR[0], NXT[0])
    other = b.prepare(1, "r0", 1, 1, CUR[1], [], [], [])  # another rollout's staging of another layer
    result = {}

    def run():
        result["prepare"] = outcome(lambda: b.prepare(0, "r1", 1, 2, NXT[0], local, recv, send, bytes_per_second=100))
    t = threading.Thread(target=run)
    t.start()
    # Neither rank aborts before both prepares run: a rank aborting first fails its peer's prepare
    # within milliseconds, before that peer's main thread may have seen it start. The pair's
    # agreement waits for both sides, and at this cap the transfer takes 0.6 s or more, so
    # both are still preparing when the aborts land.
    wait_for(lambda: b._preparing or not t.is_alive())
    store.add("abort/started", 1)
    wait_for(lambda: store.add("abort/started", 0) >= 2)
    b.abort(0, "other-rollout")  # not ours to drop
    b.abort(0, "r1")
    t.join()
    return {"prepare": result["prepare"], "staged": b.staged_layers(), "live": b.describe([0])[0], "other": other}


def scenario_late(rank, store):
    b = make_bridge(rank, CUR, store)
    local, recv, send = lists_for(rank, CUR[0], NXT[0])
    if rank == 1:
        time.sleep(1.5)  # this rank's agent is late: rank 0 gives up on it first
    t0 = time.monotonic()
    first = outcome(lambda: b.prepare(0, "r1", 1, 2, NXT[0], local, recv, send, timeout_s=0.5))
    # the pair is still usable: the next attempt of the layer goes through on both ranks
    staged = b.prepare(0, "r1", 2, 2, NXT[0], local, recv, send, timeout_s=20)
    return {"outcome": first, "waited": time.monotonic() - t0, "retry": staged}


def scenario_peer_aborted(rank, store):
    """Rank 1's layer is aborted while it waits for rank 0 to join: rank 0, joining after, fails
    the layer naming that abort, not a wait of its own."""
    b = make_bridge(rank, CUR, store)
    local, recv, send = lists_for(rank, CUR[0], NXT[0])
    result = {}

    def run():
        result["outcome"] = outcome(lambda: b.prepare(0, "r1", 1, 2, NXT[0], local, recv, send, timeout_s=20))
    if rank == 1:
        t = threading.Thread(target=run)
        t.start()
        while not b._preparing:
            time.sleep(0.001)
        b.abort(0, "r1")
        t.join()
        store.set("peer-aborted/decided", "1")
    else:
        store.wait(["peer-aborted/decided"])
        run()
    return result


def scenario_two_layers(rank, store):
    """Two layers prepared at once (an agent holding several layers staged), committed at one boundary."""
    rows = [CUR[0], CUR[1]]
    nxt = [NXT[0], list(reversed(CUR[1]))]
    b = make_bridge(rank, rows, store)
    staged = {}

    def run(layer):
        local, recv, send = lists_for(rank, rows[layer], nxt[layer])
        staged[layer] = b.prepare(layer, "r1", 1, 2, nxt[layer], local, recv, send)
    ts = [threading.Thread(target=run, args=(layer,)) for layer in (0, 1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    both = b.staged_layers()
    done = {}
    cs = [threading.Thread(target=lambda layer=layer: done.__setitem__(layer, b.commit(layer, "r1"))) for layer in (0, 1)]
    for t in cs:
        t.start()
    while len(b._pending) < 2:
        time.sleep(0.001)
    swapped = b.step_boundary()
    for t in cs:
        t.join()
    return {"both": both, "swapped": sorted(swapped), "holdings": [done[0], done[1]], "next": nxt}


def scenario_fails_mid_transfer(rank, store):
    """Rank 0's prepare fails part-way through a transfer both ranks went ahead with (here its
    pacing raises; before, a pacing sleep given a negative length when the thread was descheduled
    between two clock reads): rank 1 must not be left waiting for ops rank 0 never posted, and the
    pair must carry the next attempt."""
    import eplb_bridge.bridge as bridge_module
    b = make_bridge(rank, CUR, store)
    local, recv, send = lists_for(rank, CUR[0], NXT[0])
    if rank == 0:
        real, calls = bridge_module._sleep_until, []

        def failing(due):
            calls.append(due)
            if len(calls) == 2:
                raise RuntimeError("pacing failed mid-transfer")
            real(due)
        bridge_module._sleep_until = failing
    try:
        b.prepare(0, "r1", 1, 2, NXT[0], local, recv, send, bytes_per_second=600, timeout_s=20)
        first = "ok"
    except Exception as e:
        first = str(e)
    finally:
        if rank == 0:
            bridge_module._sleep_until = real
    retry = b.prepare(0, "r1", 2, 2, NXT[0], local, recv, send, timeout_s=20)
    return {"first": first, "retry": retry, "recv": len(recv), "preparing": b.preparing_layers()}


def scenario_abort_overtakes_prepare(rank, store):
    """The agent sent PREPARE then ABORT of attempt 1, but the abort's thread ran first: the
    prepare must not start (and stage weights nobody drops); attempt 2 runs."""
    b = make_bridge(rank, CUR, store)
    local, recv, send = lists_for(rank, CUR[0], NXT[0])
    b.abort(0, "r1", 1)
    b.abort(0, "r0", 7)  # another rollout's abort is not this one's
    first = outcome(lambda: b.prepare(0, "r1", 1, 2, NXT[0], local, recv, send, timeout_s=20))
    after_first = b.staged_layers()
    retry = b.prepare(0, "r1", 2, 2, NXT[0], local, recv, send, timeout_s=20)
    return {"first": first, "after_first": after_first, "retry": retry}


SCENARIOS = {"peer_aborted": scenario_peer_aborted, "overtaken": scenario_abort_overtakes_prepare, "mid": scenario_fails_mid_transfer, "move": scenario_move, "abort": scenario_abort, "late": scenario_late, "two": scenario_two_layers}


def run_pair(scenario):
    # fork: the children inherit the imported torch (an import takes seconds on a loaded machine)
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    port = free_port()
    ps = [ctx.Process(target=worker, args=(r, port, scenario, out)) for r in range(2)]
    for p in ps:
        p.start()
    try:
        got = dict(out.get(timeout=120) for _ in ps)
    finally:
        for p in ps:
            p.join(60)
            # a rank stuck past the other's failure would keep the test process from exiting
            if p.is_alive():
                p.kill()
                p.join()
    return got


@unittest.skipIf(torch is None, "python3-torch is not installed (scripts/python-deps.sh)")
class BridgeOnGlooTest(unittest.TestCase):
    def test_prepare_stages_off_the_live_weights_and_commit_swaps_at_the_step_boundary(self):
        got = run_pair("move")
        for rank in range(2):
            r = got[rank]
            self.assertNotIn("error", r, r)
            old, new = CUR[0][rank * S:rank * S + S], NXT[0][rank * S:rank * S + S]
            # the staged slots hold the new experts' reference bytes
            want = {str(p): reference_sums(0, [NXT[0][p]])[0] for p in range(rank * S, rank * S + S) if NXT[0][p] != CUR[0][p]}
            self.assertEqual({str(k): v for k, v in r["staged"].items()}, want)
            # serving weights untouched while staged
            self.assertEqual(r["live_during"]["experts"], old)
            self.assertEqual(r["live_during"]["checksums"], reference_sums(0, old))
            self.assertEqual(r["holdings"]["experts"], new)
            self.assertEqual(r["holdings"]["checksums"], reference_sums(0, new))
            self.assertEqual(r["holdings"]["version"], 2)
            self.assertEqual(r["again"], r["holdings"])
            self.assertEqual(r["left"], [])
        # the plan exercised every kind of write: peer receives both ways and local copies
        self.assertTrue(got[0]["lists"][1] and got[1]["lists"][1] and (got[0]["lists"][0] or got[1]["lists"][0]))

    def test_two_layers_staged_at_once_swap_at_one_step_boundary(self):
        got = run_pair("two")
        for rank in range(2):
            r = got[rank]
            self.assertNotIn("error", r, r)
            self.assertEqual(r["both"], [0, 1])
            self.assertEqual(r["swapped"], [0, 1])
            for layer in (0, 1):
                row = r["next"][layer][rank * S:rank * S + S]
                self.assertEqual(r["holdings"][layer]["experts"], row)
                self.assertEqual(r["holdings"][layer]["checksums"], reference_sums(layer, row))

    def test_abort_mid_prepare_drops_only_that_rollouts_staging(self):
        got = run_pair("abort")
        for rank in range(2):
            r = got[rank]
            self.assertNotIn("error", r, r)
            self.assertIn("aborted", r["prepare"])
            self.assertEqual(r["staged"], [1])  # rollout r0's staging of layer 1 stays
            self.assertEqual(r["live"]["experts"], CUR[0][rank * S:rank * S + S])
            self.assertEqual(r["live"]["checksums"], reference_sums(0, CUR[0][rank * S:rank * S + S]))

    def test_a_failure_part_way_through_a_transfer_still_posts_every_agreed_op_and_the_pair_carries_the_next_attempt(self):
        got = run_pair("mid")
        for rank in range(2):
            self.assertNotIn("error", got[rank], got[rank])
        self.assertGreaterEqual(got[0]["recv"], 2)  # rank 0 paces at least two receives: the failure lands between them
        self.assertIn("pacing failed mid-transfer", got[0]["first"])
        # rank 1 got everything rank 0 sends and sent everything rank 0 had agreed to receive
        self.assertEqual(got[1]["first"], "ok")
        for rank in range(2):
            want = {p: reference_sums(0, [NXT[0][p]])[0] for p in range(rank * S, rank * S + S) if NXT[0][p] != CUR[0][p]}
            self.assertEqual(got[rank]["retry"], want)
            self.assertEqual(got[rank]["preparing"], [])

    def test_a_prepare_whose_abort_ran_first_does_not_start_and_the_next_attempt_runs(self):
        got = run_pair("overtaken")
        for rank in range(2):
            r = got[rank]
            self.assertNotIn("error", r, r)
            self.assertIn("aborted before it started", r["first"])
            self.assertEqual(r["after_first"], [])
            want = {p: reference_sums(0, [NXT[0][p]])[0] for p in range(rank * S, rank * S + S) if NXT[0][p] != CUR[0][p]}
            self.assertEqual(r["retry"], want)

    def test_a_late_peer_fails_the_layer_on_both_ranks_without_hanging_and_the_next_attempt_runs(self):
        got = run_pair("late")
        for rank in range(2):
            self.assertNotIn("error", got[rank], got[rank])
            self.assertIn("abandoned", got[rank]["outcome"])
            self.assertTrue(got[rank]["retry"])
        self.assertIn("did not join", got[0]["outcome"])
        self.assertIn("rank 0 gave it up (rank(s) 1 did not join in its time)", got[1]["outcome"])

    def test_a_peer_whose_layer_was_aborted_is_named_as_the_cause_on_the_other_side(self):
        got = run_pair("peer_aborted")
        for rank in range(2):
            self.assertNotIn("error", got[rank], got[rank])
        self.assertIn("abandoned: aborted", got[1]["outcome"])
        self.assertIn("abandoned: rank 1 gave it up (its layer was aborted)", got[0]["outcome"])


@unittest.skipIf(torch is None, "python3-torch is not installed (scripts/python-deps.sh)")
class ReferenceWeightsTest(unittest.TestCase):
    def test_the_bytes_are_weights_ts_stream(self):
        import hashlib
        from eplb_bridge import expert_bytes
        # expectedChecksum(3, 5, 1030) of libs/device/src/weights.ts (a tail of 2 bytes included)
        self.assertEqual(hashlib.sha256(expert_bytes(3, [5], 1030)[0].tobytes()).hexdigest(),
                         "a12b3ad79b4b907226527aa99772828d74f3a32c63eb6ff5e080fb8eae077f17")

    def test_an_expert_checksum_covers_its_tensors_in_weight_order(self):
        import hashlib
        from eplb_bridge import expert_bytes, expert_checksum, fill_reference
        tensors = [torch.empty((2,) + d, dtype=torch.float16) for d in KINDS]
        fill_reference(tensors, 1, [9, 3])
        nbytes = sum(2 * d[0] * d[1] for d in KINDS)
        self.assertEqual(expert_checksum([t[1] for t in tensors]), hashlib.sha256(expert_bytes(1, [3], nbytes)[0].tobytes()).hexdigest())


if __name__ == "__main__":
    unittest.main()
