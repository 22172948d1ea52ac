"""kombu's SQLAlchemy transport with a short polling interval, for the embedded broker.

The stock transport polls every second, which puts seconds of queue wait on every task
(reference/ENGINEERING.md, "making the embedded broker fast"); the interval cannot be passed
through ``broker_transport_options`` because those go to ``create_engine``.
"""

from __future__ import annotations

import os

from kombu.transport import sqlalchemy


class Transport(sqlalchemy.Transport):
    polling_interval = float(os.environ.get("NEWSRELAY_BROKER_POLLING_INTERVAL", "0.05"))
