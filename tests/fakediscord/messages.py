"""Turns message bodies (bot REST calls, interaction responses, test-injected user messages)
into stored ``FakeMessage`` objects with Discord-shaped payloads.

Shared by REST and interaction handling so every path applies the same rules Discord does:
mention resolution honouring ``allowed_mentions``, attachments served back from the fake's
own CDN endpoint, ``type: rich`` on embeds, replies carrying ``referenced_message``, and
edits merged into the existing message.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from typing import Any

from tests.fakediscord import payloads
from tests.fakediscord import permissions as perms
from tests.fakediscord.ids import iso_timestamp
from tests.fakediscord.rest import RestError
from tests.fakediscord.state import FakeChannel, FakeFile, FakeMessage, FakeUser, World

JSON = dict[str, Any]

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")

# Message types used by the fake.
DEFAULT = 0
REPLY = 19
CHAT_INPUT_COMMAND = 20


class MessageFactory:
    """Creates and edits messages in ``world``; ``cdn_base`` yields the fake's HTTP origin."""

    def __init__(self, world: World, cdn_base: Callable[[], str]) -> None:
        self.world = world
        self._cdn_base = cdn_base

    # attachments ---------------------------------------------------------------------------

    def store_file(self, file: FakeFile) -> JSON:
        """Keep ``file`` downloadable and return its Discord attachment object."""
        attachment_id = self.world.ids.next()
        self.world.files[attachment_id] = file
        url = f"{self._cdn_base()}/attachments/{attachment_id}/{file.filename}"
        payload: JSON = {
            "id": str(attachment_id),
            "filename": file.filename,
            "size": len(file.data),
            "url": url,
            "proxy_url": url,
            "content_type": file.content_type,
            "flags": 0,
        }
        if file.description is not None:
            payload["description"] = file.description
        return payload

    # creation ------------------------------------------------------------------------------

    def create(
        self,
        *,
        channel: FakeChannel,
        author: FakeUser,
        body: JSON,
        files: Sequence[FakeFile] = (),
        source: str,
        webhook_id: int | None = None,
        message_type: int | None = None,
        extra: JSON | None = None,
        honour_allowed_mentions: bool = True,
        message_id: int | None = None,
    ) -> FakeMessage:
        """Build and store a message from a create body (JSON as the client sends it).

        ``message_id`` is only given for a forum post's starter message, whose id is the
        thread's."""
        world = self.world
        if message_id is None:
            message_id = world.ids.next()
        reference = body.get("message_reference")
        referenced = self._referenced(reference, channel)
        allowed = body.get("allowed_mentions") if honour_allowed_mentions else None
        content = str(body.get("content") or "")
        mentions, role_ids, everyone = self._resolve_mentions(
            channel, author, content, allowed, referenced, explicit=()
        )
        attachments = [self.store_file(f) for f in files]
        if message_type is None:
            message_type = REPLY if referenced is not None else DEFAULT
        payload: JSON = {
            "id": str(message_id),
            "type": message_type,
            "channel_id": str(channel.id),
            "author": payloads.user(author),
            "content": content,
            "timestamp": iso_timestamp(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": [str(r) for r in role_ids],
            "mention_channels": [],
            "attachments": attachments,
            "embeds": _normalise_embeds(body.get("embeds")),
            "reactions": [],
            "pinned": False,
            "flags": int(body.get("flags") or 0),
            "components": copy.deepcopy(body.get("components") or []),
            "sticker_items": [],
        }
        if body.get("nonce") is not None:
            payload["nonce"] = body["nonce"]
        if body.get("poll") is not None:
            payload["poll"] = copy.deepcopy(body["poll"])
        if webhook_id is not None:
            payload["webhook_id"] = str(webhook_id)
            payload["application_id"] = str(webhook_id)
        if referenced is not None:
            payload["message_reference"] = {
                "type": 0,
                "message_id": str(referenced.id),
                "channel_id": str(referenced.channel_id),
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
            }
            payload["referenced_message"] = copy.deepcopy(referenced.payload)
        if channel.is_thread:
            # Discord counts messages in a thread, leaving out a forum post's starter message.
            payload["position"] = channel.total_message_sent
            channel.total_message_sent += 1
            if message_id != channel.id:
                channel.message_count += 1
        if extra:
            payload.update(extra)
        message = FakeMessage(
            id=message_id,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author.id,
            payload=payload,
            source=source,
            sent=copy.deepcopy(body),
            files=list(files),
        )
        world.messages[message_id] = message
        channel.last_message_id = message_id
        return message

    def create_user_message(
        self,
        *,
        channel: FakeChannel,
        author: FakeUser,
        content: str,
        files: Sequence[FakeFile] = (),
        attachments: Sequence[JSON] = (),
        mentions: Sequence[int] = (),
        reply_to: FakeMessage | None = None,
        embeds: Sequence[JSON] = (),
    ) -> FakeMessage:
        """A message typed by a (test-controlled) user; every mention in it resolves."""
        body: JSON = {"content": content, "embeds": list(embeds)}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to.id)}
        message = self.create(
            channel=channel,
            author=author,
            body=body,
            files=files,
            source="user",
            honour_allowed_mentions=False,
        )
        message.payload["attachments"].extend(copy.deepcopy(list(attachments)))
        if mentions:
            users, _, _ = self._resolve_mentions(channel, author, "", None, None, explicit=mentions)
            known = {u["id"] for u in message.payload["mentions"]}
            message.payload["mentions"].extend(u for u in users if u["id"] not in known)
        message.sent = None
        return message

    # editing -------------------------------------------------------------------------------

    def edit(self, message: FakeMessage, body: JSON, files: Sequence[FakeFile] = ()) -> None:
        """Merge an edit body into ``message`` (fields absent from the body are kept)."""
        payload = message.payload
        message.edits.append(copy.deepcopy(body))
        for key in ("content", "flags"):
            if key in body and body[key] is not None:
                payload[key] = body[key]
        if "embeds" in body:
            payload["embeds"] = _normalise_embeds(body["embeds"])
        if "components" in body:
            payload["components"] = copy.deepcopy(body["components"] or [])
        if "attachments" in body:
            keep = {str(a.get("id")) for a in body["attachments"] or []}
            payload["attachments"] = [a for a in payload["attachments"] if a["id"] in keep]
        if files:
            payload["attachments"].extend(self.store_file(f) for f in files)
            message.files.extend(files)
        if "content" in body or "allowed_mentions" in body:
            channel = self.world.channels[message.channel_id]
            author = self.world.user(message.author_id)
            mentions, role_ids, everyone = self._resolve_mentions(
                channel,
                author,
                str(payload.get("content") or ""),
                message.allowed_mentions,
                None,
                explicit=(),
            )
            payload["mentions"] = mentions
            payload["mention_roles"] = [str(r) for r in role_ids]
            payload["mention_everyone"] = everyone
        payload["edited_timestamp"] = iso_timestamp()

    # gateway shape -------------------------------------------------------------------------

    def gateway_payload(self, message: FakeMessage) -> JSON:
        """MESSAGE_CREATE/UPDATE data: the message plus ``guild_id`` and the author's member."""
        data = copy.deepcopy(message.payload)
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            guild = self.world.guilds[message.guild_id]
            member = guild.members.get(message.author_id)
            if member is not None and "webhook_id" not in data:
                data["member"] = payloads.member(member, with_user=False)
        return data

    # helpers -------------------------------------------------------------------------------

    def _referenced(self, reference: Any, channel: FakeChannel) -> FakeMessage | None:
        if not isinstance(reference, dict) or reference.get("message_id") is None:
            return None
        target = self.world.messages.get(int(reference["message_id"]))
        if target is None or target.deleted:
            if reference.get("fail_if_not_exists", True):
                raise invalid_form("message_reference", "Unknown message")
            return None
        if target.channel_id != channel.id and reference.get("fail_if_not_exists", True):
            raise invalid_form("message_reference", "Cannot reply to a message in another channel")
        return target

    def _resolve_mentions(
        self,
        channel: FakeChannel,
        author: FakeUser,
        content: str,
        allowed: Any,
        referenced: FakeMessage | None,
        *,
        explicit: Sequence[int],
    ) -> tuple[list[JSON], list[int], bool]:
        """Which users/roles/@everyone actually get mentioned, as Discord would compute it.

        Without ``allowed_mentions`` everything in the content is parsed and a reply pings
        its author; with it, only what ``parse``/``users``/``roles``/``replied_user`` allow.
        """
        world = self.world
        guild = world.guild_of(channel)
        if isinstance(allowed, dict):
            parse = set(allowed.get("parse") or [])
            allowed_users = {int(u) for u in allowed.get("users") or []}
            allowed_roles = {int(r) for r in allowed.get("roles") or []}
            ping_reply = bool(allowed.get("replied_user", False))
        else:
            parse = {"users", "roles", "everyone"}
            allowed_users, allowed_roles, ping_reply = set(), set(), True

        user_ids: list[int] = []
        for uid in [*(int(x) for x in USER_MENTION.findall(content)), *explicit]:
            if ("users" in parse or uid in allowed_users) and uid not in user_ids:
                user_ids.append(uid)
        if referenced is not None and ping_reply and referenced.author_id not in user_ids:
            user_ids.append(referenced.author_id)

        role_ids: list[int] = []
        if guild is not None:
            for rid in (int(x) for x in ROLE_MENTION.findall(content)):
                if rid in guild.roles and ("roles" in parse or rid in allowed_roles):
                    role_ids.append(rid)

        everyone = (
            ("@everyone" in content or "@here" in content)
            and "everyone" in parse
            and bool(world.permissions_in(channel, author.id) & perms.MENTION_EVERYONE)
        )

        mentions: list[JSON] = []
        for uid in user_ids:
            found = world.users.get(uid)
            if found is None:
                continue
            entry = payloads.user(found)
            member = guild.members.get(uid) if guild is not None else None
            if member is not None:
                entry["member"] = payloads.member(member, with_user=False)
            mentions.append(entry)
        return mentions, role_ids, everyone


def _normalise_embeds(embeds: Any) -> list[JSON]:
    result: list[JSON] = []
    for embed in embeds or []:
        item = copy.deepcopy(embed)
        item.setdefault("type", "rich")
        result.append(item)
    return result


# validation ------------------------------------------------------------------------------------

IS_COMPONENTS_V2 = 1 << 15
EMBED_LIMITS = {"title": 256, "description": 4096}


def invalid_form(field: str, message: str) -> RestError:
    """Discord's 400 ``Invalid Form Body`` (code 50035) naming the offending field."""
    return RestError(
        400,
        "Invalid Form Body",
        50035,
        {field: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}},
    )


def validate_message_body(body: JSON, files: Sequence[FakeFile], *, creating: bool) -> None:
    """Reject bodies Discord rejects: the limits a bot quoting long text can actually hit."""
    content = body.get("content")
    if content is not None and len(str(content)) > 2000:
        raise invalid_form("content", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        raise invalid_form("embeds", "Must be 10 or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        total += _validate_embed(embed, f"embeds.{index}")
    if total > 6000:
        raise invalid_form("embeds", "Embed size exceeds maximum size of 6000")
    if not int(body.get("flags") or 0) & IS_COMPONENTS_V2:
        _validate_components(body.get("components") or [])
    allowed = body.get("allowed_mentions")
    if isinstance(allowed, dict):
        parse = set(allowed.get("parse") or [])
        for kind in ("users", "roles"):
            if kind in parse and allowed.get(kind):
                raise invalid_form(
                    f"allowed_mentions.{kind}",
                    f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                )
    if creating and not (
        str(content or "").strip()
        or embeds
        or files
        or body.get("attachments")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
    ):
        raise RestError(400, "Cannot send an empty message", 50006)


def _validate_embed(embed: JSON, where: str) -> int:
    size = 0
    for key, limit in EMBED_LIMITS.items():
        value = str(embed.get(key) or "")
        if len(value) > limit:
            raise invalid_form(f"{where}.{key}", f"Must be {limit} or fewer in length.")
        size += len(value)
    fields = embed.get("fields") or []
    if len(fields) > 25:
        raise invalid_form(f"{where}.fields", "Must be 25 or fewer in length.")
    for index, item in enumerate(fields):
        name, value = str(item.get("name") or ""), str(item.get("value") or "")
        if not 1 <= len(name) <= 256:
            raise invalid_form(f"{where}.fields.{index}.name", "Must be between 1 and 256.")
        if not 1 <= len(value) <= 1024:
            raise invalid_form(f"{where}.fields.{index}.value", "Must be between 1 and 1024.")
        size += len(name) + len(value)
    footer = str((embed.get("footer") or {}).get("text") or "")
    author = str((embed.get("author") or {}).get("name") or "")
    if len(footer) > 2048:
        raise invalid_form(f"{where}.footer.text", "Must be 2048 or fewer in length.")
    if len(author) > 256:
        raise invalid_form(f"{where}.author.name", "Must be 256 or fewer in length.")
    return size + len(footer) + len(author)


def _validate_components(rows: list[JSON]) -> None:
    if len(rows) > 5:
        raise invalid_form("components", "Must be 5 or fewer in length.")
    for r, row in enumerate(rows):
        if row.get("type") != 1:
            raise invalid_form(f"components.{r}.type", "Top-level components must be action rows")
        children = row.get("components") or []
        if not 1 <= len(children) <= 5:
            raise invalid_form(f"components.{r}.components", "Must be between 1 and 5 in length.")
        for c, child in enumerate(children):
            where = f"components.{r}.components.{c}"
            custom_id = child.get("custom_id")
            needs_id = child.get("type") == 2 and child.get("style") not in (5, 6)
            if needs_id and not custom_id:
                raise invalid_form(f"{where}.custom_id", "A custom id is required")
            if custom_id is not None and len(str(custom_id)) > 100:
                raise invalid_form(f"{where}.custom_id", "Must be 100 or fewer in length.")
            if len(str(child.get("label") or "")) > 80:
                raise invalid_form(f"{where}.label", "Must be 80 or fewer in length.")
            if len(child.get("options") or []) > 25:
                raise invalid_form(f"{where}.options", "Must be 25 or fewer in length.")
