"""The fake Discord's world: users, guilds, roles, channels, members, messages and files.

Plain dataclasses with no I/O, so REST handlers, the gateway and the test-facing API all read
and mutate one consistent picture. Tests get these objects back from ``FakeDiscord`` and may
inspect them freely; mutating them directly bypasses gateway events, so prefer the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakediscord import permissions as perms
from tests.fakediscord.ids import SnowflakeFactory, iso_timestamp

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types)
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GROUP_DM = 3
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15
GUILD_MEDIA = 16
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})
FORUM_TYPES = frozenset({GUILD_FORUM, GUILD_MEDIA})

# Message flags the fake interprets.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7


@dataclass
class FakeUser:
    """A Discord user; ``bot`` users include the logged-in bot itself."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class FakeRole:
    """A guild role. The @everyone role has the guild's id, as on Discord."""

    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    mentionable: bool = False
    hoist: bool = False
    color: int = 0
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        return "@everyone" if self.id == self.guild_id else f"<@&{self.id}>"


@dataclass
class FakeChannel:
    """A guild channel, a DM channel with the bot, or a group DM (``guild_id`` None,
    ``recipient_ids`` set; a group DM's never include the bot)."""

    id: int
    type: int
    name: str | None
    guild_id: int | None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    overwrites: dict[int, perms.Overwrite] = field(default_factory=dict)
    recipient_ids: list[int] = field(default_factory=list)
    last_message_id: int | None = None
    # Threads only (types 10-12): ``parent_id`` is the text/forum channel they live in.
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    create_timestamp: str | None = None
    archive_timestamp: str | None = None
    invitable: bool = True
    member_ids: list[int] = field(default_factory=list)
    message_count: int = 0
    total_message_sent: int = 0
    #: The message a thread was started from (in the parent), or a forum post's first message.
    starter_message_id: int | None = None
    # Forum and media channels only (types 15, 16).
    available_tags: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class FakeMember:
    """A user's membership in a guild."""

    guild_id: int
    user: FakeUser
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_timestamp)

    @property
    def id(self) -> int:
        return self.user.id


@dataclass
class FakeGuild:
    """A guild with its roles, channels and members keyed by id."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    joined_at: str = field(default_factory=iso_timestamp)
    preferred_locale: str = "en-US"

    @property
    def everyone_role(self) -> FakeRole:
        return self.roles[self.id]

    @property
    def text_channels(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.type == GUILD_TEXT]

    @property
    def threads(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.is_thread]


@dataclass
class FakeFile:
    """File content: an attachment a user posts, or a file the bot uploads."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"
    description: str | None = None


@dataclass
class FakeMessage:
    """A message as the fake stores it.

    ``payload`` is the current Discord message object (what REST returns and the gateway
    dispatches); ``sent`` is the JSON body the client sent to create it, and ``edits`` the bodies
    of later edits, so tests can assert on fields Discord does not echo (``allowed_mentions``).
    ``source`` is ``"user"`` (injected by a test), ``"rest"`` (channel message), ``"interaction"``
    (initial response), ``"followup"`` or ``"system"``.
    """

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    payload: dict[str, Any]
    source: str
    sent: dict[str, Any] | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    files: list[FakeFile] = field(default_factory=list)
    deleted: bool = False
    interaction_id: int | None = None
    reactions: list[str] = field(default_factory=list)

    @property
    def content(self) -> str:
        return str(self.payload.get("content", ""))

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.payload.get("embeds", []))

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.payload.get("components", []))

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return list(self.payload.get("attachments", []))

    @property
    def flags(self) -> int:
        return int(self.payload.get("flags", 0))

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """The ``allowed_mentions`` of the latest create/edit body that carried one."""
        for body in [*reversed(self.edits), self.sent or {}]:
            if "allowed_mentions" in body:
                value = body["allowed_mentions"]
                return dict(value) if isinstance(value, dict) else None
        return None

    @property
    def mentioned_user_ids(self) -> list[int]:
        return [int(u["id"]) for u in self.payload.get("mentions", [])]


# Installation types (integration_types) and interaction contexts.
GUILD_INSTALL = 0
USER_INSTALL = 1
CONTEXT_GUILD = 0
CONTEXT_BOT_DM = 1
CONTEXT_PRIVATE_CHANNEL = 2


@dataclass
class Application:
    """The bot's application (id equals the bot user's id, as for modern bots).

    ``integration_types`` are the installation types enabled in the developer portal
    (Installation page): guild install only, until a test enables user install."""

    id: int
    name: str
    flags: int
    owner: FakeUser
    integration_types: set[int] = field(default_factory=lambda: {GUILD_INSTALL})


class World:
    """All state of the fake plus lookups and permission math over it."""

    def __init__(self, *, bot_name: str, application_flags: int) -> None:
        self.ids = SnowflakeFactory()
        self.bot_user = FakeUser(id=self.ids.next(), username=bot_name, bot=True)
        self.owner_user = FakeUser(id=self.ids.next(), username="app-owner")
        self.application = Application(
            id=self.bot_user.id, name=bot_name, flags=application_flags, owner=self.owner_user
        )
        self.users: dict[int, FakeUser] = {
            self.bot_user.id: self.bot_user,
            self.owner_user.id: self.owner_user,
        }
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.files: dict[int, FakeFile] = {}

    # lookups -------------------------------------------------------------------------------

    def user(self, user_id: int) -> FakeUser:
        return self.users[user_id]

    def guild_of(self, channel: FakeChannel) -> FakeGuild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id is not None else None

    def bot_sees(self, channel: FakeChannel) -> bool:
        """Whether the bot is in the channel at all: a DM with it, or a guild it is a member
        of (never a group DM, nor a guild where only a user installed the app)."""
        if channel.type == DM:
            return True  # every DM channel in the fake is between the bot and its recipient
        guild = self.guild_of(channel)
        return guild is not None and self.bot_user.id in guild.members

    def messages_in(self, channel_id: int, *, include_deleted: bool = False) -> list[FakeMessage]:
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and (include_deleted or not m.deleted)
        ]

    # permissions ---------------------------------------------------------------------------

    def guild_permissions(self, guild: FakeGuild, user_id: int) -> int:
        member = guild.members.get(user_id)
        role_ids = member.role_ids if member else []
        return perms.base_permissions(
            is_owner=guild.owner_id == user_id,
            everyone_permissions=guild.everyone_role.permissions,
            role_permissions=[guild.roles[r].permissions for r in role_ids if r in guild.roles],
        )

    def permissions_in(self, channel: FakeChannel, user_id: int) -> int:
        """Effective permissions of ``user_id`` in ``channel`` (DMs allow everything)."""
        guild = self.guild_of(channel)
        if guild is None:
            return perms.ALL_PERMISSIONS
        if channel.is_thread and channel.parent_id in guild.channels:
            # A thread has no overwrites of its own: it inherits its parent's permissions.
            return self.permissions_in(guild.channels[channel.parent_id], user_id)
        member = guild.members.get(user_id)
        overwrites = dict(channel.overwrites)
        if channel.parent_id is not None and not overwrites:
            parent = guild.channels.get(channel.parent_id)
            if parent is not None:
                overwrites = dict(parent.overwrites)
        return perms.channel_permissions(
            base=self.guild_permissions(guild, user_id),
            guild_id=guild.id,
            member_id=user_id,
            member_role_ids=member.role_ids if member else [],
            overwrites=overwrites,
        )
