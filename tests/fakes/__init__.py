"""Fakes of the ports (:mod:`zenops.ports`): in-memory, with state the tests assert on.

Each fake keeps what it was told in plain attributes (the runs logged, the events
emitted, the watermark stored) so a service's unit test checks the outcome, not the
calls. A contract test runs the same checks on a fake and on its real adapter.
"""
