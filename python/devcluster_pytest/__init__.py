"""pytest fixtures for devcluster (see plugin.py) and the Cluster control API they hand out."""

from .cluster import Cluster, DevclusterError

__all__ = ["Cluster", "DevclusterError"]
