"""Telegram transport: the aiogram adapter, polling and webhook start-up, and the outbox sender."""
