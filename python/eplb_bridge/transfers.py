"""How the ranks of one layer's transfer agree, and the order they post their P2P ops in.

P2P ops only complete in pairs: a send waits for its recv. NCCL matches them by order per peer,
gloo by (peer, tag) in posting order, so every pair of ranks must post the same ops in the same
order and no rank may post ops its peer never will — the peer would wait forever, and gloo closes
the pair on a timed-out op (the group cannot talk between those two ranks again). So before any op
is posted each pair of ranks agrees through the process group's store that both sides run this
transfer (same rollout, layer and attempt): each side counts itself in, and the first side to
decide — both in: "go"; its deadline passed or its layer aborted: "abandoned" — decides for both.
Pairs that went are always drained to the end; a pair that was abandoned posts nothing, and the
layer fails on both sides.

The agreement uses the store's atomic `add` only. The first side to take the pair's decider
ticket writes the decision as a number the other side reads. (`compare_set` would do it in one
call, but torch's binding of it before 2.4 builds its Python result with the GIL released: called
from several threads, as the layers' transfers do, it corrupts the interpreter's heap and the
process dies later in unrelated code.)
"""

import threading
import time
import zlib


def transfer_tag(rollout, layer, attempt):
    """The tag of every op of one (rollout, layer, attempt): both sides derive it from the command."""
    return zlib.crc32(f"{rollout}/{layer}/{attempt}".encode("utf-8")) & 0x7FFFFFFF


def pair_key(tag, a, b):
    lo, hi = (a, b) if a < b else (b, a)
    return f"xfer/{tag}/{lo}-{hi}"


class SerialStore:
    """The store the transfers agree through, one call at a time.

    Several layers' transfers agree at once, each on its own thread, and a torch.distributed
    TCPStore client talks to its server over one socket: calls from two threads at once could
    interleave their requests and replies on it. The calls are short (none that blocks until a key
    appears), so a lock costs nothing.
    """

    def __init__(self, store):
        self._store = store
        self._lock = threading.Lock()

    def add(self, key, amount):
        with self._lock:
            return self._store.add(key, amount)


# A pair's decision, as the number its decider adds to the pair's decision key (0: not yet):
# GO, or abandoned for a cause by the pair's lower or higher rank.
GO = 1
CAUSES = ("late", "aborted")


def _abandoned_code(cause, by, lo):
    return 2 + 2 * CAUSES.index(cause) + (0 if by == lo else 1)


def _decision(code, lo, hi):
    """None for go, else (cause, the rank that abandoned the pair)."""
    if code == GO:
        return None
    k = code - 2
    return CAUSES[k // 2], (lo if k % 2 == 0 else hi)


def agree(store, tag, rank, peers, deadline, stopped, poll_s=0.005):
    """Per peer, whether this transfer goes ahead with it: {peer: None (go) | (cause, by)}.

    `deadline` (time.monotonic()) bounds the wait for late peers; `stopped()` true (the layer was
    aborted) gives up on the pairs not decided yet. An abandoned pair says why ("late" or
    "aborted") and which side decided so, so the other side's failure names the real cause (its
    peer's layer was aborted) rather than a wait that never happened.
    """
    out = {}
    waiting = set(peers)
    # when this side first read the pair undecided after its peer took the decider ticket
    reading = {}
    for p in peers:
        store.add(pair_key(tag, rank, p) + "/in", 1)
    while waiting:
        give_up = stopped() or time.monotonic() >= deadline
        for p in sorted(waiting):
            key = pair_key(tag, rank, p)
            lo, hi = min(rank, p), max(rank, p)
            if p not in reading:
                both = store.add(key + "/in", 0) >= 2
                if not (both or give_up):
                    continue
                if store.add(key + "/decider", 1) == 1:
                    # the first decision stands for both sides
                    store.add(key + "/decision", GO if both else _abandoned_code("aborted" if stopped() else "late", rank, lo))
                else:
                    reading[p] = time.monotonic()
            code = store.add(key + "/decision", 0)
            if code:
                out[p] = _decision(code, lo, hi)
                waiting.discard(p)
            elif time.monotonic() - reading[p] > _DECIDER_GRACE_S:
                # the decider took its ticket and never wrote: it died in between, and this side
                # gave up waiting for it
                out[p] = ("late", rank)
                waiting.discard(p)
        if waiting:
            time.sleep(poll_s)
    return out


# How long a side waits for the decision of a peer that took the decider ticket (it writes it in
# its next store call; only a process that died in between never does).
_DECIDER_GRACE_S = 30.0


def abandon_reason(cause, by, rank):
    """Why a pair `rank`'s peer `by` abandoned (cause "late" or "aborted"), as `rank` says it."""
    if cause == "aborted":
        return f"rank {by} gave it up (its layer was aborted)"
    return f"rank {by} gave it up (rank(s) {rank} did not join in its time)"


def ordered(items, key):
    """Items of one direction with one peer in the order both sides post them: by written slot."""
    return sorted(items, key=key)
