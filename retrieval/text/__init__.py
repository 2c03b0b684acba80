"""Text: sentences, chunks and the analyzer shared by indexing and search."""
