"""Peer implementations run side by side by ``lowdim bench`` (each also runs as a script)."""
