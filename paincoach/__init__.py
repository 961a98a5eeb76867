"""paincoach: the application shell that wires content, engine, storage, scheduler and Telegram."""
