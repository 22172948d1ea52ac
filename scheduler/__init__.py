"""The newsrelay domain and service: models, intake, scheduling, dispatch, API, UI and CLI."""
