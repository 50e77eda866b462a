"""The staff's side: open incidents, file reports, read their status (``yuqing`` command)."""
