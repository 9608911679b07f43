"""The top layer: the command line, the jobs (run, nightly, rescore) and snapshots."""
