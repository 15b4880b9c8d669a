"""deprovision: take people out of a Salesforce org safely, completely and provably."""

__version__ = "0.1.0"
