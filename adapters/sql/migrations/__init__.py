"""Alembic migrations for adapters.sql; run them through adapters.sql.schema."""
