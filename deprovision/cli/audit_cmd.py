"""Commands of this area (being built)."""

COMMANDS: list = []
