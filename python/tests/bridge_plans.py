"""What the bridge tests share: a layer's transfer lists as the agent derives them from a plan,
a call's outcome as text, and a bounded wait on a condition."""

import time


def lists_for(rank, cur, nxt, world, slots):
    """This rank's local / recv / send lists for one layer: a slot whose expert changes reads it
    from its own rank if held (or already arriving there), else from the lowest rank holding it."""
    local, recv, send = [], [], []
    for r in range(world):
        arrived = set()
        for p in range(r * slots, r * slots + slots):
            e = nxt[p]
            if e == cur[p]:
                continue
            if e in cur[r * slots:r * slots + slots] or e in arrived:
                if r == rank:
                    local.append({"slot": p, "expert": e})
                continue
            src = min(q // slots for q in range(len(cur)) if cur[q] == e)
            arrived.add(e)
            if r == rank:
                recv.append({"slot": p, "expert": e, "source": src})
            if src == rank:
                send.append({"slot": p, "expert": e, "to": r})
    return local, recv, send


def outcome(call):
    """"ok" when `call()` returns, else its error's text (the tests assert on both)."""
    try:
        call()
        return "ok"
    except Exception as e:  # the error is the outcome under test
        return str(e)


def wait_for(condition, timeout_s=60):
    """Polls `condition` until it holds (True) or `timeout_s` passes (False): a rank that died
    never counts itself in, and the others must not wait for it forever."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
