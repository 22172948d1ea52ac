"""Editorial: the editors' post actions, read models, lifecycle rules, approvals and rendering."""
