"""The round's steps as services: each takes a :class:`Context`, the CLI renders results."""
