"""The REST v10 endpoints a discord.py bot calls, implemented over the fake's state.

Each handler enforces what Discord enforces for a bot (channel visibility and permissions,
authorship for edits, known ids) and answers with the payload Discord would return, emitting
the gateway events Discord would emit (a bot's own MESSAGE_CREATE/UPDATE/DELETE included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakediscord import payloads
from tests.fakediscord import permissions as perms
from tests.fakediscord.messages import invalid_form, validate_message_body
from tests.fakediscord.rest import RestCall, RestError, RestRouter, json_response, no_content
from tests.fakediscord.state import (
    DM,
    FORUM_TYPES,
    PRIVATE_THREAD,
    FakeChannel,
    FakeFile,
    FakeGuild,
    FakeMessage,
)
from tests.fakediscord.threads import wrong_channel_type

if TYPE_CHECKING:
    from tests.fakediscord.server import FakeDiscord

JSON = dict[str, Any]


def register(router: RestRouter, fake: FakeDiscord) -> None:
    """Mount every implemented endpoint on ``router`` (specific paths before generic ones)."""
    e = Endpoints(fake)
    add = router.add
    add("GET", "/users/@me", e.get_me)
    add("POST", "/users/@me/channels", e.open_dm)
    add("GET", "/users/{user_id}", e.get_user)
    add("GET", "/oauth2/applications/@me", e.get_application)
    add("GET", "/applications/@me", e.get_application)
    add("GET", "/gateway", e.get_gateway, bot_auth=False)
    add("GET", "/gateway/bot", e.get_gateway_bot)

    add("GET", "/channels/{channel_id}", e.get_channel)
    add("GET", "/channels/{channel_id}/messages", e.list_messages)
    add("POST", "/channels/{channel_id}/messages", e.create_message)
    add("GET", "/channels/{channel_id}/messages/{message_id}", e.get_message)
    add("PATCH", "/channels/{channel_id}/messages/{message_id}", e.edit_message)
    add("DELETE", "/channels/{channel_id}/messages/{message_id}", e.delete_message)
    add("POST", "/channels/{channel_id}/typing", e.typing)
    add("POST", "/channels/{channel_id}/messages/{message_id}/threads", e.start_thread_from_message)
    add("POST", "/channels/{channel_id}/threads", e.start_thread)
    add("PUT", "/channels/{channel_id}/thread-members/@me", e.join_thread)
    add("DELETE", "/channels/{channel_id}/thread-members/@me", e.leave_thread)
    reaction = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
    add("PUT", reaction, e.add_reaction)
    add("DELETE", reaction, e.remove_reaction)

    add("GET", "/guilds/{guild_id}", e.get_guild)
    add("GET", "/guilds/{guild_id}/channels", e.get_guild_channels)
    add("GET", "/guilds/{guild_id}/threads/active", e.get_active_threads)
    add("GET", "/guilds/{guild_id}/roles", e.get_roles)
    add("GET", "/guilds/{guild_id}/members", e.list_members)
    add("GET", "/guilds/{guild_id}/members/{user_id}", e.get_member)

    for prefix in (
        "/applications/{application_id}/commands",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ):
        add("GET", prefix, e.list_commands)
        add("PUT", prefix, e.overwrite_commands)
        add("POST", prefix, e.upsert_command)
        add("GET", prefix + "/{command_id}", e.get_command)
        add("PATCH", prefix + "/{command_id}", e.edit_command)
        add("DELETE", prefix + "/{command_id}", e.delete_command)

    add(
        "POST",
        "/interactions/{interaction_id}/{token}/callback",
        e.interaction_callback,
        bot_auth=False,
    )
    add("POST", "/webhooks/{application_id}/{token}", e.followup, bot_auth=False)
    webhook_message = "/webhooks/{application_id}/{token}/messages/{message_ref}"
    add("GET", webhook_message, e.get_webhook_message, bot_auth=False)
    add("PATCH", webhook_message, e.edit_webhook_message, bot_auth=False)
    add("DELETE", webhook_message, e.delete_webhook_message, bot_auth=False)


class Endpoints:
    """Handlers; each takes a ``RestCall`` and returns a response or raises ``RestError``."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.world = fake.world

    # users / application / gateway ----------------------------------------------------------

    async def get_me(self, call: RestCall) -> web.Response:
        return json_response(payloads.client_user(self.world.bot_user))

    async def get_user(self, call: RestCall) -> web.Response:
        user = self.world.users.get(call.snowflake("user_id"))
        if user is None:
            raise RestError(404, "Unknown User", 10013)
        return json_response(payloads.user(user))

    async def open_dm(self, call: RestCall) -> web.Response:
        recipient = self.world.users.get(int(call.body.get("recipient_id", 0)))
        if recipient is None:
            raise RestError(400, "Invalid Recipient(s)", 50033)
        channel = self.fake.dm_channel(recipient)
        return json_response(payloads.channel(channel, self.world))

    async def get_application(self, call: RestCall) -> web.Response:
        return json_response(payloads.application(self.world.application, self.world.bot_user))

    async def get_gateway(self, call: RestCall) -> web.Response:
        return json_response({"url": self.fake.gateway_url})

    async def get_gateway_bot(self, call: RestCall) -> web.Response:
        return json_response(
            {
                "url": self.fake.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    # channels and messages -------------------------------------------------------------------

    def _channel(self, call: RestCall, need: int = 0) -> FakeChannel:
        """The channel in the path, if the bot can see it and has ``need`` permissions there."""
        channel = self.world.channels.get(call.snowflake("channel_id"))
        if channel is None:
            raise RestError(404, "Unknown Channel", 10003)
        bot_id = self.world.bot_user.id
        if channel.type == DM:
            return channel  # every DM channel in the fake is between the bot and its recipient
        guild = self.world.guild_of(channel)
        if guild is None or bot_id not in guild.members:
            raise RestError(403, "Missing Access", 50001)
        granted = self.world.permissions_in(channel, bot_id)
        if not granted & perms.VIEW_CHANNEL:
            raise RestError(403, "Missing Access", 50001)
        if need & ~granted:
            raise RestError(403, "Missing Permissions", 50013)
        return channel

    def _message(self, call: RestCall, channel: FakeChannel) -> FakeMessage:
        message = self.world.messages.get(call.snowflake("message_id"))
        if message is None or message.deleted or message.channel_id != channel.id:
            raise RestError(404, "Unknown Message", 10008)
        if message.ephemeral:
            raise RestError(404, "Unknown Message", 10008)
        return message

    async def get_channel(self, call: RestCall) -> web.Response:
        return json_response(payloads.channel(self._channel(call), self.world))

    async def list_messages(self, call: RestCall) -> web.Response:
        channel = self._channel(call, perms.READ_MESSAGE_HISTORY)
        query = call.request.query
        limit = max(1, min(100, int(query.get("limit", 50))))
        found = [m for m in self.world.messages_in(channel.id) if not m.ephemeral]
        if "before" in query:
            found = [m for m in found if m.id < int(query["before"])]
        if "after" in query:
            found = [m for m in found if m.id > int(query["after"])]
            found = found[:limit]
        if "around" in query:
            around = int(query["around"])
            older = [m for m in found if m.id <= around][-(limit // 2 + 1) :]
            newer = [m for m in found if m.id > around][: limit // 2]
            found = older + newer
        found = sorted(found, key=lambda m: m.id, reverse=True)[:limit]
        return json_response([m.payload for m in found])

    def _send_permission(self, call: RestCall) -> int:
        """Send Messages, or Send Messages in Threads when the path names a thread."""
        channel = self.world.channels.get(call.snowflake("channel_id"))
        if channel is not None and channel.is_thread:
            return perms.SEND_MESSAGES_IN_THREADS
        return perms.SEND_MESSAGES

    def _checked_body(self, channel: FakeChannel, body: JSON, files: list[FakeFile]) -> JSON:
        """A create body after Discord's validation, embeds dropped without Embed Links."""
        body = dict(body)
        validate_message_body(body, files, creating=True)
        granted = self.world.permissions_in(channel, self.world.bot_user.id)
        if body.get("embeds") and not granted & perms.EMBED_LINKS:
            body["embeds"] = []  # Discord silently drops embeds without Embed Links
        return body

    async def create_message(self, call: RestCall) -> web.Response:
        need = self._send_permission(call) | (perms.ATTACH_FILES if call.files else 0)
        channel = self._channel(call, need)
        if channel.type in FORUM_TYPES:
            raise wrong_channel_type()  # forum posts go through POST /channels/{id}/threads
        body = self._checked_body(channel, call.body, call.files)
        self.fake.threads.before_post(channel, self.world.bot_user.id)
        message = self.fake.messages.create(
            channel=channel, author=self.world.bot_user, body=body, files=call.files, source="rest"
        )
        self.fake.emit_message("MESSAGE_CREATE", message)
        return json_response(message.payload)

    async def get_message(self, call: RestCall) -> web.Response:
        channel = self._channel(call, perms.READ_MESSAGE_HISTORY)
        return json_response(self._message(call, channel).payload)

    async def edit_message(self, call: RestCall) -> web.Response:
        channel = self._channel(call)
        message = self._message(call, channel)
        if message.author_id != self.world.bot_user.id:
            raise RestError(403, "Cannot edit a message authored by another user", 50005)
        validate_message_body(call.body, call.files, creating=False)
        self.fake.messages.edit(message, call.body, call.files)
        self.fake.emit_message("MESSAGE_UPDATE", message)
        return json_response(message.payload)

    async def delete_message(self, call: RestCall) -> web.Response:
        channel = self._channel(call)
        message = self._message(call, channel)
        bot_id = self.world.bot_user.id
        if message.author_id != bot_id and not (
            channel.type != DM
            and self.world.permissions_in(channel, bot_id) & perms.MANAGE_MESSAGES
        ):
            raise RestError(403, "Missing Permissions", 50013)
        message.deleted = True
        self.fake.emit_message("MESSAGE_DELETE", message)
        return no_content()

    async def typing(self, call: RestCall) -> web.Response:
        self._channel(call, self._send_permission(call))
        return no_content()

    # threads --------------------------------------------------------------------------------

    async def start_thread_from_message(self, call: RestCall) -> web.Response:
        channel = self._channel(call, perms.CREATE_PUBLIC_THREADS | perms.READ_MESSAGE_HISTORY)
        message = self._message(call, channel)
        thread = self.fake.threads.start_from_message(
            message,
            name=call.body.get("name"),
            owner=self.world.bot_user,
            auto_archive_duration=call.body.get("auto_archive_duration"),
        )
        return json_response(payloads.thread(thread, self.world), 201)

    async def start_thread(self, call: RestCall) -> web.Response:
        """A thread without a message in a text channel, or a post in a forum/media channel."""
        body = call.body
        channel = self.world.channels.get(call.snowflake("channel_id"))
        if channel is not None and channel.type in FORUM_TYPES:
            need = perms.SEND_MESSAGES | (perms.ATTACH_FILES if call.files else 0)
            forum = self._channel(call, need)
            message_body = body.get("message")
            if not isinstance(message_body, dict):
                raise invalid_form("message", "This field is required")
            thread, message = self.fake.threads.forum_post(
                forum,
                name=body.get("name"),
                owner=self.world.bot_user,
                message_body=self._checked_body(forum, message_body, call.files),
                files=call.files,
                source="rest",
                auto_archive_duration=body.get("auto_archive_duration"),
            )
            self.fake.emit_message("MESSAGE_CREATE", message)
            data = payloads.thread(thread, self.world)
            data["message"] = message.payload
            return json_response(data, 201)
        kind = body.get("type", PRIVATE_THREAD)
        need = (
            perms.CREATE_PRIVATE_THREADS if kind == PRIVATE_THREAD else perms.CREATE_PUBLIC_THREADS
        )
        parent = self._channel(call, need)
        thread = self.fake.threads.start_without_message(
            parent,
            name=body.get("name"),
            owner=self.world.bot_user,
            kind=kind,
            auto_archive_duration=body.get("auto_archive_duration"),
            invitable=bool(body.get("invitable", True)),
        )
        return json_response(payloads.thread(thread, self.world), 201)

    def _thread(self, call: RestCall) -> FakeChannel:
        thread = self._channel(call)
        if not thread.is_thread:
            raise wrong_channel_type()
        return thread

    async def join_thread(self, call: RestCall) -> web.Response:
        thread = self._thread(call)
        if thread.archived:
            raise RestError(400, "Thread is archived", 50083)
        self.fake.threads.join(thread, self.world.bot_user.id)
        return no_content()

    async def leave_thread(self, call: RestCall) -> web.Response:
        self.fake.threads.leave(self._thread(call), self.world.bot_user.id)
        return no_content()

    async def add_reaction(self, call: RestCall) -> web.Response:
        channel = self._channel(call, perms.ADD_REACTIONS | perms.READ_MESSAGE_HISTORY)
        message = self._message(call, channel)
        emoji = call.params["emoji"]
        if emoji not in message.reactions:
            message.reactions.append(emoji)
        return no_content()

    async def remove_reaction(self, call: RestCall) -> web.Response:
        channel = self._channel(call)
        message = self._message(call, channel)
        emoji = call.params["emoji"]
        if emoji in message.reactions:
            message.reactions.remove(emoji)
        return no_content()

    # guilds ---------------------------------------------------------------------------------

    def _guild(self, call: RestCall) -> FakeGuild:
        guild = self.world.guilds.get(call.snowflake("guild_id"))
        if guild is None or self.world.bot_user.id not in guild.members:
            raise RestError(404, "Unknown Guild", 10004)
        return guild

    async def get_guild(self, call: RestCall) -> web.Response:
        guild = self._guild(call)
        data = payloads.guild_create(guild, self.world, include_all_members=False)
        for key in ("channels", "members", "threads", "presences", "voice_states", "joined_at"):
            data.pop(key, None)
        return json_response(data)

    async def get_guild_channels(self, call: RestCall) -> web.Response:
        guild = self._guild(call)
        channels = [c for c in guild.channels.values() if not c.is_thread]
        return json_response([payloads.channel(c, self.world) for c in channels])

    async def get_active_threads(self, call: RestCall) -> web.Response:
        guild = self._guild(call)
        bot_id = self.world.bot_user.id
        active = [t for t in guild.threads if not t.archived]
        members = [
            {
                "id": str(t.id),
                "user_id": str(bot_id),
                "join_timestamp": t.create_timestamp,
                "flags": 0,
            }
            for t in active
            if bot_id in t.member_ids
        ]
        return json_response(
            {"threads": [payloads.thread(t, self.world) for t in active], "members": members}
        )

    async def get_roles(self, call: RestCall) -> web.Response:
        guild = self._guild(call)
        return json_response([payloads.role(r) for r in guild.roles.values()])

    async def get_member(self, call: RestCall) -> web.Response:
        guild = self._guild(call)
        member = guild.members.get(call.snowflake("user_id"))
        if member is None:
            raise RestError(404, "Unknown Member", 10007)
        return json_response(payloads.member(member))

    async def list_members(self, call: RestCall) -> web.Response:
        guild = self._guild(call)
        limit = max(1, min(1000, int(call.request.query.get("limit", 1))))
        after = int(call.request.query.get("after", 0))
        members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
        return json_response([payloads.member(m) for m in members[:limit]])

    # application commands ---------------------------------------------------------------------

    def _scope(self, call: RestCall) -> int | None:
        if call.snowflake("application_id") != self.world.application.id:
            raise RestError(403, "Missing Access", 50001)
        if "guild_id" not in call.params:
            return None
        guild = self.world.guilds.get(call.snowflake("guild_id"))
        if guild is None or self.world.bot_user.id not in guild.members:
            raise RestError(403, "Missing Access", 50001)
        return guild.id

    async def list_commands(self, call: RestCall) -> web.Response:
        return json_response(self.fake.commands.commands_in(self._scope(call)))

    async def overwrite_commands(self, call: RestCall) -> web.Response:
        scope = self._scope(call)
        return json_response(self.fake.commands.bulk_overwrite(scope, call.json))

    async def upsert_command(self, call: RestCall) -> web.Response:
        scope = self._scope(call)
        return json_response(self.fake.commands.upsert(scope, call.json), 201)

    async def get_command(self, call: RestCall) -> web.Response:
        scope = self._scope(call)
        return json_response(self.fake.commands.get(scope, call.snowflake("command_id")))

    async def edit_command(self, call: RestCall) -> web.Response:
        scope = self._scope(call)
        command_id = call.snowflake("command_id")
        return json_response(self.fake.commands.edit(scope, command_id, call.json))

    async def delete_command(self, call: RestCall) -> web.Response:
        scope = self._scope(call)
        self.fake.commands.delete(scope, call.snowflake("command_id"))
        return no_content()

    # interactions ------------------------------------------------------------------------------

    async def interaction_callback(self, call: RestCall) -> web.Response:
        response = self.fake.interactions.callback(
            call.snowflake("interaction_id"), call.params["token"], call.body, call.files
        )
        if call.query_flag("with_response"):
            return json_response(response)
        return no_content()

    async def followup(self, call: RestCall) -> web.Response:
        message = self.fake.interactions.followup(
            call.snowflake("application_id"), call.params["token"], call.body, call.files
        )
        if call.query_flag("wait"):
            return json_response(message.payload)
        return no_content()

    async def get_webhook_message(self, call: RestCall) -> web.Response:
        message = self.fake.interactions.get_message(
            call.snowflake("application_id"), call.params["token"], call.params["message_ref"]
        )
        return json_response(message.payload)

    async def edit_webhook_message(self, call: RestCall) -> web.Response:
        message = self.fake.interactions.edit_message(
            call.snowflake("application_id"),
            call.params["token"],
            call.params["message_ref"],
            call.body,
            call.files,
        )
        return json_response(message.payload)

    async def delete_webhook_message(self, call: RestCall) -> web.Response:
        self.fake.interactions.delete_message(
            call.snowflake("application_id"), call.params["token"], call.params["message_ref"]
        )
        return no_content()
