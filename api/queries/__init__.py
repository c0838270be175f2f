"""Reads of the marts, one module per resource; each returns a response model."""
