"""Depth-based lifting ("VGGT-style"): read a depth map at each 2D landmark and back-project it.

The baseline the lifter is compared with: a depth-from-RGB model predicts a depth map, the depth is read at each
landmark pixel and back-projected with the camera intrinsics. Depth maps see the visible surface, not the joint
inside the limb, and an occluded landmark takes the depth of whatever covers it.

- ``backproject``  2D landmarks + depth map + intrinsics -> camera-frame 3D (:func:`backproject_landmarks`)
- ``render``       the oracle depth source: capsules around the skeleton (``human17``, ``hand21``), the canonical
                   face mesh (``face468``); chairs have no surface (:func:`render_depth`)
- ``noise``        the error model of monocular depth networks (:func:`add_depth_noise`)
- ``lift``         oracle/noisy depth at the ground truth, then back-projection (:func:`depth_lift`)
- ``networks``     Depth Anything V2 (``transformers``) and VGGT (its package) when installed, with their exact
                   pixel mapping (:func:`estimate_depth`; optional: ``pip install -r requirements-depth.txt``)
- ``benchmark``    the depth rows of ``python -m lifter.evaluate`` and the error-vs-noise plot
- ``timing``       ``python -m lifter.baselines.timing``: render and noise time per sample

Nothing heavy is imported here: ``torch``/``transformers`` load only when a network is used.
"""

from lifter.baselines.backproject import BackProjection, backproject_landmarks
from lifter.baselines.lift import depth_lift
from lifter.baselines.networks import (DepthEstimate, DepthUnavailable, available_depth_networks,
                                       estimate_depth)
from lifter.baselines.noise import DepthNoiseConfig, add_depth_noise
from lifter.baselines.render import SURFACE_CATEGORIES, render_depth

__all__ = [
    "BackProjection", "backproject_landmarks", "render_depth", "SURFACE_CATEGORIES", "add_depth_noise",
    "DepthNoiseConfig", "depth_lift", "DepthUnavailable", "DepthEstimate", "estimate_depth",
    "available_depth_networks",
]
