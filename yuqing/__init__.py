"""Supervision of government public-opinion (政务舆情) response deadlines, 鲁政办发〔2018〕18号.

The shared domain: models, the unit directory, the deadline policy, configuration and logging.
The notice's rules live in ``workflows.rules``; the workflow in ``workflows.incident``.
"""
