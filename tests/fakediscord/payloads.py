"""Builds Discord API v10 JSON objects from the fake's state.

Payloads carry the full set of keys real Discord sends (ids as strings, ISO timestamps, null
for absent optional values) because discord.py indexes some keys directly and tolerates missing
others differently per version; matching the real shape keeps the fake honest.
"""

from __future__ import annotations

from typing import Any

from tests.fakediscord.state import (
    DM,
    FORUM_TYPES,
    GROUP_DM,
    PRIVATE_THREAD,
    Application,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    World,
)

JSON = dict[str, Any]

#: Discord's free-tier upload limit, reported in interactions as ``attachment_size_limit``.
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def user(u: FakeUser) -> JSON:
    payload: JSON = {
        "id": str(u.id),
        "username": u.username,
        "global_name": u.global_name,
        "discriminator": "0",
        "avatar": u.avatar,
        "avatar_decoration_data": None,
        "banner": None,
        "accent_color": None,
        "public_flags": 0,
        "flags": 0,
        "collectibles": None,
        "primary_guild": None,
    }
    if u.bot:
        payload["bot"] = True
    return payload


def client_user(u: FakeUser) -> JSON:
    """``GET /users/@me`` and READY's ``user``: the user object plus private fields."""
    return {
        **user(u),
        "verified": True,
        "mfa_enabled": False,
        "email": None,
        "locale": "en-US",
        "premium_type": 0,
        "bio": "",
    }


def member(m: FakeMember, *, with_user: bool = True, permissions: int | None = None) -> JSON:
    payload: JSON = {
        "roles": [str(r) for r in m.role_ids],
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "joined_at": m.joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
        "unusual_dm_activity_until": None,
    }
    if with_user:
        payload["user"] = user(m.user)
    if permissions is not None:
        payload["permissions"] = str(permissions)
    return payload


def role(r: FakeRole) -> JSON:
    tags: JSON = {}
    if r.bot_id is not None:
        tags["bot_id"] = str(r.bot_id)
    return {
        "id": str(r.id),
        "name": r.name,
        "description": None,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
        "hoist": r.hoist,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.managed,
        "mentionable": r.mentionable,
        "flags": 0,
        "tags": tags,
    }


def channel(c: FakeChannel, world: World, *, include_guild_id: bool = True) -> JSON:
    if c.is_thread:
        return thread(c, world)
    if c.type == DM:
        return {
            "id": str(c.id),
            "type": DM,
            "last_message_id": str(c.last_message_id) if c.last_message_id else None,
            "flags": 0,
            "recipients": [user(world.user(uid)) for uid in c.recipient_ids],
        }
    if c.type == GROUP_DM:
        return {
            "id": str(c.id),
            "type": GROUP_DM,
            "name": c.name,
            "icon": None,
            "owner_id": str(c.owner_id) if c.owner_id else None,
            "last_message_id": str(c.last_message_id) if c.last_message_id else None,
            "flags": 0,
            "recipients": [user(world.user(uid)) for uid in c.recipient_ids],
        }
    payload: JSON = {
        "id": str(c.id),
        "type": c.type,
        "name": c.name,
        "position": c.position,
        "parent_id": str(c.parent_id) if c.parent_id else None,
        "topic": c.topic,
        "nsfw": c.nsfw,
        "last_message_id": str(c.last_message_id) if c.last_message_id else None,
        "rate_limit_per_user": 0,
        "permission_overwrites": [o.to_payload() for o in c.overwrites.values()],
        "flags": 0,
    }
    if c.type in FORUM_TYPES:
        payload.update(
            {
                "available_tags": [dict(tag) for tag in c.available_tags],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
                "default_thread_rate_limit_per_user": 0,
                "default_auto_archive_duration": 1440,
            }
        )
    if include_guild_id:
        payload["guild_id"] = str(c.guild_id)
    return payload


def thread(c: FakeChannel, world: World) -> JSON:
    """A thread channel (types 10-12) with its metadata, and the bot's thread member if it is
    one (Discord sends ``member`` only to members; discord.py turns it into ``Thread.me``)."""
    metadata: JSON = {
        "archived": c.archived,
        "auto_archive_duration": c.auto_archive_duration,
        "archive_timestamp": c.archive_timestamp or c.create_timestamp,
        "locked": c.locked,
        "create_timestamp": c.create_timestamp,
    }
    if c.type == PRIVATE_THREAD:
        metadata["invitable"] = c.invitable
    payload: JSON = {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "parent_id": str(c.parent_id),
        "owner_id": str(c.owner_id),
        "name": c.name,
        "last_message_id": str(c.last_message_id) if c.last_message_id else None,
        "rate_limit_per_user": 0,
        "message_count": c.message_count,
        "member_count": len(c.member_ids),
        "total_message_sent": c.total_message_sent,
        "thread_metadata": metadata,
        "flags": 0,
        "applied_tags": [],
    }
    bot_id = world.bot_user.id
    if bot_id in c.member_ids:
        payload["member"] = {
            "id": str(c.id),
            "user_id": str(bot_id),
            "join_timestamp": c.create_timestamp,
            "flags": 0,
        }
    return payload


def guild_create(g: FakeGuild, world: World, *, include_all_members: bool) -> JSON:
    """GUILD_CREATE: the full guild. Like Discord, members beyond the bot's own are only sent
    when asked for (``include_all_members``); otherwise clients chunk them over the gateway."""
    bot_id = world.bot_user.id
    members = [member(m) for m in g.members.values() if include_all_members or m.user.id == bot_id]
    bot_member = g.members.get(bot_id)
    text = g.text_channels
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "icon_hash": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(g.owner_id),
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "widget_enabled": False,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": g.preferred_locale,
        "system_channel_id": str(text[0].id) if text else None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "application_id": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "features": [],
        "roles": [role(r) for r in g.roles.values()],
        "emojis": [],
        "stickers": [],
        "channels": [
            channel(c, world, include_guild_id=False)
            for c in g.channels.values()
            if not c.is_thread
        ],
        "threads": [thread(c, world) for c in g.threads if not c.archived],
        "members": members,
        "member_count": len(g.members),
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
        "activity_instances": [],
        "large": len(g.members) > 250,
        "lazy": True,
        "unavailable": False,
        "joined_at": bot_member.joined_at if bot_member else g.joined_at,
        "incidents_data": None,
        "hub_type": None,
        "nsfw": False,
        "latest_onboarding_question_id": None,
        "home_header": None,
        "version": 0,
    }


def application(app: Application, bot: FakeUser) -> JSON:
    """``GET /oauth2/applications/@me``: what ``Client.application_info`` parses."""
    return {
        "id": str(app.id),
        "name": app.name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "hook": True,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": app.flags,
        "owner": user(app.owner),
        "team": None,
        "bot": user(bot),
        "guild_id": None,
        "primary_sku_id": None,
        "slug": None,
        "cover_image": None,
        "rpc_origins": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "terms_of_service_url": None,
        "privacy_policy_url": None,
        "custom_install_url": None,
        "tags": [],
        "install_params": None,
        "integration_types_config": {str(t): {} for t in sorted(app.integration_types)},
        "approximate_guild_count": 0,
        "approximate_user_install_count": 0,
        "event_webhooks_status": 1,
    }


def error(message: str, code: int = 0, errors: JSON | None = None) -> JSON:
    """Discord's JSON error body (``{"message": ..., "code": ...}``)."""
    payload: JSON = {"message": message, "code": code}
    if errors is not None:
        payload["errors"] = errors
    return payload
