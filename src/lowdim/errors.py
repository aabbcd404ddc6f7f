"""Errors that carry a message telling the user what to change."""


class ConfigError(ValueError):
    """Bad input: the message says what to change."""


class MemoryBudgetError(ConfigError):
    """A run would not fit in the memory that is available."""
