"""The wiring at the top: the factory that builds a focusbot, and the web server that serves it."""
