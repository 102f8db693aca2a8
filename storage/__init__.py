"""Tables, engine, sessions and queries."""
