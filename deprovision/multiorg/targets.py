"""Which orgs ``--org`` names: repeated values and ``[groups.NAME]`` of deprovision.toml, in order."""

from __future__ import annotations

from deprovision.errors import InvalidInputError


def expand_orgs(values: tuple[str, ...] | str | None) -> list[str] | None:
    """The org names ``values`` stand for (groups expanded, duplicates dropped); None when they name one
    org that is not a group (the single-org path handles it)."""
    from deprovision.org.config import load_group

    if not values:
        return None
    given = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    grouped = False

    def add(name: str, seen: tuple[str, ...]) -> None:
        nonlocal grouped
        members = None if name.startswith("sf:") else load_group(name)
        if members is None:
            if name not in out:
                out.append(name)
            return
        if name in seen:
            raise InvalidInputError(f"group '{name}' contains itself ({' -> '.join((*seen, name))})")
        grouped = True
        for member in members:
            add(member, (*seen, name))

    for name in given:
        add(name, ())
    if len(out) == 1 and not grouped:
        return None
    return out
