"""Storage: SQLModel tables, the database connection and Alembic migrations."""
