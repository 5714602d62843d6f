"""Storage adapter: SQLAlchemy 2 (typed) on SQLite (default, WAL) or PostgreSQL (psycopg 3)."""
