"""newsdesk's retrieval library: load, chunk, index and search articles. Never imports discord."""
