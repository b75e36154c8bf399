"""The worker side of an EPLB rollout: one ExpertBridge per engine rank.

The engine hands the bridge its MoE expert weights — per layer, one tensor per weight kind (e.g.
w13 and w2) shaped [slots per rank, ...], slot j holding the logical expert experts[layer][j] —
and calls `step_boundary()` between two forward passes. The node's agent drives the bridge over a
local socket (server.py):

- prepare: the layer's transfer as torch.distributed P2P (`batch_isend_irecv` of `P2POp`s; copies
  within the rank as local copies) into a staging buffer, off the serving path (a worker thread;
  on a GPU a side CUDA stream), at most `bytes_per_second`; answers the staged slots' checksums.
- commit: at the engine's next step boundary, the staged slots are copied into the live tensors
  in place (the engine's references stay valid) and the layer's row changes; answers the holdings.
- abort: drops that rollout's staging of the layer only; the live weights are never touched.

Several layers may be staged at once (staging is per layer and names its rollout), so an agent
may hold a few layers prepared ahead of their commits.
"""

import contextlib
import threading
import time
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from .transfers import SerialStore, abandon_reason, agree, ordered, transfer_tag
from .weights import expert_checksum


class BridgeError(Exception):
    pass


# rollouts per layer whose aborts are remembered: a prepare is overtaken by the abort sent right
# after it, so only the few newest rollouts can still have one on its way
_ABORTS_KEPT = 4


@dataclass
class _Staging:
    rollout: str
    attempt: int
    version: int
    row: list
    # slot (global physical index) -> the expert's tensors, one per weight kind
    slots: dict
    experts: dict


@dataclass
class _Preparing:
    rollout: str
    attempt: int
    aborted: bool = False


@dataclass
class _PendingCommit:
    layer: int
    staging: _Staging
    done: threading.Event = field(default_factory=threading.Event)
    error: str = ""


class ExpertBridge:
    def __init__(self, rank, slots_per_rank, weights, experts, version, store, group=None,
                 global_rank=None, device=None, checkpoint=None, on_commit=None):
        """
        rank: this worker's EP rank (the deployment's rank number); slots_per_rank: S.
        weights[layer]: list of tensors [S, ...], one per weight kind, the live expert weights.
        experts[layer]: the logical expert of each of the S slots; version: map version (int or per layer).
        store: a torch.distributed Store shared by the EP ranks (the engine's, or a TCPStore).
        group: the process group the P2P ops run in (None: the default group).
        global_rank(r): the group's global rank of EP rank r (default: the same number).
        checkpoint(layer, expert): the expert's tensors read from the model checkpoint (repairs).
        on_commit(layer, row): called at the step boundary after a layer swapped (the engine
        updates its routing tables from the full physical_to_logical row).
        """
        self.rank = rank
        self.S = slots_per_rank
        self.weights = weights
        self.experts = [list(e) for e in experts]
        self.versions = list(version) if isinstance(version, (list, tuple)) else [version] * len(weights)
        self.store = SerialStore(store)
        self.group = group
        self.global_rank = global_rank or (lambda r: r)
        self.device = device
        self.checkpoint = checkpoint
        self.on_commit = on_commit
        self._lock = threading.RLock()
        self._post_lock = threading.Lock()
        self._staged = {}
        self._preparing = {}
        # per layer, the attempt each recent rollout aborted ({rollout: attempt}, the newest last)
        self._aborted = {}
        self._pending = []
        self._committed_once = set()
        self._side_stream = torch.cuda.Stream(device=device) if device is not None and device.type == "cuda" else None
        self._grouped_p2p = dist.get_backend(group) == "nccl"
        self.stats = {"bytes_received": 0, "bytes_sent": 0, "prepares": 0, "commits": 0}

    # ---------------------------------------------------------------------------------------
    # the engine's side

    def step_boundary(self):
        """Called by the engine between forward passes: swaps in every layer whose commit is due.
        Returns the layers swapped."""
        with self._lock:
            pending, self._pending = self._pending, []
            swapped = []
            for pc in pending:
                if self._staged.get(pc.layer) is not pc.staging:
                    pc.error = f"layer {pc.layer} was aborted or prepared again before the step boundary"
                else:
                    self._swap(pc.layer, pc.staging)
                    swapped.append(pc.layer)
                pc.done.set()
            return swapped

    def _swap(self, layer, st):
        base = self.rank * self.S
        for slot, tensors in st.slots.items():
            j = slot - base
            for live, staged in zip(self.weights[layer], tensors):
                live[j].copy_(staged)
            self.experts[layer][j] = st.experts[slot]
        if self._side_stream is not None:
            torch.cuda.current_stream(self.device).synchronize()
        self.versions[layer] = st.version
        del self._staged[layer]
        self._committed_once.add(layer)
        self.stats["commits"] += 1
        if self.on_commit:
            self.on_commit(layer, list(st.row))

    # ---------------------------------------------------------------------------------------
    # the agent's side (server.py calls these, each on its own thread)

    def prepare(self, layer, rollout, attempt, version, row, local, recv, send,
                bytes_per_second=None, repair=False, timeout_s=60.0):
        """Stages the layer's incoming experts; returns {slot: checksum} of what was staged.

        local: [{slot, expert}] — written from this rank's own copy (a live slot holding the expert,
        else a slot of this transfer that receives it); recv: [{slot, expert, source}];
        send: [{slot, expert, to}] — this rank's live copy of `expert` goes to slot `slot` of `to`.
        """
        self._check_layer(layer)
        with self._lock:
            # each request runs on its own thread, so an abort sent after this prepare may have
            # run first: the prepare of an attempt already aborted never starts (its peers gave
            # the pair up, or will), rather than staging weights nobody will commit or drop
            dropped = self._aborted.get(layer, {}).get(rollout)
            if dropped is not None and attempt <= dropped:
                raise BridgeError(f"prepare of layer {layer} aborted before it started (attempt {attempt})")
            prev = self._preparing.get(layer)
            if prev:
                prev.aborted = True
            self._staged.pop(layer, None)
            token = _Preparing(rollout, attempt)
            self._preparing[layer] = token
        try:
            with self._on_side_stream():
                if repair:
                    slots, experts = self._from_checkpoint(layer, local + recv)
                else:
                    slots, experts = self._transfer(layer, rollout, attempt, local, recv, send,
                                                    bytes_per_second, timeout_s, lambda: token.aborted)
                if self._side_stream is not None:
                    self._side_stream.synchronize()
            st = _Staging(rollout, attempt, version, list(row), slots, experts)
            sums = {slot: expert_checksum(t) for slot, t in slots.items()}
            with self._lock:
                if token.aborted:
                    raise BridgeError(f"prepare of layer {layer} aborted")
                self._staged[layer] = st
                self.stats["prepares"] += 1
            return sums
        finally:
            with self._lock:
                if self._preparing.get(layer) is token:
                    del self._preparing[layer]

    def commit(self, layer, rollout, timeout_s=60.0):
        """Waits for the engine's next step boundary and swaps the layer's staging in there;
        returns the layer's holdings. A repeated commit after the layer swapped is a no-op."""
        self._check_layer(layer)
        with self._lock:
            st = self._staged.get(layer)
            if st is None:
                if layer in self._committed_once and not self._pending_for(layer):
                    return self.describe([layer])[0]
                raise BridgeError(f"layer {layer} has nothing staged")
            if rollout and st.rollout and st.rollout != rollout:
                raise BridgeError(f"layer {layer} is staged for rollout {st.rollout}, not {rollout}")
            pc = _PendingCommit(layer, st)
            self._pending.append(pc)
        if not pc.done.wait(timeout_s):
            with self._lock:
                if pc in self._pending:
                    self._pending.remove(pc)
                    raise BridgeError(f"no step boundary within {timeout_s}s: layer {layer} not swapped")
        if pc.error:
            raise BridgeError(pc.error)
        return self.describe([layer])[0]

    def abort(self, layer, rollout, attempt=None):
        """Drops what `rollout` staged (or is staging) for the layer; another rollout's staging stays.
        With `attempt`: that attempt and older ones only, and a prepare of them that arrives
        after this abort (the agent sent it first, its thread ran second) is refused."""
        self._check_layer(layer)
        with self._lock:
            if attempt is not None and rollout:
                recent = self._aborted.setdefault(layer, {})
                recent[rollout] = max(attempt, recent.pop(rollout, attempt))
                while len(recent) > _ABORTS_KEPT:
                    del recent[next(iter(recent))]
            running = self._preparing.get(layer)
            if running and (not rollout or running.rollout == rollout) and (attempt is None or running.attempt <= attempt):
                running.aborted = True
            st = self._staged.get(layer)
            if st and (not rollout or st.rollout == rollout) and (attempt is None or st.attempt <= attempt):
                del self._staged[layer]

    def describe(self, layers=None):
        """Per layer: map version, logical expert per local slot, checksum per slot of the live bytes."""
        with self._lock:
            which = range(len(self.weights)) if layers is None else layers
            out = []
            for layer in which:
                self._check_layer(layer)
                out.append({
                    "layer": layer,
                    "version": self.versions[layer],
                    "rank": self.rank,
                    "experts": list(self.experts[layer]),
                    "checksums": [expert_checksum([w[j] for w in self.weights[layer]]) for j in range(self.S)],
                })
            return out

    def preparing_layers(self):
        with self._lock:
            return sorted(self._preparing)

    def staged_layers(self):
        with self._lock:
            return sorted(self._staged)

    # ---------------------------------------------------------------------------------------

    def _pending_for(self, layer):
        return any(pc.layer == layer for pc in self._pending)

    def _check_layer(self, layer):
        if not isinstance(layer, int) or layer < 0 or layer >= len(self.weights):
            raise BridgeError(f"no layer {layer}")

    def _on_side_stream(self):
        return torch.cuda.stream(self._side_stream) if self._side_stream is not None else contextlib.nullcontext()

    def _empty_slot(self, layer):
        return [torch.empty_like(w[0]) for w in self.weights[layer]]

    def _live_slot(self, layer, expert):
        """Index of a live slot of this rank holding `expert` (the map in force), or -1."""
        try:
            return self.experts[layer].index(expert)
        except ValueError:
            return -1

    def _from_checkpoint(self, layer, items):
        if self.checkpoint is None:
            raise BridgeError("a repair prepare needs the model checkpoint, and none was given")
        slots, experts = {}, {}
        for it in items:
            slots[it["slot"]] = [t.clone() for t in self.checkpoint(layer, it["expert"])]
            experts[it["slot"]] = it["expert"]
        return slots, experts

    def _transfer(self, layer, rollout, attempt, local, recv, send, bytes_per_second, timeout_s, stopped):
        base = self.rank * self.S
        for it in local + recv:
            if not base <= it["slot"] < base + self.S:
                raise BridgeError(f"slot {it['slot']} is not on rank {self.rank}")
        # the sources read the live weights (the map in force); resolve them before anything moves
        with self._lock:
            send_src = []
            for it in send:
                j = self._live_slot(layer, it["expert"])
                if j < 0:
                    raise BridgeError(f"rank {self.rank} does not hold expert {it['expert']} of layer {layer}")
                send_src.append((it, j))
        slots = {it["slot"]: self._empty_slot(layer) for it in local + recv}
        experts = {it["slot"]: it["expert"] for it in local + recv}
        tag = transfer_tag(rollout, layer, attempt)
        peers = sorted({it["source"] for it in recv} | {it["to"] for it in send})
        # every op is built before the ranks agree: once a pair went ahead, nothing may stop this
        # side from posting its whole part
        sends = {peer: [] for peer in peers}
        for it, j in ordered(send_src, key=lambda x: x[0]["slot"]):
            for w in self.weights[layer]:
                sends[it["to"]].append(dist.P2POp(dist.isend, w[j], self.global_rank(it["to"]), self.group, tag))
        recvs = {peer: [] for peer in peers}
        for it in ordered(recv, key=lambda x: x["slot"]):
            for t in slots[it["slot"]]:
                recvs[it["source"]].append(dist.P2POp(dist.irecv, t, self.global_rank(it["source"]), self.group, tag))
        go = agree(self.store, tag, self.rank, peers, time.monotonic() + timeout_s, stopped) if peers else {}
        went = [p for p in peers if go[p] is None]
        errors = self._exchange([op for p in went for op in sends[p]], [op for p in went for op in recvs[p]], bytes_per_second)
        abandoned = [p for p in peers if go[p] is not None]
        if errors:
            raise BridgeError(f"transfer of layer {layer} failed: {errors[0]}")
        if abandoned:
            # this side's own decisions: its layer was aborted (then stopped() holds), or it gave up on late peers
            late = [p for p in abandoned if go[p][1] == self.rank]
            if stopped():
                why = "aborted"
            elif late:
                why = f"rank(s) {','.join(map(str, late))} did not join within {timeout_s}s"
            else:
                why = abandon_reason(*go[abandoned[0]], self.rank)
            raise BridgeError(f"transfer of layer {layer} abandoned: {why}")
        # local copies last: a second slot of an expert that arrived on this rank copies the arrival
        for it in local:
            j = self._live_slot(layer, it["expert"])
            if j >= 0:
                src = [w[j] for w in self.weights[layer]]
            else:
                arrived = [s for s in sorted(slots) if experts[s] == it["expert"] and s != it["slot"] and s not in {x["slot"] for x in local}]
                if not arrived:
                    raise BridgeError(f"expert {it['expert']} does not arrive on rank {self.rank} of layer {layer}")
                src = slots[arrived[0]]
            for dst, s in zip(slots[it["slot"]], src):
                dst.copy_(s)
        return slots, experts

    def _exchange(self, sends, recvs, bytes_per_second):
        """Posts the pairs' agreed ops and waits for every one of them; returns the errors.

        Both sides of a pair that went ahead have posted, or will post, their whole part, so this
        side posts and waits for all of its own whatever happens meanwhile (an abort, a failure in
        this thread): a peer whose counterpart ops are never posted waits in gloo until the group's
        timeout, which then closes the pair for every later transfer; and a work dropped before it
        completed leaves gloo holding a buffer that is gone, which stalls the pair's connection.
        """
        errors = []
        nbytes = lambda op: op.tensor.numel() * op.tensor.element_size()  # noqa: E731
        unwaited = self._post(sends, errors)
        i = 0
        try:
            # under a cap, receives are posted a chunk at a time (a send completes only when its
            # receive is posted, so this paces both sides); without one, all at once
            chunk = max(1, int(bytes_per_second // 10)) if bytes_per_second else None
            start = time.monotonic()
            taken = 0
            while i < len(recvs):
                j, size = i, 0
                while j < len(recvs) and (chunk is None or j == i or size + nbytes(recvs[j]) <= chunk):
                    size += nbytes(recvs[j])
                    j += 1
                if bytes_per_second:
                    _sleep_until(start + taken / bytes_per_second)
                taken += size
                batch = self._post(recvs[i:j], errors)
                i = j
                unwaited.extend(batch)
                self._wait_all(batch, unwaited, errors)
                self.stats["bytes_received"] += size
        finally:
            # whatever stopped the paced loop, the rest is posted at once and everything is waited
            unwaited.extend(self._post(recvs[i:], errors))
            self._wait_all(list(unwaited), unwaited, errors)
        self.stats["bytes_sent"] += sum(nbytes(op) for op in sends)
        return errors

    def _post(self, ops, errors):
        """Posts the ops per peer, so a peer that is gone (gloo refuses ops on its closed pair at
        once) costs its own ops only: the other peers' ops are posted regardless, or those peers
        would wait forever for their counterparts. On gloo each op is posted on its own: a batch
        that fails part-way returns no works, dropping those of the ops it did post while gloo
        still holds their buffers. NCCL needs a peer's sends and receives in one group call."""
        by_peer = {}
        for op in ops:
            by_peer.setdefault(op.peer, []).append(op)
        works = []
        for peer_ops in by_peer.values():
            for part in ([peer_ops] if self._grouped_p2p else [[op] for op in peer_ops]):
                try:
                    # one thread posts at a time: posting only queues the ops (the waits run
                    # concurrently), and it keeps concurrent layers from entering the process
                    # group's native code for the same pair at once
                    with self._post_lock:
                        works.extend(dist.batch_isend_irecv(part))
                except Exception as e:  # a refused op is its peer's failure, reported with the layer's
                    errors.append(str(e))
                    break
        return works

    @staticmethod
    def _wait_all(works, unwaited, errors):
        for w in works:
            try:
                w.wait()
            except Exception as e:  # every posted op is waited; its failure is reported with the layer's
                errors.append(str(e))
            finally:
                unwaited.remove(w)


def _sleep_until(due):
    """Sleeps until `due` (time.monotonic()); the clock is read once, so a thread descheduled
    after the read never asks for a negative sleep."""
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
