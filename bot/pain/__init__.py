"""Pain points from the weekly ML sync: logging, grouping into themes, demand, review and export."""
