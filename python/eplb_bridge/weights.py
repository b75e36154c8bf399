"""Deterministic reference weights and the checksum of an expert's tensors.

The bytes of (layer, logical expert) are the xorshift32 stream of libs/device/src/weights.ts
(`expertWeights`), so the control plane computes every replica's expected checksum from the expert
id alone and a bridge filled with these weights reports exactly those checksums. An expert's W
weight tensors (e.g. w13 and w2) are one stream cut in weight order: the checksum of an expert is
sha256 over its tensors' bytes, concatenated in that order — the same as `expectedChecksum(layer,
expert, total bytes)`.
"""

import hashlib

import numpy as np
import torch


def _seed(layer, expert):
    a = ((layer + 1) * 0x9E3779B1) & 0xFFFFFFFF
    b = ((expert + 1) * 0x85EBCA77) & 0xFFFFFFFF
    return (a ^ b) or 1


def expert_bytes(layer, experts, nbytes):
    """The reference bytes of several experts of one layer: a uint8 array [len(experts), nbytes].

    The xorshift stream is sequential per expert, so the experts advance side by side (one numpy
    vector op per 32-bit word) rather than one after the other.
    """
    n = len(experts)
    words = nbytes // 4
    s = np.array([_seed(layer, e) for e in experts], dtype=np.uint32)
    out = np.empty((n, words), dtype=np.uint32)
    for i in range(words):
        s ^= s << np.uint32(13)
        s ^= s >> np.uint32(17)
        s ^= s << np.uint32(5)
        out[:, i] = s
    raw = out.astype("<u4").view(np.uint8).reshape(n, words * 4)
    rest = nbytes - words * 4
    if rest:
        # the tail bytes are the low bytes of the last state, as weights.ts writes them
        tail = np.stack([(s >> np.uint32(8 * k)) & np.uint32(0xFF) for k in range(rest)], axis=1).astype(np.uint8)
        raw = np.concatenate([raw, tail], axis=1)
    return raw


def fill_reference(tensors, layer, experts):
    """Fills slot j of every weight tensor (shape [S, ...]) with the reference bytes of experts[j]."""
    sizes = [t[0].numel() * t.element_size() for t in tensors]
    raw = expert_bytes(layer, experts, sum(sizes))
    off = 0
    for t, size in zip(tensors, sizes):
        part = torch.from_numpy(np.ascontiguousarray(raw[:, off:off + size]))
        t.view(torch.uint8).view(len(experts), size).copy_(part)
        off += size


def expert_checksum(slot_tensors):
    """sha256 (hex) over the bytes of one expert's weight tensors, in weight order.

    On a GPU this copies the expert to the host; a device-side hash would avoid the copy for large
    experts (the control plane only compares the strings).
    """
    h = hashlib.sha256()
    for t in slot_tensors:
        h.update(t.detach().contiguous().cpu().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
