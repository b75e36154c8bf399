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

from .transfers import agree, ordered, transfer_tag
from .weights import expert_checksum


class BridgeError(Exception):
    pass


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
        self.store = store
        self.group = group
        self.global_rank = global_rank or (lambda r: r)
        self.device = device
        self.checkpoint = checkpoint
        self.on_commit = on_commit
        self._lock = threading.RLock()
        self._staged = {}
        self._preparing = {}
        self._pending = []
        self._committed_once = set()
        self._side_stream = torch.cuda.Stream(device=device) if device is not None and device.type == "cuda" else None
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
            prev = self._preparing.get(layer)
            if prev:
                prev.aborted = True
            self._staged.pop(layer, None)
            token = _Preparing(rollout)
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

    def abort(self, layer, rollout):
        """Drops what `rollout` staged (or is staging) for the layer; another rollout's staging stays."""
        self._check_layer(layer)
        with self._lock:
            running = self._preparing.get(layer)
            if running and (not rollout or running.rollout == rollout):
                running.aborted = True
            st = self._staged.get(layer)
            if st and (not rollout or st.rollout == rollout):
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
        go = agree(self.store, tag, self.rank, peers, time.monotonic() + timeout_s, stopped) if peers else {}
        sends = []
        for peer in peers:
            if not go[peer]:
                continue
            for it, j in ordered([x for x in send_src if x[0]["to"] == peer], key=lambda x: x[0]["slot"]):
                for w in self.weights[layer]:
                    sends.append(dist.P2POp(dist.isend, w[j], self.global_rank(peer), self.group, tag))
        recvs = []
        for peer in peers:
            if not go[peer]:
                continue
            for it in ordered([x for x in recv if x["source"] == peer], key=lambda x: x["slot"]):
                for t in slots[it["slot"]]:
                    recvs.append(dist.P2POp(dist.irecv, t, self.global_rank(peer), self.group, tag))
        errors = []
        works = self._post(sends, errors)
        # under a cap, receives are posted a chunk at a time (a send completes only when its receive
        # is posted, so this paces both sides); without one, all at once
        nbytes = lambda op: op.tensor.numel() * op.tensor.element_size()  # noqa: E731
        chunk = max(1, int(bytes_per_second // 10)) if bytes_per_second else None
        start = time.monotonic()
        taken = 0
        i = 0
        while i < len(recvs):
            batch, size = [], 0
            while i < len(recvs) and (chunk is None or not batch or size + nbytes(recvs[i]) <= chunk):
                batch.append(recvs[i])
                size += nbytes(recvs[i])
                i += 1
            if bytes_per_second:
                due = start + taken / bytes_per_second
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
            taken += size
            # a pair that went is drained even after an abort: its peer has posted its side
            self._wait_all(self._post(batch, errors), errors)
            self.stats["bytes_received"] += size
        self._wait_all(works, errors)
        self.stats["bytes_sent"] += sum(nbytes(op) for op in sends)
        abandoned = [p for p in peers if not go[p]]
        if errors:
            raise BridgeError(f"transfer of layer {layer} failed: {errors[0]}")
        if abandoned:
            why = "aborted" if stopped() else f"rank(s) {','.join(map(str, abandoned))} did not join within {timeout_s}s"
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

    @staticmethod
    def _post(ops, errors):
        """Posts the ops as one batch per peer, so a peer that is gone (gloo refuses ops on its
        closed pair at once) costs its own ops only: the other peers' ops are posted regardless,
        or those peers would wait forever for their counterparts."""
        by_peer = {}
        for op in ops:
            by_peer.setdefault(op.peer, []).append(op)
        works = []
        for peer_ops in by_peer.values():
            try:
                works.extend(dist.batch_isend_irecv(peer_ops))
            except RuntimeError as e:
                errors.append(str(e))
        return works

    @staticmethod
    def _wait_all(works, errors):
        for w in works:
            try:
                w.wait()
            except RuntimeError as e:
                errors.append(str(e))
