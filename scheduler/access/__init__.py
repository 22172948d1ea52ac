"""Access: users, API keys and the encryption of credentials at rest."""
