"""Threads and forum posts: creating them, posting into them, archiving, membership.

Shared by the REST endpoints (the bot creates a thread) and the test-facing facade (a user
does), so both follow the same rules Discord documents: a thread started from a message has
that message's id, a forum post's starter message has the thread's id, names are 1-100
characters, ``THREAD_CREATE`` carries ``newly_created``, and posting into an archived thread
that is not locked unarchives it (``THREAD_UPDATE``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from tests.fakediscord import payloads
from tests.fakediscord import permissions as perms
from tests.fakediscord.gateway import GUILDS
from tests.fakediscord.ids import iso_timestamp
from tests.fakediscord.messages import MessageFactory, invalid_form
from tests.fakediscord.rest import RestError
from tests.fakediscord.state import (
    ANNOUNCEMENT_THREAD,
    FORUM_TYPES,
    GUILD_ANNOUNCEMENT,
    GUILD_TEXT,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    FakeChannel,
    FakeFile,
    FakeMessage,
    FakeUser,
    World,
)

JSON = dict[str, Any]
Dispatch = Callable[[str, JSON, int | None], None]

#: Message flag HAS_THREAD, set on a message a thread was started from.
HAS_THREAD = 1 << 5
#: The auto-archive durations Discord accepts (minutes).
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)


def wrong_channel_type() -> RestError:
    return RestError(400, "Cannot execute action on this channel type", 50024)


def validate_thread_name(name: Any) -> str:
    """Discord's rule for thread names (400 50035 naming ``name`` otherwise)."""
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise invalid_form("name", "Must be between 1 and 100 in length.")
    return name


def _archive_duration(value: Any) -> int:
    if value is None:
        return 1440
    if value not in ARCHIVE_DURATIONS:
        raise invalid_form("auto_archive_duration", "Value must be one of (60, 1440, 4320, 10080).")
    return int(value)


class ThreadService:
    """Creates threads in ``world`` and emits the events Discord emits for them."""

    def __init__(self, world: World, messages: MessageFactory, dispatch: Dispatch) -> None:
        self.world = world
        self.messages = messages
        self._dispatch = dispatch

    # creation ------------------------------------------------------------------------------

    def start_from_message(
        self,
        message: FakeMessage,
        *,
        name: Any,
        owner: FakeUser,
        auto_archive_duration: Any = None,
    ) -> FakeChannel:
        """A public thread on ``message`` (id = the message's id); the message gets ``thread``."""
        parent = self.world.channels[message.channel_id]
        if parent.type not in (GUILD_TEXT, GUILD_ANNOUNCEMENT):
            raise wrong_channel_type()
        if message.id in self.world.channels:
            raise RestError(400, "A thread has already been created for this message", 160004)
        thread = self._new_thread(
            parent,
            thread_id=message.id,
            name=validate_thread_name(name),
            kind=ANNOUNCEMENT_THREAD if parent.type == GUILD_ANNOUNCEMENT else PUBLIC_THREAD,
            owner=owner,
            auto_archive_duration=_archive_duration(auto_archive_duration),
        )
        thread.starter_message_id = message.id
        message.payload["thread"] = payloads.thread(thread, self.world)
        message.payload["flags"] = message.flags | HAS_THREAD
        self._announce(thread)
        return thread

    def start_without_message(
        self,
        parent: FakeChannel,
        *,
        name: Any,
        owner: FakeUser,
        kind: Any = PRIVATE_THREAD,
        auto_archive_duration: Any = None,
        invitable: bool = True,
    ) -> FakeChannel:
        """A thread with no starter message in a text channel (``kind`` 11 or 12)."""
        if parent.type not in (GUILD_TEXT, GUILD_ANNOUNCEMENT):
            raise wrong_channel_type()
        if kind not in (PUBLIC_THREAD, PRIVATE_THREAD, ANNOUNCEMENT_THREAD):
            raise invalid_form("type", "Value must be one of (10, 11, 12).")
        thread = self._new_thread(
            parent,
            thread_id=self.world.ids.next(),
            name=validate_thread_name(name),
            kind=int(kind),
            owner=owner,
            auto_archive_duration=_archive_duration(auto_archive_duration),
        )
        thread.invitable = bool(invitable)
        self._announce(thread)
        return thread

    def forum_post(
        self,
        forum: FakeChannel,
        *,
        name: Any,
        owner: FakeUser,
        message_body: JSON,
        files: Sequence[FakeFile] = (),
        source: str,
        auto_archive_duration: Any = None,
    ) -> tuple[FakeChannel, FakeMessage]:
        """A forum/media post: the thread, then its starter message (same id) inside it."""
        if forum.type not in FORUM_TYPES:
            raise wrong_channel_type()
        thread = self._new_thread(
            forum,
            thread_id=self.world.ids.next(),
            name=validate_thread_name(name),
            kind=PUBLIC_THREAD,
            owner=owner,
            auto_archive_duration=_archive_duration(auto_archive_duration),
        )
        message = self.messages.create(
            channel=thread,
            author=owner,
            body=message_body,
            files=files,
            source=source,
            message_id=thread.id,
            honour_allowed_mentions=source != "user",
        )
        thread.starter_message_id = message.id
        forum.last_message_id = thread.id
        self._announce(thread)
        return thread, message

    # posting, archiving, membership ---------------------------------------------------------

    def before_post(self, thread: FakeChannel, author_id: int) -> None:
        """Discord's rules for a new message in a thread: locked threads need Manage Threads,
        an archived unlocked thread is unarchived by the post (``THREAD_UPDATE``)."""
        if not thread.is_thread:
            return
        may_manage = bool(self.world.permissions_in(thread, author_id) & perms.MANAGE_THREADS)
        if thread.locked and not may_manage:
            if thread.archived:
                raise RestError(400, "Thread is archived", 50083)
            raise RestError(403, "Missing Permissions", 50013)
        if thread.archived:
            self.set_archived(thread, archived=False)

    def set_archived(self, thread: FakeChannel, *, archived: bool, locked: bool = False) -> None:
        thread.archived = archived
        thread.locked = locked
        thread.archive_timestamp = iso_timestamp()
        self._dispatch("THREAD_UPDATE", payloads.thread(thread, self.world), GUILDS)

    def join(self, thread: FakeChannel, user_id: int) -> None:
        """Add ``user_id`` to the thread; the bot joining gets THREAD_MEMBER_UPDATE."""
        if user_id in thread.member_ids:
            return
        thread.member_ids.append(user_id)
        if user_id == self.world.bot_user.id:
            self._dispatch(
                "THREAD_MEMBER_UPDATE",
                {
                    "id": str(thread.id),
                    "user_id": str(user_id),
                    "join_timestamp": iso_timestamp(),
                    "flags": 0,
                    "guild_id": str(thread.guild_id),
                },
                GUILDS,
            )

    def leave(self, thread: FakeChannel, user_id: int) -> None:
        if user_id in thread.member_ids:
            thread.member_ids.remove(user_id)

    def threads_in(self, parent: FakeChannel) -> list[FakeChannel]:
        return [c for c in self.world.channels.values() if c.is_thread and c.parent_id == parent.id]

    # internals -----------------------------------------------------------------------------

    def _new_thread(
        self,
        parent: FakeChannel,
        *,
        thread_id: int,
        name: str,
        kind: int,
        owner: FakeUser,
        auto_archive_duration: int,
    ) -> FakeChannel:
        guild = self.world.guild_of(parent)
        if guild is None:
            raise wrong_channel_type()
        now = iso_timestamp()
        thread = FakeChannel(
            id=thread_id,
            type=kind,
            name=name,
            guild_id=guild.id,
            parent_id=parent.id,
            owner_id=owner.id,
            auto_archive_duration=auto_archive_duration,
            create_timestamp=now,
            archive_timestamp=now,
            member_ids=[owner.id],
        )
        guild.channels[thread.id] = thread
        self.world.channels[thread.id] = thread
        return thread

    def _announce(self, thread: FakeChannel) -> None:
        """THREAD_CREATE, if the bot would get it: it can see the parent, and for a private
        thread it is a member or may manage threads."""
        bot_id = self.world.bot_user.id
        granted = self.world.permissions_in(thread, bot_id)
        if not granted & perms.VIEW_CHANNEL:
            return
        if (
            thread.type == PRIVATE_THREAD
            and bot_id not in thread.member_ids
            and not granted & perms.MANAGE_THREADS
        ):
            return
        data = {**copy.deepcopy(payloads.thread(thread, self.world)), "newly_created": True}
        self._dispatch("THREAD_CREATE", data, GUILDS)
