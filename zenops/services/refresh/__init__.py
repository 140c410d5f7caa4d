"""Refresh: re-hydrate what the champion was built from, retrain, compare, promote or hand back."""
