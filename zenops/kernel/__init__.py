"""The kernel every package stands on: configuration as validated data, the error tree,
the clock, workspace paths and the offline settings. It imports no other project package."""
