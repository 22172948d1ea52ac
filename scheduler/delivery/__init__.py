"""Delivery: dispatch due posts, deliver one attempt, decide its outcome, reconcile the unknown."""
