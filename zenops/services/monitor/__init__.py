"""The monitoring cycle: intake of new batch and label files, measurement, verdict, records."""
