"""Interactions: building INTERACTION_CREATE payloads and applying the bot's responses.

A test creates an interaction (slash command, autocomplete, component click, modal submit) and
gets an ``InteractionHandle``; the bot answers over the callback endpoint and the interaction
webhook, and the fake records everything on that handle. Discord rules that bots trip over are
enforced: one initial response only (40060), response types valid for the interaction type,
followups/edits only after acknowledging (10015), and the first followup after a deferred
"thinking" response edits that loading message instead of creating a new one.
"""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakediscord import payloads
from tests.fakediscord.commands import SUBCOMMAND, SUBCOMMAND_GROUP, CommandRegistry, allowed_in
from tests.fakediscord.ids import random_token
from tests.fakediscord.messages import (
    CHAT_INPUT_COMMAND,
    DEFAULT,
    MessageFactory,
    invalid_form,
    validate_message_body,
)
from tests.fakediscord.rest import RestError
from tests.fakediscord.state import (
    CONTEXT_BOT_DM,
    CONTEXT_GUILD,
    CONTEXT_PRIVATE_CHANNEL,
    DM,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    GROUP_DM,
    GUILD_INSTALL,
    USER_INSTALL,
    FakeChannel,
    FakeFile,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    World,
)

JSON = dict[str, Any]

# Interaction types
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Callback types
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    },
}

MESSAGE_COMMAND = 3  # data.type of a message context-menu command

#: Discord's cap on followups when only a user install authorized the interaction.
MAX_USER_INSTALL_FOLLOWUPS = 5
INSTALLS = {
    "guild": (GUILD_INSTALL,),
    "user": (USER_INSTALL,),
    "both": (GUILD_INSTALL, USER_INSTALL),
}


@dataclass(frozen=True)
class Authorization:
    """Where an interaction happens and which installs of the app authorized it."""

    context: int
    owners: dict[str, str]

    @property
    def installs(self) -> frozenset[int]:
        return frozenset(int(k) for k in self.owners)

    @property
    def user_install_only(self) -> bool:
        return self.installs == {USER_INSTALL}


# Application command option types
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
)


@dataclass
class InteractionCallbackRecord:
    """The initial response: callback ``type`` and its ``data`` as the bot sent them."""

    type: int
    data: JSON | None
    files: list[FakeFile] = field(default_factory=list)
    at: float = field(default_factory=time.monotonic)


@dataclass
class InteractionHandle:
    """Everything the bot did in response to one interaction."""

    id: int
    token: str
    type: int
    payload: JSON
    guild_id: int | None
    channel_id: int
    user_id: int
    source_message: FakeMessage | None = None
    callback: InteractionCallbackRecord | None = None
    #: The message the initial response created (4/5) or updated (6/7), then edited by @original.
    original: FakeMessage | None = None
    #: Followup messages; after a deferred (5) response the first one is ``original`` itself.
    followups: list[FakeMessage] = field(default_factory=list)
    followup_bodies: list[JSON] = field(default_factory=list)
    original_edits: list[JSON] = field(default_factory=list)
    original_deleted: bool = False
    #: Initial responses rejected because the interaction was already acknowledged.
    rejected_callbacks: int = 0
    #: Followups rejected by the 5-per-interaction cap of user installs (40094).
    rejected_followups: int = 0

    @property
    def responded(self) -> bool:
        return self.callback is not None

    @property
    def response_type(self) -> int | None:
        return self.callback.type if self.callback else None

    @property
    def response_data(self) -> JSON:
        return dict(self.callback.data or {}) if self.callback else {}

    @property
    def choices(self) -> list[JSON]:
        """Autocomplete choices (callback type 8)."""
        return list(self.response_data.get("choices", []))

    @property
    def ephemeral(self) -> bool:
        return self.original is not None and self.original.ephemeral


class InteractionService:
    """Creates interactions and applies callback/webhook requests to them."""

    def __init__(
        self,
        world: World,
        messages: MessageFactory,
        commands: CommandRegistry,
        emit: Callable[[str, FakeMessage], None],
    ) -> None:
        self._world = world
        self._messages = messages
        self._commands = commands
        self._emit = emit
        self.handles: dict[int, InteractionHandle] = {}
        self._by_token: dict[str, InteractionHandle] = {}

    # creating interactions -------------------------------------------------------------------

    def create(
        self,
        *,
        type: int,
        guild: FakeGuild | None,
        channel: FakeChannel,
        user: FakeUser,
        data: JSON,
        message: FakeMessage | None = None,
        locale: str = "en-US",
        authorization: Authorization | None = None,
    ) -> InteractionHandle:
        world = self._world
        auth = authorization or self.authorization(channel, user, None)
        interaction_id = world.ids.next()
        raw = f"interaction:{interaction_id}:{random_token(48)}".encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        channel_payload = payloads.channel(channel, world)
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(world.application.id),
            "type": type,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": payloads.ATTACHMENT_SIZE_LIMIT,
            "app_permissions": str(self._app_permissions(channel)),
            "channel_id": str(channel.id),
            "channel": channel_payload,
            "context": auth.context,
            "authorizing_integration_owners": dict(auth.owners),
        }
        if guild is not None:
            member = guild.members.get(user.id)
            if member is None:
                raise ValueError(f"{user.username} is not a member of guild {guild.name}")
            permissions = world.permissions_in(channel, user.id)
            channel_payload["permissions"] = str(permissions)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                guild_locale=guild.preferred_locale,
                member=payloads.member(member, permissions=permissions),
            )
        else:
            payload.update(user=payloads.user(user))
        if message is not None:
            payload["message"] = copy.deepcopy(message.payload)
        handle = InteractionHandle(
            id=interaction_id,
            token=token,
            type=type,
            payload=payload,
            guild_id=guild.id if guild else None,
            channel_id=channel.id,
            user_id=user.id,
            source_message=message,
        )
        self.handles[interaction_id] = handle
        self._by_token[token] = handle
        return handle

    def authorization(
        self, channel: FakeChannel, user: FakeUser, install: str | None
    ) -> Authorization:
        """The ``context`` and ``authorizing_integration_owners`` of an interaction by
        ``user`` in ``channel``. ``install``: "guild", "user" or "both" (both installs apply);
        None picks what Discord would: the guild install where the bot is, else the user's.
        Raises LookupError where Discord would not offer the app at all."""
        world = self._world
        guild = world.guild_of(channel)
        if channel.type == DM:
            context = CONTEXT_BOT_DM
        elif channel.type == GROUP_DM:
            context = CONTEXT_PRIVATE_CHANNEL
        else:
            context = CONTEXT_GUILD
        bot_there = world.bot_sees(channel)
        chosen = install or ("guild" if bot_there else "user")
        if chosen not in INSTALLS:
            raise ValueError(f"install must be 'guild', 'user' or 'both', not {install!r}")
        owners: dict[str, str] = {}
        for kind in INSTALLS[chosen]:
            if kind == GUILD_INSTALL:
                if not bot_there:
                    raise LookupError(
                        "the app is not installed there (the bot is not in that guild, and a "
                        "guild install never reaches group DMs): use install='user'"
                    )
                owners["0"] = str(guild.id) if guild is not None else "0"
            else:
                if USER_INSTALL not in world.application.integration_types:
                    raise LookupError(
                        "the app cannot be installed to users: call enable_user_install() "
                        "(the developer portal's Installation page)"
                    )
                owners["1"] = str(user.id)
        return Authorization(context, owners)

    def _app_permissions(self, channel: FakeChannel) -> int:
        """The bot's permissions where it is; elsewhere (user install only) @everyone's."""
        return self._world.permissions_in(channel, self._world.bot_user.id)

    def command_data(
        self,
        *,
        name: str,
        guild: FakeGuild | None,
        options: Mapping[str, Any] | Sequence[JSON] | None,
        resolved: JSON | None,
        focused: str | None,
        require_registered: bool,
        command_type: int = 1,
        authorization: Authorization | None = None,
    ) -> JSON:
        """``data`` of an application command or autocomplete interaction.

        ``options`` may be raw option dicts, or ``{name: value}`` typed from the registered
        command's schema (nested mappings for subcommands); users, members, channels, roles and
        ``FakeFile`` attachments become ids plus ``resolved`` entries automatically.
        """
        command = self._commands.find(name, guild.id if guild else None, command_type)
        if command is None and require_registered:
            raise LookupError(
                f"no registered command {name!r}: sync the command tree first "
                "(Discord never sends interactions for unregistered commands)"
            )
        if command is not None and authorization is not None:
            app_installs = frozenset(self._world.application.integration_types)
            if not allowed_in(
                command,
                context=authorization.context,
                installs=authorization.installs,
                app_installs=app_installs,
            ):
                raise LookupError(
                    f"Discord does not offer {name!r} in context {authorization.context} to "
                    f"installs {sorted(authorization.installs)}: the command allows contexts "
                    f"{command.get('contexts')} and integration_types "
                    f"{command.get('integration_types')}"
                )
        resolver = _Resolver(self._world, self._messages, guild)
        if options is None:
            built: list[JSON] = []
        elif isinstance(options, Mapping):
            schema = command.get("options", []) if command is not None else None
            built = _typed_options(schema, options, resolver, focused)
        else:
            built = copy.deepcopy(list(options))
        data: JSON = {
            "id": command["id"] if command else str(self._world.ids.next()),
            "name": name,
            "type": command_type,
        }
        if built:
            data["options"] = built
        merged = _merge_resolved(resolver.resolved, resolved or {})
        if merged:
            data["resolved"] = merged
        if command is not None and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data

    # responses --------------------------------------------------------------------------------

    def callback(
        self, interaction_id: int, token: str, body: JSON, files: Sequence[FakeFile]
    ) -> JSON:
        """Apply ``POST /interactions/{id}/{token}/callback``; return the with_response body."""
        handle = self.handles.get(interaction_id)
        if handle is None:
            raise RestError(404, "Unknown interaction", 10062)
        if handle.token != token:
            raise RestError(401, "Invalid Webhook Token", 50027)
        if handle.callback is not None:
            handle.rejected_callbacks += 1
            raise RestError(400, "Interaction has already been acknowledged.", 40060)
        callback_type = body.get("type")
        data = body.get("data")
        if callback_type not in ALLOWED_CALLBACKS[handle.type]:
            raise invalid_form("type", f"Callback type {callback_type} is not valid here")
        data_json: JSON = dict(data) if isinstance(data, dict) else {}
        if callback_type in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            validate_message_body(data_json, files, creating=callback_type == CHANNEL_MESSAGE)
        if callback_type == MODAL and not (
            data_json.get("custom_id") and data_json.get("title") and data_json.get("components")
        ):
            raise invalid_form("data", "A modal needs custom_id, title and components")
        if callback_type == AUTOCOMPLETE_RESULT and len(data_json.get("choices") or []) > 25:
            raise invalid_form("data.choices", "Must be 25 or fewer in length.")
        if callback_type == UPDATE_MESSAGE and handle.source_message is None:
            raise invalid_form("type", "There is no message to update")

        handle.callback = InteractionCallbackRecord(
            type=int(callback_type), data=copy.deepcopy(data) if data else None, files=list(files)
        )
        message: FakeMessage | None = None
        if callback_type == CHANNEL_MESSAGE:
            message = self._new_message(handle, data_json, files, source="interaction")
            handle.original = message
            self._emit_unless_ephemeral("MESSAGE_CREATE", message)
        elif callback_type == DEFERRED_CHANNEL_MESSAGE:
            flags = FLAG_LOADING | (int(data_json.get("flags") or 0) & FLAG_EPHEMERAL)
            message = self._new_message(handle, {"content": "", "flags": flags}, (), "interaction")
            handle.original = message
            self._emit_unless_ephemeral("MESSAGE_CREATE", message)
        elif callback_type == DEFERRED_UPDATE_MESSAGE:
            handle.original = handle.source_message
        elif callback_type == UPDATE_MESSAGE:
            message = handle.source_message
            assert message is not None
            self._messages.edit(message, data_json, files)
            handle.original = message
            self._emit_unless_ephemeral("MESSAGE_UPDATE", message)

        interaction: JSON = {
            "id": str(handle.id),
            "type": handle.type,
            "response_message_loading": callback_type == DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": bool(message and message.ephemeral),
        }
        response: JSON = {"interaction": interaction, "resource": {"type": callback_type}}
        if message is not None:
            interaction["response_message_id"] = str(message.id)
            response["resource"]["message"] = copy.deepcopy(message.payload)
        return response

    def followup(
        self, application_id: int, token: str, body: JSON, files: Sequence[FakeFile]
    ) -> FakeMessage:
        """``POST /webhooks/{app_id}/{token}``: a followup message."""
        handle = self._acknowledged(application_id, token)
        validate_message_body(body, files, creating=True)
        owners = handle.payload.get("authorizing_integration_owners") or {}
        if set(owners) == {"1"} and len(handle.followup_bodies) >= MAX_USER_INSTALL_FOLLOWUPS:
            handle.rejected_followups += 1
            raise RestError(
                400, "This interaction has hit the maximum number of follow up messages", 40094
            )
        handle.followup_bodies.append(copy.deepcopy(body))
        original = handle.original
        if (
            handle.response_type == DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.flags & FLAG_LOADING
        ):
            # Discord: right after a deferred response, a followup edits the loading message
            # and the defer's ephemeral flag wins over the followup's.
            edit = {k: v for k, v in body.items() if k != "flags"}
            self._messages.edit(original, edit, files)
            original.payload["flags"] = original.flags & ~FLAG_LOADING
            handle.followups.append(original)
            self._emit_unless_ephemeral("MESSAGE_UPDATE", original)
            return original
        message = self._new_message(handle, body, files, source="followup")
        handle.followups.append(message)
        self._emit_unless_ephemeral("MESSAGE_CREATE", message)
        return message

    def get_message(self, application_id: int, token: str, ref: str) -> FakeMessage:
        handle = self._acknowledged(application_id, token)
        return self._resolve(handle, ref)

    def edit_message(
        self, application_id: int, token: str, ref: str, body: JSON, files: Sequence[FakeFile]
    ) -> FakeMessage:
        """``PATCH /webhooks/{app_id}/{token}/messages/{ref}`` (``@original`` or a followup id)."""
        handle = self._acknowledged(application_id, token)
        message = self._resolve(handle, ref)
        validate_message_body(body, files, creating=False)
        if ref == "@original" or (handle.original and message.id == handle.original.id):
            handle.original_edits.append(copy.deepcopy(body))
        self._messages.edit(message, body, files)
        if message.flags & FLAG_LOADING:
            message.payload["flags"] = message.flags & ~FLAG_LOADING
        self._emit_unless_ephemeral("MESSAGE_UPDATE", message)
        return message

    def delete_message(self, application_id: int, token: str, ref: str) -> None:
        handle = self._acknowledged(application_id, token)
        message = self._resolve(handle, ref)
        message.deleted = True
        if handle.original is not None and message.id == handle.original.id:
            handle.original_deleted = True
        self._emit_unless_ephemeral("MESSAGE_DELETE", message)

    # helpers ----------------------------------------------------------------------------------

    def _acknowledged(self, application_id: int, token: str) -> InteractionHandle:
        handle = self._by_token.get(token)
        if (
            handle is None
            or application_id != self._world.application.id
            or handle.callback is None
            or handle.callback.type in (AUTOCOMPLETE_RESULT, MODAL)
        ):
            raise RestError(404, "Unknown Webhook", 10015)
        return handle

    def _resolve(self, handle: InteractionHandle, ref: str) -> FakeMessage:
        if ref == "@original":
            message = handle.original
        else:
            wanted = int(ref)
            candidates = [*handle.followups, *([handle.original] if handle.original else [])]
            message = next((m for m in candidates if m.id == wanted), None)
        if message is None or message.deleted:
            raise RestError(404, "Unknown Message", 10008)
        return message

    def _new_message(
        self, handle: InteractionHandle, body: JSON, files: Sequence[FakeFile], source: str
    ) -> FakeMessage:
        world = self._world
        channel = world.channels[handle.channel_id]
        user = world.user(handle.user_id)
        data = handle.payload.get("data") or {}
        metadata: JSON = {
            "id": str(handle.id),
            "type": handle.type,
            "user": payloads.user(user),
            "authorizing_integration_owners": handle.payload["authorizing_integration_owners"],
        }
        extra: JSON = {"interaction_metadata": metadata}
        if handle.type == APPLICATION_COMMAND:
            metadata["name"] = data.get("name")
            metadata["command_type"] = data.get("type", 1)
            extra["interaction"] = {
                "id": str(handle.id),
                "type": handle.type,
                "name": data.get("name"),
                "user": payloads.user(user),
            }
        if handle.source_message is not None:
            metadata["interacted_message_id"] = str(handle.source_message.id)
        message = self._messages.create(
            channel=channel,
            author=world.bot_user,
            body=body,
            files=files,
            source=source,
            webhook_id=world.application.id,
            message_type=CHAT_INPUT_COMMAND
            if handle.type == APPLICATION_COMMAND and source == "interaction"
            else DEFAULT,
            extra=extra,
        )
        message.interaction_id = handle.id
        return message

    def _emit_unless_ephemeral(self, event: str, message: FakeMessage) -> None:
        if not message.ephemeral:
            self._emit(event, message)


class _Resolver:
    """Turns option values into ids and collects the ``resolved`` map Discord sends."""

    def __init__(self, world: World, messages: MessageFactory, guild: FakeGuild | None) -> None:
        self._world = world
        self._messages = messages
        self._guild = guild
        self.resolved: JSON = {}

    def value(self, option_type: int, value: Any) -> Any:
        if option_type == STRING:
            return str(value)
        if option_type == INTEGER:
            return int(value)
        if option_type == BOOLEAN:
            return bool(value)
        if option_type == NUMBER:
            return float(value)
        if option_type == USER:
            return self._user(value)
        if option_type == CHANNEL:
            return self._channel(value)
        if option_type == ROLE:
            return self._role(value)
        if option_type == MENTIONABLE:
            return self._role(value) if isinstance(value, FakeRole) else self._user(value)
        if option_type == ATTACHMENT:
            return self._attachment(value)
        return value

    def _user(self, value: Any) -> str:
        user = value.user if isinstance(value, FakeMember) else value
        user_id = user.id if isinstance(user, FakeUser) else int(user)
        found = self._world.user(user_id)
        self.resolved.setdefault("users", {})[str(user_id)] = payloads.user(found)
        member = self._guild.members.get(user_id) if self._guild else None
        if member is not None:
            self.resolved.setdefault("members", {})[str(user_id)] = payloads.member(
                member, with_user=False
            )
        return str(user_id)

    def _channel(self, value: Any) -> str:
        channel_id = value.id if isinstance(value, FakeChannel) else int(value)
        channel = self._world.channels[channel_id]
        entry = payloads.channel(channel, self._world)
        if channel.type != DM:
            entry["permissions"] = str(self._world.permissions_in(channel, self._world.bot_user.id))
        self.resolved.setdefault("channels", {})[str(channel_id)] = entry
        return str(channel_id)

    def _role(self, value: Any) -> str:
        role_id = value.id if isinstance(value, FakeRole) else int(value)
        if self._guild is None or role_id not in self._guild.roles:
            raise ValueError(f"role {role_id} is not in the interaction's guild")
        self.resolved.setdefault("roles", {})[str(role_id)] = payloads.role(
            self._guild.roles[role_id]
        )
        return str(role_id)

    def _attachment(self, value: Any) -> str:
        if not isinstance(value, FakeFile):
            raise TypeError("attachment options take a FakeFile")
        attachment = self._messages.store_file(value)
        self.resolved.setdefault("attachments", {})[attachment["id"]] = attachment
        return str(attachment["id"])


def _typed_options(
    schema: list[JSON] | None,
    values: Mapping[str, Any],
    resolver: _Resolver,
    focused: str | None,
) -> list[JSON]:
    by_name = {o["name"]: o for o in schema or []}
    built: list[JSON] = []
    for name, value in values.items():
        option = by_name.get(name)
        if option is None and schema is not None:
            raise KeyError(f"command has no option {name!r}; it has {sorted(by_name)}")
        option_type = option["type"] if option is not None else _infer_type(value)
        if option_type in (SUBCOMMAND, SUBCOMMAND_GROUP):
            sub_schema = option.get("options", []) if option is not None else None
            built.append(
                {
                    "name": name,
                    "type": option_type,
                    "options": _typed_options(sub_schema, value or {}, resolver, focused),
                }
            )
            continue
        entry: JSON = {"name": name, "type": option_type}
        if focused == name:
            entry["value"] = str(value)
            entry["focused"] = True
        else:
            entry["value"] = resolver.value(option_type, value)
        built.append(entry)
    return built


def _infer_type(value: Any) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, FakeUser | FakeMember):
        return USER
    if isinstance(value, FakeChannel):
        return CHANNEL
    if isinstance(value, FakeRole):
        return ROLE
    if isinstance(value, FakeFile):
        return ATTACHMENT
    if isinstance(value, Mapping):
        return SUBCOMMAND
    return STRING


def _merge_resolved(auto: JSON, given: JSON) -> JSON:
    merged = copy.deepcopy(auto)
    for kind, entries in given.items():
        merged.setdefault(kind, {}).update(copy.deepcopy(entries))
    return merged
