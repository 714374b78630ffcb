"""kreg-keras-rs: keras-rs ranking losses and metrics in the kreg registry (see plugin.py)."""
