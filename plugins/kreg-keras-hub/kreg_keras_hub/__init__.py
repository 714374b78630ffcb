"""kreg-keras-hub: keras-hub metrics in the kreg registry (see plugin.py)."""
