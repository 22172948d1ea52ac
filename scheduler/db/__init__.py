"""The database: engine and sessions, migrations, keyset cursors."""
