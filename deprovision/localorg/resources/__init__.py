"""REST resources of the local org, one module per resource family."""
