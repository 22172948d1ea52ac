"""Intake: articles from the CMS webhook, feeds, the API and the CLI become posts."""
