"""The org layer: connections (every auth method), the client with batching and retries."""

from deprovision.org.client import OrgClient
from deprovision.org.connection import open_client
from deprovision.org.results import BulkResult, RecordResult

__all__ = ["BulkResult", "OrgClient", "RecordResult", "open_client"]
