"""How the ranks of one layer's transfer agree, and the order they post their P2P ops in.

P2P ops only complete in pairs: a send waits for its recv. NCCL matches them by order per peer,
gloo by (peer, tag) in posting order, so every pair of ranks must post the same ops in the same
order and no rank may post ops its peer never will — the peer would wait forever, and gloo closes
the pair on a timed-out op (the group cannot talk between those two ranks again). So before any op
is posted each pair of ranks agrees through the process group's store that both sides run this
transfer (same rollout, layer and attempt): each side counts itself in, and the first side to
decide — both in: "go"; its deadline passed or its layer aborted: "abandoned" — decides for both
(compare-and-set). Pairs that went are always drained to the end; a pair that was abandoned posts
nothing, and the layer fails on both sides.
"""

import threading
import time
import zlib

GO = b"go"
ABANDONED = b"abandoned"


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

    def compare_set(self, key, expected, desired):
        with self._lock:
            return self._store.compare_set(key, expected, desired)

    def set(self, key, value):
        with self._lock:
            return self._store.set(key, value)


def agree(store, tag, rank, peers, deadline, stopped, poll_s=0.005):
    """Per peer, whether this transfer goes ahead with it: {peer: None (go) | why it was abandoned}.

    `deadline` (time.monotonic()) bounds the wait for late peers; `stopped()` true (the layer was
    aborted) gives up on the pairs not decided yet. The side that abandons a pair writes why, so
    the other side's failure names the real cause (its peer's layer was aborted) rather than a
    wait that never happened.
    """
    out = {}
    waiting = set(peers)
    for p in peers:
        store.add(pair_key(tag, rank, p) + "/in", 1)
    while waiting:
        give_up = stopped() or time.monotonic() >= deadline
        for p in sorted(waiting):
            key = pair_key(tag, rank, p)
            both = store.add(key + "/in", 0) >= 2
            if both or give_up:
                # the first decision stands for both sides (the key is set only when empty)
                mine = GO if both else ABANDONED + (b":aborted:" if stopped() else b":late:") + str(rank).encode()
                decided = store.compare_set(key, "", mine)
                out[p] = None if decided == GO else abandon_reason(decided, rank, p)
                waiting.discard(p)
        if waiting:
            time.sleep(poll_s)
    return out


def abandon_reason(decided, rank, peer):
    """Why a pair was abandoned, from the value its deciding side wrote, as `rank`'s side says it."""
    parts = decided.decode("utf-8", "replace").split(":")
    cause, by = (parts[1], int(parts[2])) if len(parts) == 3 and parts[2].isdigit() else ("late", rank)
    if cause == "aborted":
        return "aborted" if by == rank else f"rank {by} gave it up (its layer was aborted)"
    return f"rank(s) {peer} did not join" if by == rank else f"rank {by} gave it up (rank(s) {rank} did not join in its time)"


def ordered(items, key):
    """Items of one direction with one peer in the order both sides post them: by written slot."""
    return sorted(items, key=key)
