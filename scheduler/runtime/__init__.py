"""Process wiring: the embedded runner, bootstrap, the scheduler ticker and logging."""
