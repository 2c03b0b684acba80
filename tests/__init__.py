"""The test suite as one package: every test module is `tests.<folder>.<module>`, so pytest's
default (prepend) import mode puts the repository root on sys.path, never tests/ itself, and
`tests/retrieval` or `tests/bot` can never stand in for the library packages."""
