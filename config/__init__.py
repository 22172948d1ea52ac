"""Settings for newsrelay: the only package that reads the environment."""

from config.settings import (
    InstagramSettings,
    MetaSettings,
    Settings,
    XSettings,
    get_settings,
)

__all__ = ["InstagramSettings", "MetaSettings", "Settings", "XSettings", "get_settings"]
