"""The national portal replica: scenario files, served data, HTTP server, ground truth.

See docs/SCENARIOS.md. Entry points: ``replica.server.ReplicaServer``,
``replica.scenario.load_scenario``, ``replica.truth.expected_verdicts``, ``python -m replica``.
"""
