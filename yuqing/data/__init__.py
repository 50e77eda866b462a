"""The files shipped with the project: the deadline policy (``policy.toml``) and the unit directory
(``units.csv``, written by ``python -m yuqing.data.build_directory``)."""
