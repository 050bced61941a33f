"""PostgreSQL storage, for several replicas on one database (issue 13): so far the schema
and its migration runner; the query modules still speak SQLite only."""
