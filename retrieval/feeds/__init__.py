"""Following sources by themselves: RSS, Atom, JSON Feed and news-sitemap subscriptions.

`parsing.py` reads a feed (feedparser; JSON Feed with the standard library; sitemaps with
lxml), `http.py` fetches it with conditional requests behind the fetcher's guards,
`schedule.py` decides when each feed is polled next, `store.py` keeps subscriptions and the
entries seen in SQLite, `entries.py` turns an entry into an article (its page, else its own
text) and `poller.py` runs one poll: new entries into the articles folder and the index.
"""
