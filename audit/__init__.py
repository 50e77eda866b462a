"""Auditing from exported workflow histories alone (D5): export, replay, the deadline ledger (时限台账).

- ``histories`` reads and names history files (ours and ``temporal workflow show --output json``)
  and the export manifest.
- ``export``    writes the histories of incidents, every run of a continue-as-new chain, and the manifest.
- ``replay``    replays them against the current workflow code with the production data converter,
  on all cores, and checks every recorded decision against the actions in the same history.
- ``ledger``    the deadline ledger derived from the replayed histories: table, CSV, JSON.
- ``cli``       the ``yuqing audit`` commands.

Nothing here trusts the live system: replay and ledger read files only.
"""
