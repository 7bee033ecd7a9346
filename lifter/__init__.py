"""lifter: lift 2D landmarks of any category (body, hand, face, chair, ...) to 3D.

Sub-modules (nothing is loaded at import time):

- ``lifter.skeletons``  the category registry: landmark names, edges, mirror pairs, colours
- ``lifter.geometry``   projection, cameras and alignment (numpy)
- ``lifter.data``       dataset readers (BVH, KeypointNet, OBJ), the synthetic hand model, view sampling,
                        and the ``python -m lifter.data build|download`` command
- ``lifter.api``       ``load_lifter()`` and the lifter's readings (``lift``, ``lift_with_camera``)
- ``lifter.lift``      the ``python -m lifter.lift INPUT --category C --out OUT.npz`` command (files of landmarks)
- ``lifter.keypoint_formats``  body keypoints of COCO, OpenPose BODY_25 and MediaPipe Pose mapped to ``human17``
- ``lifter.symmetry``, ``lifter.shape_basis``  test-time refinements of a lift (mirror symmetry; a low-rank
                        shape model of the category, ``python -m lifter.shape_basis`` fits it)
- ``lifter.pinhole_fit``  a shape basis fitted to 2D through a pinhole: per view (pose, focal length,
                        proportions) and, by bundle adjustment over training views, the basis itself
"""

__version__ = "0.1.0"


def load_lifter(path=None, device=None, **options):
    """Load the bundled lifter (or the weights at ``path``); see :func:`lifter.api.load_lifter`."""
    from lifter.api import load_lifter as _load

    return _load(path, device, **options)
