"""Tools to read what a trained network has learned."""

from skneuro.inspection.occlusion import occlusion_map

__all__ = ["occlusion_map"]
