"""kreg-keras-proba: keras-proba losses and calibration metrics in kreg (see plugin.py)."""
