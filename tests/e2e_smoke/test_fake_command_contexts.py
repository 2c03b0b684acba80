"""The fake's command registry: integration_types and contexts validated and honoured."""

from __future__ import annotations

import pytest

from tests.fakediscord.commands import CommandRegistry, allowed_in
from tests.fakediscord.ids import SnowflakeFactory
from tests.fakediscord.rest import RestError


def registry() -> CommandRegistry:
    return CommandRegistry(1, SnowflakeFactory())


def slash(**extra: object) -> dict[str, object]:
    return {"name": "ask", "description": "Ask", "type": 1, **extra}


@pytest.mark.parametrize(
    "extra",
    [
        {"integration_types": []},
        {"integration_types": [2]},
        {"integration_types": [0, 0]},
        {"contexts": [3]},
        {"contexts": "0"},
    ],
)
def test_bad_contexts_or_installs_are_refused(extra: dict[str, object]) -> None:
    with pytest.raises(RestError) as refused:
        registry().bulk_overwrite(None, [slash(**extra)])
    assert refused.value.status == 400


def test_message_commands_take_spaces_and_capitals_but_no_description() -> None:
    stored = registry().bulk_overwrite(None, [{"name": "Find evidence", "type": 3}])
    assert stored[0]["name"] == "Find evidence"
    with pytest.raises(RestError):
        registry().bulk_overwrite(None, [{"name": "Find", "type": 3, "description": "x"}])
    with pytest.raises(RestError):
        registry().bulk_overwrite(None, [slash(name="Find evidence")])


def test_allowed_in_follows_contexts_installs_and_defaults() -> None:
    guild_only = slash(contexts=[0], integration_types=[0])
    both = {0, 1}
    assert allowed_in(guild_only, context=0, installs=frozenset({0}), app_installs=frozenset(both))
    assert not allowed_in(
        guild_only, context=1, installs=frozenset({0}), app_installs=frozenset(both)
    )
    assert not allowed_in(
        guild_only, context=0, installs=frozenset({1}), app_installs=frozenset(both)
    )
    everywhere = slash(contexts=[0, 1, 2], integration_types=[0, 1])
    assert allowed_in(everywhere, context=2, installs=frozenset({1}), app_installs=frozenset(both))
    # User install not enabled for the app: the command's own list is not enough.
    assert not allowed_in(
        everywhere, context=2, installs=frozenset({1}), app_installs=frozenset({0})
    )
    # Absent fields: every context, the application's installation types.
    assert allowed_in(slash(), context=1, installs=frozenset({0}), app_installs=frozenset({0}))
    assert not allowed_in(slash(), context=2, installs=frozenset({1}), app_installs=frozenset({0}))
    # A guild command exists only in its guild, for the guild install.
    guild_command = {**slash(), "guild_id": "5"}
    assert not allowed_in(
        guild_command, context=1, installs=frozenset({0}), app_installs=frozenset(both)
    )
