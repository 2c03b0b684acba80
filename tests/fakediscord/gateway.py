"""Gateway v10 over a websocket: HELLO, IDENTIFY/READY, heartbeats, RESUME with replay, chunks.

Each IDENTIFY opens a session with an append-only event log; every DISPATCH gets the next
sequence number in that log and a per-connection sender task streams the log to the socket.
That makes RESUME exact: a resumed connection starts streaming after the client's last ``seq``,
so events dispatched while the bot was disconnected are replayed in order, followed by RESUMED,
just as Discord does. Heartbeats are recorded with monotonic timestamps so tests can detect a
blocked event loop (gaps far above the interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakediscord import payloads
from tests.fakediscord.ids import random_token
from tests.fakediscord.state import World

_log = logging.getLogger(__name__)

JSON = dict[str, Any]

# Opcodes
DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

# Intents the fake filters on.
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


@dataclass
class HeartbeatRecord:
    """A heartbeat the client sent: when (``time.monotonic()``), its ``d`` (last seq), session."""

    at: float
    sequence: int | None
    session_id: str | None


@dataclass
class ConnectionRecord:
    """One websocket connection: how it was opened and what it did."""

    path: str
    query: dict[str, str]
    opened_at: float
    kind: str | None = None  # "identify" or "resume" once the client says which
    closed_at: float | None = None
    close_code: int | None = None


@dataclass
class LoggedEvent:
    seq: int
    name: str
    data: JSON

    def frame(self) -> JSON:
        return {"op": DISPATCH, "s": self.seq, "t": self.name, "d": self.data}


@dataclass
class GatewaySession:
    """A gateway session: identity, intents and the full event log used for replay."""

    id: str
    intents: int
    identify: JSON
    events: list[LoggedEvent] = field(default_factory=list)
    connection: GatewayConnection | None = None
    invalidated: bool = False
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def seq(self) -> int:
        return len(self.events)

    def append(self, name: str, data: JSON) -> int:
        event = LoggedEvent(seq=len(self.events) + 1, name=name, data=data)
        self.events.append(event)
        self.wakeup.set()
        return event.seq


class GatewayConnection:
    """One websocket plus its transport compression and the task streaming session events."""

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, record: ConnectionRecord
    ) -> None:
        self.ws = ws
        self.request = request
        self.record = record
        self.session: GatewaySession | None = None
        self.cursor = 0
        self.sender: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._compress = _stream_compressor(request.query.get("compress"))

    async def send(self, payload: JSON) -> None:
        """Send one gateway payload, compressed when the client asked for a stream."""
        text = json.dumps(payload)
        async with self._lock:
            if self._compress is not None:
                await self.ws.send_bytes(self._compress(text.encode()))
            else:
                await self.ws.send_str(text)


def _stream_compressor(kind: str | None) -> Callable[[bytes], bytes] | None:
    """Like Discord: one compression context per connection, flushed after every message.
    discord.py asks for zstd-stream when a zstd module is importable (the bench extra pulls
    in `zstandard`), else zlib-stream, so the fake speaks both."""
    if kind == "zlib-stream":
        deflate = zlib.compressobj()
        # zlib-stream: each message ends in a Z_SYNC_FLUSH (00 00 ff ff).
        return lambda data: deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream":
        import zstandard

        zstd = zstandard.ZstdCompressor().compressobj()
        return lambda data: zstd.compress(data) + zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    return None


class Gateway:
    """The fake gateway endpoint (mounted at ``/`` and at the resume URL)."""

    def __init__(
        self,
        world: World,
        *,
        token: str,
        heartbeat_interval_ms: int,
        allowed_privileged_intents: int,
        full_member_list: bool,
        resume_url: Callable[[], str],
        notify: Callable[[], None],
    ) -> None:
        self._world = world
        self._token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.allowed_privileged_intents = allowed_privileged_intents
        self.full_member_list = full_member_list
        self._resume_url = resume_url
        self._notify = notify
        #: Set False to stop acknowledging heartbeats (simulates a zombied connection).
        self.ack_heartbeats = True
        self.sessions: dict[str, GatewaySession] = {}
        self.current: GatewaySession | None = None
        #: Sharded bots: the live session of each shard id, and their shard count (Discord
        #: sends a guild's events to shard (guild_id >> 22) % count, DMs to shard 0).
        self.shards: dict[int, GatewaySession] = {}
        self.shard_count = 1
        self.connections: list[ConnectionRecord] = []
        self.heartbeats: list[HeartbeatRecord] = []
        self.identify_payloads: list[JSON] = []
        self.presence_updates: list[JSON] = []
        self.member_requests: list[JSON] = []
        self.internal_errors: list[str] = []
        self._live: set[GatewayConnection] = set()

    # public ---------------------------------------------------------------------------------

    @property
    def resume_count(self) -> int:
        return sum(1 for c in self.connections if c.kind == "resume")

    @property
    def identify_count(self) -> int:
        return sum(1 for c in self.connections if c.kind == "identify")

    @property
    def connected(self) -> bool:
        session = self.current
        return session is not None and session.connection is not None

    def dispatch(self, name: str, data: JSON, *, intent: int | None = None) -> int | None:
        """Append an event to the current session (a sharded bot's: the session of the
        event's guild's shard); None if no session or the intent is off."""
        session = self.current if not self.shards else self.shards.get(self._shard_of(name, data))
        if session is None or session.invalidated:
            return None
        if intent is not None and not session.intents & intent:
            return None
        seq = session.append(name, data)
        self._notify()
        return seq

    async def drop_connection(self, code: int | None = None) -> None:
        """Cut the live connection: abort TCP when ``code`` is None, else close with ``code``.

        The session survives, so events dispatched until the client resumes are replayed.
        """
        connection = self._live_connection()
        self._detach(connection)
        if code is None:
            transport = connection.request.transport
            if transport is not None:
                transport.abort()
        else:
            await connection.ws.close(code=code, message=b"fake gateway closed the connection")

    async def send_op(self, op: int, data: Any = None) -> None:
        """Send a raw opcode (e.g. RECONNECT) on the live connection."""
        await self._live_connection().send({"op": op, "d": data, "s": None, "t": None})

    async def invalidate_session(self, *, resumable: bool) -> None:
        """Send INVALID_SESSION; a non-resumable one forgets the session (client re-identifies)."""
        connection = self._live_connection()
        if not resumable and connection.session is not None:
            connection.session.invalidated = True
        await connection.send({"op": INVALID_SESSION, "d": resumable, "s": None, "t": None})

    async def close_all(self) -> None:
        for connection in list(self._live):
            self._detach(connection)
            await _stopped(connection.sender)
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001, message=b"fake Discord shutting down")

    # websocket handler -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=0)
        await ws.prepare(request)
        record = ConnectionRecord(
            path=request.path, query=dict(request.query), opened_at=time.monotonic()
        )
        self.connections.append(record)
        connection = GatewayConnection(ws, request, record)
        self._live.add(connection)
        try:
            await connection.send(
                {
                    "op": HELLO,
                    "d": {
                        "heartbeat_interval": self.heartbeat_interval_ms,
                        "_trace": ['["fake-gateway",{"micros":0}]'],
                    },
                    "s": None,
                    "t": None,
                }
            )
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._on_payload(connection, json.loads(message.data))
                elif message.type is WSMsgType.BINARY:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                elif message.type is WSMsgType.ERROR:
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        except Exception as exc:  # noqa: BLE001 - any crash of the fake is recorded and fails the test
            _log.exception("fake gateway handler crashed")
            self.internal_errors.append(repr(exc))
        finally:
            self._detach(connection)
            await _stopped(connection.sender)
            record.closed_at = time.monotonic()
            record.close_code = ws.close_code
            self._notify()
        return ws

    async def _on_payload(self, connection: GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data: Any = payload.get("d")
        if op == HEARTBEAT:
            session = connection.session
            self.heartbeats.append(
                HeartbeatRecord(time.monotonic(), data, session.id if session else None)
            )
            self._notify()
            if self.ack_heartbeats:
                await connection.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(connection, data)
        elif op == RESUME:
            await self._resume(connection, data)
        elif connection.session is None:
            await connection.ws.close(code=4003, message=b"Not authenticated.")
        elif op == REQUEST_GUILD_MEMBERS:
            self._request_members(data)
        elif op == PRESENCE_UPDATE:
            self.presence_updates.append(data)
            self._notify()
        elif op == VOICE_STATE_UPDATE:
            pass
        else:
            await connection.ws.close(code=4001, message=b"Unknown opcode.")

    def _shard_of(self, name: str, data: JSON) -> int:
        guild = data.get("guild_id")
        if guild is None and name in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
            guild = data.get("id")
        return (int(guild) >> 22) % self.shard_count if guild else 0

    def _owns(self, shard: list[int] | None, guild_id: int) -> bool:
        return shard is None or (guild_id >> 22) % shard[1] == shard[0]

    async def _identify(self, connection: GatewayConnection, data: JSON) -> None:
        if connection.session is not None:
            await connection.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != self._token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await connection.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and shard[1] <= 1:
            shard = None  # [0, 1] is no sharding
        if shard is not None:
            number, count = shard
            if not 0 <= number < count or (self.shards and count != self.shard_count):
                await connection.ws.close(code=4010, message=b"Invalid shard.")
                return
        self.identify_payloads.append(data)
        connection.record.kind = "identify"
        previous = self.shards.get(shard[0]) if shard is not None else self.current
        if previous is not None:
            previous.invalidated = True
        session = GatewaySession(id=random_token(16), intents=intents, identify=data)
        self.sessions[session.id] = session
        self.current = session
        if shard is not None:
            self.shards[shard[0]], self.shard_count = session, shard[1]
        self._attach(connection, session, cursor=0)
        world = self._world
        ready: JSON = {
            "v": 10,
            "user": payloads.client_user(world.bot_user),
            "guilds": [
                {"id": str(g), "unavailable": True} for g in world.guilds if self._owns(shard, g)
            ],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._resume_url(),
            "application": {"id": str(world.application.id), "flags": world.application.flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "user_settings": {},
            "auth": {},
            "_trace": ['["fake-gateway",{"micros":0}]'],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        session.append("READY", ready)
        for guild in world.guilds.values():
            if not self._owns(shard, guild.id):
                continue
            session.append(
                "GUILD_CREATE",
                payloads.guild_create(guild, world, include_all_members=self.full_member_list),
            )
        self._notify()

    async def _resume(self, connection: GatewayConnection, data: JSON) -> None:
        if data.get("token") != self._token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if (
            session is None
            or session.invalidated
            or not isinstance(seq, int)
            or not 0 <= seq <= session.seq
        ):
            connection.record.kind = "resume-rejected"
            await connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        if session.connection is not None and session.connection is not connection:
            old = session.connection
            self._detach(old)
            with contextlib.suppress(Exception):
                await old.ws.close(code=4000, message=b"Session resumed elsewhere.")
        connection.record.kind = "resume"
        self._attach(connection, session, cursor=seq)
        session.append("RESUMED", {"_trace": ['["fake-gateway",{"micros":0}]']})
        self._notify()

    def _request_members(self, data: JSON) -> None:
        self.member_requests.append(data)
        guild = self._world.guilds.get(int(data["guild_id"]))
        if guild is None:
            return
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        user_ids = {int(u) for u in data.get("user_ids") or []}
        members = [
            m
            for m in guild.members.values()
            if (not user_ids or m.user.id in user_ids)
            and (not query or m.user.username.lower().startswith(query))
        ]
        if limit:
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [payloads.member(m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if user_ids:
            found = {m.user.id for m in members}
            chunk["not_found"] = [str(u) for u in user_ids - found]
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    # plumbing -------------------------------------------------------------------------------

    def _live_connection(self) -> GatewayConnection:
        session = self.current
        if session is None or session.connection is None:
            raise RuntimeError("no bot is connected to the fake gateway")
        return session.connection

    def _attach(self, connection: GatewayConnection, session: GatewaySession, cursor: int) -> None:
        connection.session = session
        connection.cursor = cursor
        session.connection = connection
        connection.sender = asyncio.create_task(
            self._stream(connection, session), name="fake-gateway-sender"
        )

    def _detach(self, connection: GatewayConnection) -> None:
        self._live.discard(connection)
        session = connection.session
        if session is not None and session.connection is connection:
            session.connection = None
        if connection.sender is not None and connection.sender is not asyncio.current_task():
            connection.sender.cancel()

    async def _stream(self, connection: GatewayConnection, session: GatewaySession) -> None:
        """Send the session's events from ``connection.cursor`` on, then wait for more."""
        try:
            while session.connection is connection and not connection.ws.closed:
                session.wakeup.clear()
                while connection.cursor < len(session.events):
                    await connection.send(session.events[connection.cursor].frame())
                    connection.cursor += 1
                    self._notify()
                await session.wakeup.wait()
        except (ConnectionResetError, RuntimeError) as exc:
            _log.debug("fake gateway sender stopped: %r", exc)


async def _stopped(task: asyncio.Task[None] | None) -> None:
    """Wait for a cancelled sender task to finish so none is left pending at loop shutdown."""
    if task is None or task is asyncio.current_task():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
