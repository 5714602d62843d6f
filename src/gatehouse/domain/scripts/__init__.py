"""Scripts and questionnaires: the model, a safe expression language, lint, screening, runner.

Pure domain: parses YAML *text* (never files), evaluates expressions with a real parser
(lark), never ``eval``. The agent desktop, training mode, the dialler and the tests all drive
the one :class:`~gatehouse.domain.scripts.runner.Interview` state machine.
"""
