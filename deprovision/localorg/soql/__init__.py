"""The local org's SOQL engine: SOQL text to SQLite SQL, rows to REST-shaped records."""
