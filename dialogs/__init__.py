"""The dialog engine: a pure state machine over the course content. No I/O, no clock reads."""
