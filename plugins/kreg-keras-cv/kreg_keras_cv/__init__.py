"""kreg-keras-cv: keras-cv losses in the kreg registry (see plugin.py)."""
