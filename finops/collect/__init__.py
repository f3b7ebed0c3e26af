"""Collectors: one module per source, each turning that source into store rows."""
