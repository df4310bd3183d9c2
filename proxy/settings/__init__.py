"""Settings: the one table (table.py), reading it from file, environment and flags (load.py), and the
docs made from it (docs.py). Everything else imports from here."""

from llmlog.proxy.errors import ConfigError
from llmlog.proxy.settings.load import base_url_problem, load_config
from llmlog.proxy.settings.table import (
    ADMIN_KEY_ENV,
    BY_KEY,
    CONFIG_ENV,
    DEFAULT_PROVIDER,
    GENAI_PRICES_URL,
    OTHER_ENV,
    PROVIDER_KEYS,
    SETTINGS,
    UPSTREAM_ENV,
    Provider,
    Setting,
    Settings,
    default_db_path,
    setting,
)

__all__ = ["ADMIN_KEY_ENV", "BY_KEY", "CONFIG_ENV", "DEFAULT_PROVIDER", "GENAI_PRICES_URL", "OTHER_ENV",
           "PROVIDER_KEYS", "SETTINGS", "UPSTREAM_ENV", "ConfigError", "Provider", "Setting", "Settings",
           "base_url_problem", "default_db_path", "load_config", "setting"]
