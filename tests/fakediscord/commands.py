"""Application command registry: what the bot synced, globally and per guild.

``CommandTree.sync()`` bulk-overwrites commands with PUT; Discord keeps a command's id when a
command with the same name and type is overwritten, assigns ids to new ones and echoes the
stored objects back. The fake does the same, validates the limits Discord enforces (so a bad
schema fails in tests rather than in production), and lets interaction builders look up the
option types of a registered command.

Global commands carry ``integration_types`` (0 guild install, 1 user install) and
``contexts`` (0 guild, 1 DM with the bot, 2 group DMs and other private channels);
``allowed_in`` says whether Discord would offer a command in a given context and install,
with Discord's defaults for absent fields (all contexts; the app's own installation types).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from tests.fakediscord.ids import SnowflakeFactory
from tests.fakediscord.rest import RestError

JSON = dict[str, Any]

NAME_RE = re.compile(r"^[-_\w]{1,32}$")
SUBCOMMAND = 1
SUBCOMMAND_GROUP = 2
CHAT_INPUT = 1
INSTALL_TYPES = frozenset({0, 1})
CONTEXT_TYPES = frozenset({0, 1, 2})


def allowed_in(
    command: JSON, *, context: int, installs: frozenset[int], app_installs: frozenset[int]
) -> bool:
    """Whether Discord offers ``command`` in ``context`` to an interaction authorized by
    ``installs`` (the keys of authorizing_integration_owners). Guild commands exist only in
    their guild, installed there."""
    if command.get("guild_id"):
        return context == 0 and 0 in installs
    contexts = command.get("contexts")
    types = command.get("integration_types")
    usable = set(types if types is not None else app_installs) & set(app_installs)
    return context in (contexts if contexts is not None else CONTEXT_TYPES) and bool(
        usable & installs
    )


class CommandRegistry:
    """Stored commands keyed by scope (``None`` = global, else guild id)."""

    def __init__(self, application_id: int, ids: SnowflakeFactory) -> None:
        self._application_id = application_id
        self._ids = ids
        self._scopes: dict[int | None, list[JSON]] = {}
        self.overwrite_count = 0

    def commands_in(self, guild_id: int | None) -> list[JSON]:
        return copy.deepcopy(self._scopes.get(guild_id, []))

    def all(self) -> dict[int | None, list[JSON]]:
        return {scope: copy.deepcopy(cmds) for scope, cmds in self._scopes.items()}

    def bulk_overwrite(self, guild_id: int | None, bodies: Any) -> list[JSON]:
        if not isinstance(bodies, list):
            raise RestError(400, "Invalid Form Body", 50035)
        if len(bodies) > 100:
            raise RestError(400, "Maximum number of application commands reached (100)", 30032)
        existing = {(c["name"], c.get("type", 1)): c for c in self._scopes.get(guild_id, [])}
        stored: list[JSON] = []
        seen: set[tuple[str, int]] = set()
        for index, body in enumerate(bodies):
            _validate(body, f"{index}")
            key = (body["name"], body.get("type", 1))
            if key in seen:
                raise RestError(400, "Invalid Form Body", 50035, {"_errors": "duplicate name"})
            seen.add(key)
            previous = existing.get(key)
            stored.append(self._store(guild_id, body, previous))
        self._scopes[guild_id] = stored
        self.overwrite_count += 1
        return copy.deepcopy(stored)

    def upsert(self, guild_id: int | None, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise RestError(400, "Invalid Form Body", 50035)
        _validate(body, "")
        commands = self._scopes.setdefault(guild_id, [])
        key = (body["name"], body.get("type", 1))
        for index, command in enumerate(commands):
            if (command["name"], command.get("type", 1)) == key:
                commands[index] = self._store(guild_id, body, command)
                return copy.deepcopy(commands[index])
        command = self._store(guild_id, body, None)
        commands.append(command)
        return copy.deepcopy(command)

    def get(self, guild_id: int | None, command_id: int) -> JSON:
        for command in self._scopes.get(guild_id, []):
            if int(command["id"]) == command_id:
                return copy.deepcopy(command)
        raise RestError(404, "Unknown application command", 10063)

    def edit(self, guild_id: int | None, command_id: int, body: Any) -> JSON:
        current = self.get(guild_id, command_id)
        merged = {**current, **(body if isinstance(body, dict) else {})}
        return self.upsert(guild_id, merged)

    def delete(self, guild_id: int | None, command_id: int) -> None:
        commands = self._scopes.get(guild_id, [])
        for index, command in enumerate(commands):
            if int(command["id"]) == command_id:
                del commands[index]
                return
        raise RestError(404, "Unknown application command", 10063)

    def find(self, name: str, guild_id: int | None, command_type: int = 1) -> JSON | None:
        """The command a user would invoke by ``name`` in ``guild_id`` (guild scope first)."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self._scopes.get(scope, []):
                if command["name"] == name and command.get("type", 1) == command_type:
                    return copy.deepcopy(command)
        return None

    def _store(self, guild_id: int | None, body: JSON, previous: JSON | None) -> JSON:
        command = copy.deepcopy(body)
        command.setdefault("type", 1)
        command.setdefault("description", "")
        command.setdefault("options", [])
        command.setdefault("default_member_permissions", None)
        command.setdefault("nsfw", False)
        command["id"] = previous["id"] if previous else str(self._ids.next())
        command["application_id"] = str(self._application_id)
        command["version"] = str(self._ids.next())
        if guild_id is not None:
            command["guild_id"] = str(guild_id)
        else:
            command.pop("guild_id", None)
        return command


def _validate(body: Any, where: str) -> None:
    """The subset of Discord's command validation that catches real schema mistakes."""

    def invalid(field: str, message: str) -> RestError:
        path = f"{where}.{field}" if where else field
        return RestError(
            400,
            "Invalid Form Body",
            50035,
            {path: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}},
        )

    if not isinstance(body, dict):
        raise invalid("", "must be an object")
    name = body.get("name")
    command_type = body.get("type", 1)
    description = body.get("description", "")
    if command_type not in (1, 2, 3, 4):
        raise invalid("type", "Value is not a valid application command type")
    if command_type == CHAT_INPUT:
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise invalid("name", "Command name is invalid")
        if name != name.lower():
            raise invalid("name", "Command name must be lower case")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise invalid("description", "Must be between 1 and 100 in length.")
    else:  # user and message commands: any case and spaces, no description, no options
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 32 or name != name.strip():
            raise invalid("name", "Command name is invalid")
        if description:
            raise invalid("description", "Context menu commands cannot have description")
        if body.get("options"):
            raise invalid("options", "Context menu commands cannot have options")
    for field_name, valid in (("integration_types", INSTALL_TYPES), ("contexts", CONTEXT_TYPES)):
        values = body.get(field_name)
        if values is None:
            continue
        if (
            not isinstance(values, list)
            or not values
            or len(set(values)) != len(values)
            or not set(values) <= valid
        ):
            raise invalid(field_name, f"Must be a non-empty list of {sorted(valid)}")
    _validate_options(body.get("options") or [], invalid)


def _validate_options(options: Any, invalid: Any, depth: int = 0) -> None:
    if not isinstance(options, list) or len(options) > 25:
        raise invalid("options", "Must be 25 or fewer in length.")
    seen_optional = False
    for option in options:
        name = option.get("name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name != name.lower():
            raise invalid("options.name", "Option name is invalid")
        description = option.get("description", "")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            raise invalid("options.description", "Must be between 1 and 100 in length.")
        if len(option.get("choices") or []) > 25:
            raise invalid("options.choices", "Must be 25 or fewer in length.")
        if option.get("choices") and option.get("autocomplete"):
            raise invalid("options.autocomplete", "Autocomplete cannot be used with choices")
        if option.get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP):
            if depth >= 2:
                raise invalid("options", "Subcommands nested too deeply")
            _validate_options(option.get("options") or [], invalid, depth + 1)
            continue
        if option.get("required"):
            if seen_optional:
                raise invalid("options.required", "Required options must be placed before optional")
        else:
            seen_optional = True
