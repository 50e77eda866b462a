"""The incident workflow (D1-D4) and the notice's rules it applies (``workflows.rules``)."""
