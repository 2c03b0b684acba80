"""`newsdesk feeds`: subscribe to feeds and poll them from the command line (and cron).

The bot polls on its own schedule; these commands are for CLI-only users and scripts. Feeds
added here feed the shared collection (the bot's per-server collections have their own,
managed with /feed in Discord).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import click

from bot.cli.app import Context, Group, cli, pass_context
from bot.compose import OpenPolicy

if TYPE_CHECKING:
    from retrieval.feeds.poller import FeedPoller, PollReport
    from retrieval.feeds.store import Feed


def _poller(obj: Context) -> FeedPoller:
    from retrieval.errors import FeedError
    from retrieval.feeds.poller import FeedPoller, Target
    from retrieval.feeds.store import FILE_NAME, SHARED, FeedStore

    settings = obj.settings
    opened: list[Target] = []

    async def target(collection: str) -> Target:
        if collection != SHARED:
            raise FeedError("that feed belongs to a Discord server's collection: the bot polls it")
        if not opened:  # opening (or building) the index is slow: only when entries are new
            engine = await asyncio.to_thread(obj.engine, OpenPolicy.OPEN_OR_BUILD)
            opened.append(Target(engine, settings))
        return opened[0]

    return FeedPoller(FeedStore(settings.index_dir / FILE_NAME), settings, target)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _feed_json(feed: Feed) -> dict[str, Any]:
    def iso(value: float | None) -> str | None:
        return dt.datetime.fromtimestamp(value, dt.UTC).isoformat() if value is not None else None

    return {
        "id": feed.id,
        "title": feed.title,
        "url": feed.url,
        "kind": feed.kind,
        "state": feed.state,
        "entries": feed.entries,
        "last_poll": iso(feed.last_poll_at),
        "last_success": iso(feed.last_success_at),
        "next_poll": iso(feed.next_poll_at),
        "failures": feed.failures,
        "last_error": feed.last_error,
    }


def _report_json(report: PollReport) -> dict[str, Any]:
    return {
        "feed": report.feed.id,
        "title": report.feed.name,
        "added": [{"id": a.id, "title": a.title, "url": a.url} for a in report.added],
        "updated": [{"id": a.id, "title": a.title, "url": a.url} for a in report.updated],
        "failed": report.failed,
        "error": report.error,
        "problem": report.problem,
        "not_modified": report.not_modified,
        "waiting": report.waiting,
        "unsubscribed": report.unsubscribed,
        "disabled": report.disabled,
    }


@cli.group(cls=Group, short_help="Follow RSS, Atom and JSON feeds and news sitemaps.")
def feeds() -> None:
    """Follow RSS, Atom and JSON feeds and news sitemaps.

    \b
    Examples:
      newsdesk feeds add https://example.com/news/rss.xml
      newsdesk feeds add https://example.com/            # finds the feed the page names
      newsdesk feeds list --json
      newsdesk feeds poll                                  # every feed once (cron)
      newsdesk feeds poll --due                            # only the feeds whose time has come
      newsdesk feeds remove 3
    """


@feeds.command("add", short_help="Subscribe to a feed and read its entries.")
@click.argument("url")
@click.option("--no-poll", is_flag=True, help="Only subscribe; the next poll reads the entries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def feeds_add(obj: Context, url: str, no_poll: bool, as_json: bool) -> None:
    """Subscribe to a feed (or to the feed a web page names), then read its entries.

    \b
    Examples:
      newsdesk feeds add https://example.com/news/rss.xml
      newsdesk feeds add https://example.com/ --no-poll --json | jq .feed.id
    """
    poller = _poller(obj)

    async def run() -> tuple[Feed, PollReport | None]:
        feed = await poller.subscribe(url)
        return feed, (None if no_poll else await poller.poll(feed))

    feed, report = asyncio.run(run())
    if as_json:
        data = {"feed": _feed_json(feed), "poll": _report_json(report) if report else None}
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(f"Following {feed.name} (feed {feed.id}, {feed.kind}): {feed.url}")
    if report is not None:
        _echo_failures(report)
        click.echo(report.summary())


def _echo_failures(report: PollReport) -> None:
    for line in report.failed:
        click.echo(f"skipped {line}", err=True)


@feeds.command("list", short_help="The feeds followed, their last poll and error.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def feeds_list(obj: Context, as_json: bool) -> None:
    """The feeds followed, with their last poll and last error.

    \b
    Examples:
      newsdesk feeds list
      newsdesk feeds list --json | jq '.feeds[] | {id, last_error}'
    """
    from retrieval.feeds.store import FILE_NAME, FeedStore

    found = FeedStore(obj.settings.index_dir / FILE_NAME).feeds()
    if as_json:
        click.echo(json.dumps({"feeds": [_feed_json(f) for f in found]}, ensure_ascii=False))
        return
    if not found:
        click.echo("No feeds yet; add one with `newsdesk feeds add URL`.")
        return
    for feed in found:
        click.echo(f"{feed.id:>4}  {feed.name}  [{feed.state}]")
        click.echo(f"      {feed.url}")
        click.echo(
            f"      {feed.entries} entries, last poll {_when(feed.last_poll_at)},"
            f" next {_when(feed.next_poll_at) if not feed.disabled else 'never (disabled)'}"
        )
        if feed.last_error:
            click.echo(f"      last error: {feed.last_error}")
    click.echo(f"{len(found)} feed{'s' if len(found) != 1 else ''}.")


@feeds.command("remove", short_help="Stop following a feed (its articles stay).")
@click.argument("feed_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def feeds_remove(obj: Context, feed_id: int, as_json: bool) -> None:
    """Stop following a feed; its articles stay in the collection.

    \b
    Examples:
      newsdesk feeds remove 3
      newsdesk feeds list    # find the id first
    """
    from retrieval.feeds.store import FILE_NAME, FeedStore

    feed = FeedStore(obj.settings.index_dir / FILE_NAME).remove(feed_id)
    if as_json:
        click.echo(json.dumps({"feed": _feed_json(feed)}, ensure_ascii=False))
        return
    click.echo(f"No longer following {feed.name} (feed {feed.id}); its articles stay.")


@feeds.command("enable", short_help="Poll a feed disabled after failures again.")
@click.argument("feed_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def feeds_enable(obj: Context, feed_id: int, as_json: bool) -> None:
    """Poll a feed that was disabled after repeated failures again.

    \b
    Examples:
      newsdesk feeds enable 3
    """
    from retrieval.feeds.store import FILE_NAME, FeedStore

    feed = FeedStore(obj.settings.index_dir / FILE_NAME).set_enabled(feed_id, True)
    if as_json:
        click.echo(json.dumps({"feed": _feed_json(feed)}, ensure_ascii=False))
        return
    click.echo(f"Polling {feed.name} (feed {feed.id}) again.")


@feeds.command("poll", short_help="Poll feeds once, index what is new (cron).")
@click.argument("feed_id", type=int, required=False)
@click.option("--due", is_flag=True, help="Only feeds whose next poll time has come.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object for scripts.")
@pass_context
def feeds_poll(obj: Context, feed_id: int | None, due: bool, as_json: bool) -> None:
    """Poll every feed (or one) once, index what is new, then exit: for cron.

    \b
    Examples:
      newsdesk feeds poll
      newsdesk feeds poll 3
      newsdesk feeds poll --due --json    # from cron: only the feeds whose time has come
    """
    poller = _poller(obj)
    store = poller.store
    if feed_id is not None:
        chosen = [store.get(feed_id)]
    elif due:
        chosen = store.due()
    else:
        chosen = [f for f in store.feeds() if not f.disabled]

    async def run() -> list[PollReport]:
        return [await poller.poll(feed) for feed in chosen]

    reports = asyncio.run(run())
    if as_json:
        click.echo(json.dumps({"polls": [_report_json(r) for r in reports]}, ensure_ascii=False))
    else:
        for report in reports:
            _echo_failures(report)
            click.echo(report.summary())
        added = sum(len(r.added) for r in reports)
        failed = sum(1 for r in reports if r.error is not None)
        click.echo(
            f"Polled {len(reports)} feed{'s' if len(reports) != 1 else ''}: {added} new"
            f" article{'s' if added != 1 else ''}" + (f", {failed} failed." if failed else ".")
        )
    if reports and all(r.error is not None for r in reports):
        raise SystemExit(1)
