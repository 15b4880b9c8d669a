"""Org export: every object the org describes as exportable, every file, a manifest and SHA256SUMS."""

from deprovision.export.estimate import Estimate, estimate
from deprovision.export.runner import ExportResult, run_export, summary_text
from deprovision.export.verify import ExportCheck, verify_export

__all__ = ["Estimate", "ExportCheck", "ExportResult", "estimate", "run_export", "summary_text", "verify_export"]
