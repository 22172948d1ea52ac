"""Ops: health, metrics, the kill switch and heartbeats, the audit trail and the delivery log."""
