"""The stages of the engine, one module each; `dialogs/router.py` registers them and routes events to them."""
