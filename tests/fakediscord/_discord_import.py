"""Import discord.py once with its known import-time DeprecationWarning silenced.

discord.py 2.7 imports the stdlib ``audioop`` (deprecated in 3.11, removed in 3.13) for voice
support; under the project's ``filterwarnings = error`` that import would fail. Only that one
message is ignored, only during the import; imported first by the package ``__init__``.
A project-wide ``ignore:'audioop' is deprecated:DeprecationWarning`` filter in pyproject.toml
would make this module unnecessary.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord

__all__ = ["discord"]
