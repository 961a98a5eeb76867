"""The coach's application services: each event, tap or sweep handled in one transaction that
stores its effects and queues its messages (patients, the guides' desk, alerts, broadcasts)."""
