"""The Celery task names: spelled once, here, for the dispatcher, the reaper and the workers.

They are the wire names in the broker: renaming one strands the messages already queued.
"""

from __future__ import annotations

FORMAT_TASK = "newsrelay.format_post"
DELIVER_TASK = "newsrelay.deliver"
RECONCILE_TASK = "newsrelay.reconcile"
#: Does nothing: Celery's own overhead on the broker (bench/delivery.py).
NOOP_TASK = "newsrelay.noop"
