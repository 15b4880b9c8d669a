"""Playbooks: YAML -> typed model; every error carries file:line:column."""

from deprovision.playbook.loader import PlaybookInvalid, load_playbook
from deprovision.playbook.model import Playbook, playbook_json_schema

__all__ = ["Playbook", "PlaybookInvalid", "load_playbook", "playbook_json_schema"]
