"""One playbook, many orgs: ``plan``/``apply --org A --org B`` (or a ``[groups.NAME]`` of deprovision.toml).

``targets.expand_orgs`` turns the ``--org`` values into org names; ``mapping`` reads the playbook for one
org (usernames with that org's suffix, a user missing from a later org a note, not an error);
``drive.across_orgs`` runs the ordinary single-org command once per org, each org its own run, and sums up.
"""
