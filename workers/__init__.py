"""Celery app and thin tasks that call scheduler services."""
