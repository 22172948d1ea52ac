"""The pipeline every platform request goes through: auth result, faults, handler, record.

Routers (x_api, graph_api) resolve the endpoint and the account; this module applies the
account's faults, runs the handler, marks an accepted response for dropping, adds the
platform's usage headers and records the request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.sandbox.faults import FaultDecision
from adapters.sandbox.state import RequestRecord, SandboxState
from adapters.sandbox.wire import Request, Response


@dataclass
class Call:
    """One platform call being served."""

    state: SandboxState
    request: Request
    base_url: str
    platform: str
    kind: str
    action: str = "read"
    account: str | None = None
    auth_error: Response | None = None
    content: dict[str, str | None] = field(default_factory=dict)
    decision: FaultDecision = field(default_factory=FaultDecision)


Handler = Callable[[Call], Response]
FaultResponder = Callable[[Call, str], Response]
Decorator = Callable[[Call, Response], None]


def run_call(
    call: Call, handler: Handler, *, on_fault: FaultResponder, decorate: Decorator
) -> Response:
    """Serve ``call``: faults first, then the handler; always recorded."""
    if call.auth_error is not None:
        response = call.auth_error
    else:
        call.decision = call.state.faults.decide(call.account, call.platform, call.action)
        if call.decision.latency:
            # Per-request sleep in this request's own thread: other requests are unaffected.
            time.sleep(call.decision.latency)
        fault = call.decision.fault
        if fault is not None and fault != "container_error":
            response = on_fault(call, fault)
            response.fault = fault
        else:
            response = handler(call)
            if fault is not None:
                response.fault = fault
        if call.decision.drop and response.status < 300:
            # Accepted and in effect; the server closes the socket without answering.
            response.drop = True
            response.fault = "drop"
    decorate(call, response)
    _record(call, response)
    return response


def run_unfaulted(call: Call, handler: Handler) -> Response:
    """Serve ``call`` without injected faults (the authorization servers), and record it."""
    response = handler(call)
    _record(call, response)
    return response


def _record(call: Call, response: Response) -> None:
    path = call.request.path
    call.state.record(
        RequestRecord(
            id=0,
            at=time.time(),
            platform=call.platform,
            account=call.account,
            method=call.request.method,
            path=path,
            kind=call.kind,
            status=None if response.drop else response.status,
            fault=response.fault,
            text=call.content.get("text"),
            message=call.content.get("message"),
            caption=call.content.get("caption"),
            created_id=response.created_id,
            params=call.request.safe_params(),
        )
    )
