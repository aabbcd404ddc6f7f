"""Errors that carry a message telling the user what to change."""


class ConfigError(ValueError):
    """Bad input: the message says what to change."""


class MemoryBudgetError(ConfigError):
    """A run would not fit in the memory that is available.

    ``advice(words)`` gives the same message with what to change named in a front end's words
    (a dict: neurons, records, procedural, storage, devices → e.g. command-line options)."""

    def __init__(self, message: str, advice=None):
        super().__init__(message)
        self._advice = advice

    def advice(self, words: dict) -> str:
        return self._advice(words) if self._advice is not None else str(self)
