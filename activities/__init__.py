"""Activities: the side effects the incident workflow asks for (notification delivery)."""
