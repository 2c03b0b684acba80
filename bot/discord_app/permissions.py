"""Who may add, remove and reindex: pure rules, fed by the cogs from discord.py objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import discord


@dataclass(frozen=True)
class AdminRule:
    """Manage Server always qualifies; a configured role (by id or by name) does too."""

    role_id: int | None = None
    role_name: str | None = None

    def allows(self, *, manage_guild: bool, roles: Iterable[tuple[int, str]]) -> bool:
        if manage_guild:
            return True
        for role_id, name in roles:
            if self.role_id is not None and role_id == self.role_id:
                return True
            if self.role_name is not None and name.casefold() == self.role_name.casefold():
                return True
        return False

    def refusal(self, action: str) -> str:
        who = "members with the Manage Server permission"
        if self.role_name:
            who += f" or the {discord.utils.escape_markdown(self.role_name)} role"
        elif self.role_id is not None:
            who += " or the newsdesk admin role"
        return f"Sorry, only {who} can {action}."


def member_roles(user: discord.abc.User) -> list[tuple[int, str]]:
    """(id, name) of a member's roles; none for a user outside a guild."""
    if isinstance(user, discord.Member):
        return [(role.id, role.name) for role in user.roles]
    return []


def may_manage(interaction: discord.Interaction, rule: AdminRule) -> bool:
    """Uses the permissions Discord resolved for this interaction (no member cache needed)."""
    if interaction.guild_id is None:
        return False
    return rule.allows(
        manage_guild=interaction.permissions.manage_guild,
        roles=member_roles(interaction.user),
    )
