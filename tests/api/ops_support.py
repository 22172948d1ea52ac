"""What the ops and admin API tests share: a GET that must answer 200 (posts by platform and a
forced post state come from :mod:`tests.utils.factories`)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.conftest import ApiHarness

ZERO = uuid.UUID(int=0)


def _get(api: ApiHarness, path: str, role: str = "ops", **params: Any) -> Any:
    response = api.client.get(path, headers=api.headers(role), params=params)
    assert response.status_code == 200, response.text
    return response.json()
