"""The sandbox: the coach on one machine with no Telegram token (docs/sandbox.md)."""
