"""Search: from a question to cited, highlighted hits over one snapshot."""
