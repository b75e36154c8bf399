"""eplb_bridge: the engine-side end of an EPLB rollout (see README.md)."""

from .bridge import BridgeError, ExpertBridge
from .server import BridgeServer
from .transfers import agree, transfer_tag
from .weights import expert_bytes, expert_checksum, fill_reference

__all__ = ["BridgeError", "BridgeServer", "ExpertBridge", "agree", "expert_bytes", "expert_checksum", "fill_reference", "transfer_tag"]
