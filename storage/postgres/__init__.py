"""PostgreSQL storage, for several replicas on one database (issue 13): the schema and its
migration runner, and PgStore (store.py), which runs the query modules' functions through an
adapter offering the part of sqlite_utils they use (database.py, table.py)."""
