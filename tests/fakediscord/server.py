"""``FakeDiscord``: the in-process Discord (REST + gateway + CDN) that end-to-end tests drive.

It runs an aiohttp server on 127.0.0.1 (random free port) inside the test's event loop, so the
real discord.py client logs in, connects, syncs commands and answers interactions against it
with no network. The class is the test-facing facade: build a world (guilds, channels, roles,
members), inject user actions (messages, slash commands, clicks), wait for the bot's reactions,
inject faults (429/5xx, dropped gateway) and inspect everything the bot sent.
"""

# Test-facing waits take an explicit ``timeout`` so every wait is bounded and its failure names
# what was awaited; asyncio.timeout() around the call would lose that description.
# ruff: noqa: ASYNC109

from __future__ import annotations

import contextlib
import copy
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import discord.gateway
import discord.http
import yarl
from aiohttp import web

from tests.fakediscord import endpoints, payloads
from tests.fakediscord import permissions as perms
from tests.fakediscord.commands import CommandRegistry
from tests.fakediscord.gateway import (
    DIRECT_MESSAGES,
    GUILD_MEMBERS,
    GUILD_MESSAGES,
    GUILDS,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    RECONNECT,
    Gateway,
    HeartbeatRecord,
)
from tests.fakediscord.interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMMAND,
    MESSAGE_COMPONENT,
    MODAL,
    MODAL_SUBMIT,
    Authorization,
    InteractionHandle,
    InteractionService,
)
from tests.fakediscord.messages import MessageFactory
from tests.fakediscord.rest import API_PREFIX, FailureRule, RecordedRequest, RestError, RestRouter
from tests.fakediscord.state import (
    DM,
    FORUM_TYPES,
    GROUP_DM,
    GUILD_FORUM,
    GUILD_TEXT,
    PUBLIC_THREAD,
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
from tests.fakediscord.threads import ThreadService
from tests.fakediscord.waiting import ChangeNotifier

_log = logging.getLogger(__name__)

T = TypeVar("T")
JSON = dict[str, Any]
ChannelRef = FakeChannel | int
GuildRef = FakeGuild | int
UserRef = FakeUser | FakeMember | int

#: Client options every bot under test should pass: without a short guild_ready_timeout
#: discord.py waits 2 s after the last GUILD_CREATE before firing on_ready.
CLIENT_OPTIONS: dict[str, Any] = {"guild_ready_timeout": 0.1}

#: GATEWAY_MESSAGE_CONTENT flag (the Message Content intent enabled in the developer portal).
APPLICATION_FLAGS = 1 << 19 | 1 << 15 | 1 << 13


class FakeDiscord:
    """A fake Discord for one test; use ``async with FakeDiscord() as fake`` or the fixture."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token.for-tests.only",
        bot_name: str = "newsdesk-test",
        heartbeat_interval_ms: int = 1000,
        allowed_privileged_intents: int = PRIVILEGED_INTENTS,
        echo_bot_messages: bool = True,
        full_member_list: bool = False,
    ) -> None:
        """``full_member_list``: send every member in GUILD_CREATE instead of only the bot's own
        (Discord's behaviour for bots; the rest arrive by chunking with the members intent)."""
        self.token = token
        #: Dispatch MESSAGE_CREATE/UPDATE for the bot's own messages, as Discord does.
        self.echo_bot_messages = echo_bot_messages
        self.world = World(bot_name=bot_name, application_flags=APPLICATION_FLAGS)
        self.notifier = ChangeNotifier()
        self.messages = MessageFactory(self.world, lambda: self.base_url)
        self.commands = CommandRegistry(self.world.application.id, self.world.ids)
        self.interactions = InteractionService(
            self.world, self.messages, self.commands, self.emit_message
        )
        self.gateway = Gateway(
            self.world,
            token=token,
            heartbeat_interval_ms=heartbeat_interval_ms,
            allowed_privileged_intents=allowed_privileged_intents,
            full_member_list=full_member_list,
            resume_url=lambda: f"{self.gateway_url}resume",
            notify=self.notifier.notify,
        )
        self.threads = ThreadService(
            self.world,
            self.messages,
            lambda event, data, intent: self._dispatch(event, data, intent=intent),
        )
        self.rest = RestRouter(token, self.notifier.notify)
        endpoints.register(self.rest, self)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._consumed: set[int] = set()
        self.unknown_paths: list[str] = []

    # lifecycle --------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port (REST under /api/v10, gateway at /)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.handle)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._serve_file)
        app.router.add_get("/", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)
        app.router.add_route("*", "/{tail:.*}", self._unknown_path)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        _log.debug("fake Discord listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close gateway sockets and the server; stop the bot first or it will reconnect."""
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/"

    @contextlib.contextmanager
    def patch_discord_py(self) -> Iterator[None]:
        """Point discord.py's REST base and default gateway at this fake (restored on exit)."""
        route = discord.http.Route
        websocket = discord.gateway.DiscordWebSocket
        old_base, old_gateway = route.BASE, websocket.DEFAULT_GATEWAY
        route.BASE = self.api_url
        websocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            route.BASE = old_base
            websocket.DEFAULT_GATEWAY = old_gateway

    # world building ---------------------------------------------------------------------------

    @property
    def bot_user(self) -> FakeUser:
        return self.world.bot_user

    @property
    def application_id(self) -> int:
        return self.world.application.id

    def add_user(
        self, username: str, *, bot: bool = False, global_name: str | None = None
    ) -> FakeUser:
        user = FakeUser(
            id=self.world.ids.next(), username=username, global_name=global_name, bot=bot
        )
        self.world.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        owner: FakeUser | None = None,
        channels: Sequence[str] = ("general",),
        everyone_permissions: int = perms.DEFAULT_EVERYONE,
        bot_permissions: int = perms.DEFAULT_BOT_ROLE,
        with_bot: bool = True,
    ) -> FakeGuild:
        """A guild the bot is in: @everyone, the bot's managed role, owner, text channels.

        Added before the bot connects it arrives in READY/GUILD_CREATE; added later it is
        dispatched as a GUILD_CREATE (the bot joining a guild). ``with_bot=False``: a guild
        the bot is not in (no role, no member, no event); a member who installed the app to
        their account can still use it there (``install="user"``).
        """
        world = self.world
        guild_id = world.ids.next()
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = FakeGuild(id=guild_id, name=name, owner_id=owner.id)
        guild.roles[guild_id] = FakeRole(
            id=guild_id, guild_id=guild_id, name="@everyone", permissions=everyone_permissions
        )
        if not with_bot:
            guild.members[owner.id] = FakeMember(guild_id=guild_id, user=owner)
            world.guilds[guild_id] = guild
            for position, channel_name in enumerate(channels):
                self._new_channel(guild, channel_name, GUILD_TEXT, position=position)
            return guild
        bot_role = FakeRole(
            id=world.ids.next(),
            guild_id=guild_id,
            name=world.bot_user.username,
            permissions=bot_permissions,
            position=1,
            managed=True,
            bot_id=world.bot_user.id,
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = FakeMember(guild_id=guild_id, user=owner)
        guild.members[world.bot_user.id] = FakeMember(
            guild_id=guild_id, user=world.bot_user, role_ids=[bot_role.id]
        )
        world.guilds[guild_id] = guild
        for position, channel_name in enumerate(channels):
            self._new_channel(guild, channel_name, GUILD_TEXT, position=position)
        self._dispatch(
            "GUILD_CREATE",
            payloads.guild_create(guild, world, include_all_members=self.gateway.full_member_list),
            intent=GUILDS,
        )
        return guild

    def add_channel(
        self,
        guild: GuildRef,
        name: str,
        *,
        type: int = GUILD_TEXT,
        topic: str | None = None,
        parent: ChannelRef | None = None,
        overwrites: Sequence[perms.Overwrite] = (),
    ) -> FakeChannel:
        g = self._guild(guild)
        channel = self._new_channel(
            g,
            name,
            type,
            position=len(g.channels),
            topic=topic,
            parent_id=self._channel(parent).id if parent is not None else None,
            overwrites=overwrites,
        )
        if self.world.bot_user.id in g.members:
            self._dispatch("CHANNEL_CREATE", payloads.channel(channel, self.world), intent=GUILDS)
        return channel

    def add_forum_channel(
        self,
        guild: GuildRef,
        name: str,
        *,
        type: int = GUILD_FORUM,
        topic: str | None = None,
        parent: ChannelRef | None = None,
        overwrites: Sequence[perms.Overwrite] = (),
    ) -> FakeChannel:
        """A forum channel (type 15; 16 for media) with no tags (``CHANNEL_CREATE``)."""
        if type not in FORUM_TYPES:
            raise ValueError(f"type {type} is not a forum or media channel")
        return self.add_channel(
            guild, name, type=type, topic=topic, parent=parent, overwrites=overwrites
        )

    def set_permission_overwrite(
        self,
        channel: ChannelRef,
        target: FakeRole | FakeMember | FakeUser,
        *,
        allow: int = 0,
        deny: int = 0,
    ) -> None:
        """Allow/deny permissions for a role or member in one channel (CHANNEL_UPDATE)."""
        c = self._channel(channel)
        kind = 0 if isinstance(target, FakeRole) else 1
        c.overwrites[target.id] = perms.Overwrite(target.id, kind, allow=allow, deny=deny)
        self._dispatch("CHANNEL_UPDATE", payloads.channel(c, self.world), intent=GUILDS)

    def add_role(
        self, guild: GuildRef, name: str, permissions: int = 0, *, mentionable: bool = False
    ) -> FakeRole:
        g = self._guild(guild)
        role = FakeRole(
            id=self.world.ids.next(),
            guild_id=g.id,
            name=name,
            permissions=permissions,
            position=len(g.roles),
            mentionable=mentionable,
        )
        g.roles[role.id] = role
        if self.world.bot_user.id not in g.members:
            return role
        self._dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(g.id), "role": payloads.role(role)}, intent=GUILDS
        )
        return role

    def add_member(
        self,
        guild: GuildRef,
        user: FakeUser | str,
        *,
        roles: Sequence[FakeRole] = (),
        permissions: int | None = None,
        nick: str | None = None,
    ) -> FakeMember:
        """Make ``user`` (or a new user of that name) a member.

        ``permissions`` is a shortcut: a dedicated role with exactly those permissions is
        created and given to the member, on top of ``roles``.
        """
        g = self._guild(guild)
        u = self.add_user(user) if isinstance(user, str) else user
        role_ids = [r.id for r in roles]
        if permissions is not None:
            role_ids.append(self.add_role(g, f"{u.username}-permissions", permissions).id)
        member = FakeMember(guild_id=g.id, user=u, role_ids=role_ids, nick=nick)
        g.members[u.id] = member
        if self.world.bot_user.id not in g.members:
            return member
        self._dispatch(
            "GUILD_MEMBER_ADD",
            {**payloads.member(member), "guild_id": str(g.id)},
            intent=GUILD_MEMBERS,
        )
        return member

    def dm_channel(self, user: UserRef) -> FakeChannel:
        """The DM channel between the bot and ``user`` (created on first use)."""
        u = self._user(user)
        for channel in self.world.channels.values():
            if channel.type == DM and channel.recipient_ids == [u.id]:
                return channel
        channel = FakeChannel(
            id=self.world.ids.next(), type=DM, name=None, guild_id=None, recipient_ids=[u.id]
        )
        self.world.channels[channel.id] = channel
        return channel

    def group_dm(self, owner: UserRef, *others: UserRef, name: str | None = None) -> FakeChannel:
        """A group DM between users (type 3). The bot is never in one: only a user install
        of the app reaches it, by interactions; no gateway event from it reaches the bot."""
        members = [self._user(owner), *(self._user(u) for u in others)]
        channel = FakeChannel(
            id=self.world.ids.next(),
            type=GROUP_DM,
            name=name,
            guild_id=None,
            recipient_ids=[u.id for u in members],
            owner_id=members[0].id,
        )
        self.world.channels[channel.id] = channel
        return channel

    def enable_user_install(self) -> None:
        """The developer portal's Installation page with "User Install" ticked: users may add
        the app to their account (``install="user"`` interactions)."""
        self.world.application.integration_types.add(USER_INSTALL)

    def serve_attachment(
        self, filename: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        """Host ``data`` on the fake's CDN endpoint and return its URL."""
        return str(self.messages.store_file(FakeFile(filename, data, content_type))["url"])

    # user actions (each dispatches a gateway event to the connected bot) ----------------------

    def send_user_message(
        self,
        channel: ChannelRef,
        author: UserRef,
        content: str = "",
        *,
        attachments: Sequence[FakeFile | JSON] = (),
        mentions: Sequence[UserRef] = (),
        reply_to: FakeMessage | None = None,
        embeds: Sequence[JSON] = (),
    ) -> FakeMessage:
        """A user posts a message (MESSAGE_CREATE). ``FakeFile`` attachments are hosted on the
        fake's CDN so ``attachment.read()`` works; dicts are used as attachment objects as-is.
        Mentions written as ``<@id>`` in ``content`` resolve automatically."""
        self._require_session()
        c = self._channel(channel)
        u = self._user(author)
        guild = self.world.guild_of(c)
        if guild is not None and u.id not in guild.members:
            raise ValueError(f"{u.username} is not a member of {guild.name}")
        if c.type == GROUP_DM and u.id not in c.recipient_ids:
            raise ValueError(f"{u.username} is not in that group DM")
        if c.type in FORUM_TYPES:
            raise ValueError("post in a forum with create_forum_post, not send_user_message")
        try:
            self.threads.before_post(c, u.id)
        except RestError as err:
            raise ValueError(f"{u.username} cannot post in thread {c.name!r}: {err}") from None
        message = self.messages.create_user_message(
            channel=c,
            author=u,
            content=content,
            files=[a for a in attachments if isinstance(a, FakeFile)],
            attachments=[a for a in attachments if isinstance(a, dict)],
            mentions=[self._user(m).id for m in mentions],
            reply_to=reply_to,
            embeds=embeds,
        )
        self.emit_message("MESSAGE_CREATE", message)
        return message

    def create_thread(
        self,
        channel: ChannelRef,
        starter_message: FakeMessage | None = None,
        *,
        name: str,
        owner: UserRef,
        type: int = PUBLIC_THREAD,
        auto_archive_duration: int = 1440,
    ) -> FakeChannel:
        """``owner`` opens a thread in ``channel``, on ``starter_message`` if given (the thread
        then has the message's id), else without one (``type`` 11 or 12). THREAD_CREATE."""
        self._require_session()
        c = self._channel(channel)
        u = self._member_user(c, owner)
        if starter_message is not None:
            if starter_message.channel_id != c.id:
                raise ValueError("the starter message is not in that channel")
            return self.threads.start_from_message(
                starter_message, name=name, owner=u, auto_archive_duration=auto_archive_duration
            )
        return self.threads.start_without_message(
            c, name=name, owner=u, kind=type, auto_archive_duration=auto_archive_duration
        )

    def create_forum_post(
        self,
        forum: ChannelRef,
        author: UserRef,
        title: str,
        content: str = "",
        *,
        embeds: Sequence[JSON] = (),
        attachments: Sequence[FakeFile] = (),
    ) -> tuple[FakeChannel, FakeMessage]:
        """``author`` posts in a forum: THREAD_CREATE (``newly_created``), then MESSAGE_CREATE
        of the starter message, whose id is the thread's. Returns (thread, starter message)."""
        self._require_session()
        f = self._channel(forum)
        u = self._member_user(f, author)
        thread, message = self.threads.forum_post(
            f,
            name=title,
            owner=u,
            message_body={"content": content, "embeds": list(embeds)},
            files=list(attachments),
            source="user",
        )
        message.sent = None
        self.emit_message("MESSAGE_CREATE", message)
        return thread, message

    def archive_thread(self, thread: ChannelRef, *, locked: bool = False) -> None:
        """Archive (and optionally lock) a thread, as a moderator would (THREAD_UPDATE)."""
        t = self._channel(thread)
        if not t.is_thread:
            raise ValueError(f"channel {t.id} is not a thread")
        self.threads.set_archived(t, archived=True, locked=locked)

    def send_slash_command(
        self,
        channel: ChannelRef,
        user: UserRef,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON] | None = None,
        *,
        resolved: JSON | None = None,
        locale: str = "en-US",
        require_registered: bool = True,
        install: str | None = None,
    ) -> InteractionHandle:
        """A user runs ``/name`` in ``channel`` (INTERACTION_CREATE type 2).

        ``options`` as ``{name: value}`` is typed from the synced command's schema; nested
        mappings select subcommands. Raises LookupError if the command was never synced, or
        if Discord would not offer it there (its ``contexts`` and ``integration_types``).
        ``install``: "guild", "user" or "both"; None: the guild install where the bot is,
        else the user's.
        """
        return self._command_interaction(
            APPLICATION_COMMAND, channel, user, name, options, resolved, None, locale,
            require_registered, install=install,
        )  # fmt: skip

    def send_message_command(
        self,
        channel: ChannelRef,
        user: UserRef,
        name: str,
        target: FakeMessage,
        *,
        locale: str = "en-US",
        install: str | None = None,
        require_registered: bool = True,
    ) -> InteractionHandle:
        """A user picks Apps > ``name`` on ``target`` (INTERACTION_CREATE type 2 with
        ``data.type`` 3, ``target_id`` and ``resolved.messages``; the content is there even
        without the Message Content intent). Same checks as ``send_slash_command``."""
        if target.channel_id != self._channel(channel).id:
            raise ValueError("the target message is not in that channel")
        resolved = {"messages": {str(target.id): copy.deepcopy(target.payload)}}
        return self._command_interaction(
            APPLICATION_COMMAND, channel, user, name, None, resolved, None, locale,
            require_registered, install=install, command_type=MESSAGE_COMMAND,
            target_id=target.id,
        )  # fmt: skip

    def send_autocomplete(
        self,
        channel: ChannelRef,
        user: UserRef,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON],
        *,
        focused: str,
        locale: str = "en-US",
        require_registered: bool = True,
        install: str | None = None,
    ) -> InteractionHandle:
        """A user is typing option ``focused`` of ``/name`` (INTERACTION_CREATE type 4)."""
        return self._command_interaction(
            AUTOCOMPLETE, channel, user, name, options, None, focused, locale, require_registered,
            install=install,
        )  # fmt: skip

    def click_button(
        self, message: FakeMessage, custom_id: str, user: UserRef, *, install: str | None = None
    ) -> InteractionHandle:
        """A user clicks an enabled button present on ``message`` (INTERACTION_CREATE type 3).
        ``install``: as for commands; None: the installs that authorized the interaction that
        sent ``message``. Only its recipient can click an ephemeral message."""
        component = self._component(message, custom_id)
        if component.get("type") != 2:
            raise ValueError(f"component {custom_id!r} is not a button")
        return self._component_interaction(
            message, user, {"custom_id": custom_id, "component_type": 2}, install
        )

    def select_options(
        self, message: FakeMessage, custom_id: str, values: Sequence[str], user: UserRef
    ) -> InteractionHandle:
        """A user picks ``values`` in a select menu on ``message``."""
        component = self._component(message, custom_id)
        data = {
            "custom_id": custom_id,
            "component_type": component.get("type", 3),
            "values": list(values),
        }
        return self._component_interaction(message, user, data)

    def submit_modal(
        self, shown_by: InteractionHandle, values: Mapping[str, str], user: UserRef | None = None
    ) -> InteractionHandle:
        """Submit the modal the bot showed in response to ``shown_by`` (type 5 interaction)."""
        if shown_by.response_type != MODAL:
            raise ValueError("that interaction was not answered with a modal")
        modal = shown_by.response_data
        components: list[JSON] = []
        for row in modal.get("components", []):
            if row.get("type") == 18:  # label wrapping one component
                inner = row["component"]
                value = values.get(inner.get("custom_id", ""), "")
                components.append({"type": 18, "component": {**_submitted(inner), "value": value}})
            else:
                children = [
                    {**_submitted(child), "value": values.get(child.get("custom_id", ""), "")}
                    for child in row.get("components", [])
                ]
                components.append({"type": 1, "components": children})
        self._require_session()
        channel = self.world.channels[shown_by.channel_id]
        handle = self.interactions.create(
            type=MODAL_SUBMIT,
            guild=self.world.guild_of(channel),
            channel=channel,
            user=self._user(user if user is not None else shown_by.user_id),
            data={"custom_id": modal["custom_id"], "components": components},
            message=shown_by.source_message,
        )
        self._dispatch("INTERACTION_CREATE", handle.payload)
        return handle

    # waiting ----------------------------------------------------------------------------------

    async def wait_until(
        self,
        predicate: Callable[[], T | None],
        *,
        timeout: float = 5.0,
        description: str = "condition",
    ) -> T:
        """Wait until ``predicate()`` returns something truthy (re-checked on every change)."""
        return await self.notifier.wait_for(predicate, timeout=timeout, description=description)

    async def wait_for_message(
        self,
        channel: ChannelRef,
        predicate: Callable[[FakeMessage], bool] | None = None,
        *,
        timeout: float = 5.0,
        from_bot: bool = True,
    ) -> FakeMessage:
        """The next not-yet-returned message in ``channel`` matching ``predicate``.

        Each message is returned by this method at most once, so consecutive calls walk
        through a conversation; messages that arrived before the call count too (no race).
        """
        channel_id = self._channel(channel).id
        bot_id = self.world.bot_user.id

        def find() -> FakeMessage | None:
            for message in self.world.messages_in(channel_id, include_deleted=True):
                if message.id in self._consumed or (from_bot and message.author_id != bot_id):
                    continue
                if predicate is None or predicate(message):
                    self._consumed.add(message.id)
                    return message
            return None

        return await self.wait_until(
            find, timeout=timeout, description=f"a message in {channel_id}"
        )

    async def wait_for_interaction_response(
        self,
        handle: InteractionHandle,
        *,
        timeout: float = 5.0,
        followups: int = 0,
        until: Callable[[InteractionHandle], bool] | None = None,
    ) -> InteractionHandle:
        """Wait for the initial response, ``followups`` followups and ``until(handle)``."""

        def done() -> InteractionHandle | None:
            if handle.callback is None or len(handle.followups) < followups:
                return None
            if until is not None and not until(handle):
                return None
            return handle

        return await self.wait_until(
            done, timeout=timeout, description=f"a response to interaction {handle.id}"
        )

    async def wait_for_heartbeats(
        self, count: int, *, timeout: float = 5.0
    ) -> list[HeartbeatRecord]:
        """Wait until at least ``count`` heartbeats were received in total."""
        return await self.wait_until(
            lambda: (
                list(self.gateway.heartbeats) if len(self.gateway.heartbeats) >= count else None
            ),
            timeout=timeout,
            description=f"{count} heartbeats",
        )

    async def wait_for_resumes(self, count: int = 1, *, timeout: float = 5.0) -> None:
        """Wait until the client has RESUMEd ``count`` times in total."""
        await self.wait_until(
            lambda: self.gateway.resume_count >= count,
            timeout=timeout,
            description=f"{count} gateway resume(s)",
        )

    async def wait_for_request(
        self, method: str, path_regex: str, *, timeout: float = 5.0, count: int = 1
    ) -> RecordedRequest:
        """Wait until ``count`` requests matching method + path (fullmatch) were answered."""

        def found() -> RecordedRequest | None:
            matching = [r for r in self.requests_matching(method, path_regex) if r.status]
            return matching[count - 1] if len(matching) >= count else None

        return await self.wait_until(found, timeout=timeout, description=f"{method} {path_regex}")

    # inspection -------------------------------------------------------------------------------

    def messages_in(
        self, channel: ChannelRef, *, include_deleted: bool = False
    ) -> list[FakeMessage]:
        """All messages in ``channel`` (user and bot, ephemeral included) oldest first."""
        return self.world.messages_in(self._channel(channel).id, include_deleted=include_deleted)

    def threads_in(self, channel: ChannelRef) -> list[FakeChannel]:
        """Threads (archived included) whose parent is ``channel``, oldest first."""
        return self.threads.threads_in(self._channel(channel))

    def thread_of(self, message: FakeMessage) -> FakeChannel | None:
        """The thread started from ``message`` (or the forum post it starts), if any."""
        found = self.world.channels.get(message.id)
        return found if found is not None and found.is_thread else None

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.rest.requests

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        return self.rest.unknown_requests

    def requests_matching(self, method: str, path_regex: str) -> list[RecordedRequest]:
        pattern = re.compile(path_regex)
        return [
            r
            for r in self.rest.requests
            if method.upper() in ("*", r.method) and pattern.fullmatch(r.path)
        ]

    @property
    def registered_commands(self) -> dict[int | None, list[JSON]]:
        """Synced commands by scope: ``None`` for global, else the guild id."""
        return self.commands.all()

    @property
    def heartbeats(self) -> list[HeartbeatRecord]:
        return self.gateway.heartbeats

    def problems(self) -> list[str]:
        """Everything that should make a test fail regardless of its assertions."""
        found = [f"unknown route: {r.method} {r.path}" for r in self.rest.unknown_requests]
        found += [f"unknown path: {p}" for p in self.unknown_paths]
        found += [f"fake REST crashed: {e}" for e in self.rest.internal_errors]
        found += [f"fake gateway crashed: {e}" for e in self.gateway.internal_errors]
        found += [
            f"injected failure never triggered: {f.method} {f.path.pattern}"
            for f in self.rest.failures
            if f.served < f.times
        ]
        return found

    def assert_clean(self) -> None:
        """Assert no unknown route was hit, the fake never crashed, all injected faults fired."""
        problems = self.problems()
        assert not problems, "fake Discord problems:\n" + "\n".join(problems)

    # faults -------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 429,
        retry_after: float = 0.1,
        times: int = 1,
        is_global: bool = False,
    ) -> FailureRule:
        """Answer the next ``times`` matching REST requests with ``status`` (429 or 5xx).

        ``path_regex`` must fullmatch the path below /api/v10, e.g. ``/channels/\\d+/messages``.
        """
        return self.rest.fail_next(
            method,
            path_regex,
            status=status,
            retry_after=retry_after,
            times=times,
            is_global=is_global,
        )

    async def drop_gateway_connection(self, code: int | None = None) -> None:
        """Kill the bot's websocket (TCP abort, or close with ``code``); the session survives."""
        await self.gateway.drop_connection(code)

    async def send_reconnect(self) -> None:
        """Send opcode 7 RECONNECT (Discord asking the client to reconnect and resume)."""
        await self.gateway.send_op(RECONNECT)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send opcode 9 INVALID_SESSION (discord.py waits 5 s before re-identifying)."""
        await self.gateway.invalidate_session(resumable=resumable)

    # internals used by endpoints and interactions -------------------------------------------

    def emit_message(self, event: str, message: FakeMessage) -> None:
        """Dispatch a message event as Discord would to this bot (intents, content intent);
        nothing from where the bot is not (group DMs, guilds without it)."""
        if not self.world.bot_sees(self.world.channels[message.channel_id]):
            return
        intent = GUILD_MESSAGES if message.guild_id is not None else DIRECT_MESSAGES
        bot_id = self.world.bot_user.id
        if event == "MESSAGE_DELETE":
            data: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
        else:
            if message.author_id == bot_id and not self.echo_bot_messages:
                return
            data = self.messages.gateway_payload(message)
            session = self.gateway.current
            if (
                session is not None
                and not session.intents & MESSAGE_CONTENT
                and message.guild_id is not None
                and message.author_id != bot_id
                and bot_id not in message.mentioned_user_ids
            ):
                for key, empty in (
                    ("content", ""),
                    ("embeds", []),
                    ("attachments", []),
                    ("components", []),
                ):
                    data[key] = copy.deepcopy(empty)
                data.pop("poll", None)
        self._dispatch(event, data, intent=intent)

    def _dispatch(self, event: str, data: JSON, *, intent: int | None = None) -> None:
        self.gateway.dispatch(event, data, intent=intent)

    def _require_session(self) -> None:
        if self.gateway.current is None:
            raise RuntimeError("no bot has identified with the fake gateway yet")

    def _command_interaction(
        self,
        kind: int,
        channel: ChannelRef,
        user: UserRef,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON] | None,
        resolved: JSON | None,
        focused: str | None,
        locale: str,
        require_registered: bool,
        *,
        install: str | None = None,
        command_type: int = 1,
        target_id: int | None = None,
    ) -> InteractionHandle:
        self._require_session()
        c = self._channel(channel)
        u = self._user(user)
        guild = self.world.guild_of(c)
        if c.type == GROUP_DM and u.id not in c.recipient_ids:
            raise ValueError(f"{u.username} is not in that group DM")
        authorization = self.interactions.authorization(c, u, install)
        data = self.interactions.command_data(
            name=name,
            guild=guild,
            options=options,
            resolved=resolved,
            focused=focused,
            require_registered=require_registered,
            command_type=command_type,
            authorization=authorization,
        )
        if target_id is not None:
            data["target_id"] = str(target_id)
        handle = self.interactions.create(
            type=kind, guild=guild, channel=c, user=u, data=data, locale=locale,
            authorization=authorization,
        )  # fmt: skip
        self._dispatch("INTERACTION_CREATE", handle.payload)
        return handle

    def _component(self, message: FakeMessage, custom_id: str) -> JSON:
        for component in _walk_components(message.components):
            if component.get("custom_id") == custom_id:
                if component.get("disabled"):
                    raise ValueError(f"component {custom_id!r} is disabled")
                return component
        raise ValueError(f"message {message.id} has no component {custom_id!r}")

    def _component_interaction(
        self, message: FakeMessage, user: UserRef, data: JSON, install: str | None = None
    ) -> InteractionHandle:
        self._require_session()
        channel = self.world.channels[message.channel_id]
        u = self._user(user)
        metadata = message.payload.get("interaction_metadata") or {}
        if message.ephemeral and metadata.get("user", {}).get("id") not in (None, str(u.id)):
            raise ValueError("only the user an ephemeral message was sent to can click it")
        authorization = self.interactions.authorization(channel, u, install)
        owners = metadata.get("authorizing_integration_owners")
        if install is None and owners:
            authorization = Authorization(authorization.context, dict(owners))
        handle = self.interactions.create(
            type=MESSAGE_COMPONENT,
            guild=self.world.guild_of(channel),
            channel=channel,
            user=u,
            data=data,
            message=message,
            authorization=authorization,
        )
        self._dispatch("INTERACTION_CREATE", handle.payload)
        return handle

    def _new_channel(
        self,
        guild: FakeGuild,
        name: str,
        type: int,
        *,
        position: int,
        topic: str | None = None,
        parent_id: int | None = None,
        overwrites: Sequence[perms.Overwrite] = (),
    ) -> FakeChannel:
        channel = FakeChannel(
            id=self.world.ids.next(),
            type=type,
            name=name,
            guild_id=guild.id,
            position=position,
            topic=topic,
            parent_id=parent_id,
            overwrites={o.target_id: o for o in overwrites},
        )
        guild.channels[channel.id] = channel
        self.world.channels[channel.id] = channel
        return channel

    def _member_user(self, channel: FakeChannel, ref: UserRef) -> FakeUser:
        user = self._user(ref)
        guild = self.world.guild_of(channel)
        if guild is None or user.id not in guild.members:
            raise ValueError(f"{user.username} is not a member of the channel's guild")
        return user

    def _guild(self, ref: GuildRef) -> FakeGuild:
        return self.world.guilds[ref.id if isinstance(ref, FakeGuild) else ref]

    def _channel(self, ref: ChannelRef) -> FakeChannel:
        return self.world.channels[ref.id if isinstance(ref, FakeChannel) else ref]

    def _user(self, ref: UserRef) -> FakeUser:
        if isinstance(ref, FakeMember):
            return ref.user
        return self.world.users[ref.id if isinstance(ref, FakeUser) else ref]

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        file = self.world.files.get(int(request.match_info["attachment_id"]))
        if file is None or file.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=file.data, headers={"Content-Type": file.content_type})

    async def _unknown_path(self, request: web.Request) -> web.StreamResponse:
        self.unknown_paths.append(f"{request.method} {request.path}")
        _log.warning("fake Discord: unknown path %s %s", request.method, request.path)
        self.notifier.notify()
        return web.Response(status=404, text="Not Found")


def _walk_components(components: Sequence[JSON]) -> Iterator[JSON]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components") or [])
        if isinstance(component.get("component"), dict):
            yield from _walk_components([component["component"]])
        if isinstance(component.get("accessory"), dict):
            yield from _walk_components([component["accessory"]])


def _submitted(component: JSON) -> JSON:
    """The part of a modal component echoed back on submit."""
    return {"type": component.get("type", 4), "custom_id": component.get("custom_id")}
