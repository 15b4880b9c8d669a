"""The local org: an embedded Salesforce REST API on 127.0.0.1, backed by SQLite."""
