"""CLI verbs, one module per family; see memcore.cli."""
