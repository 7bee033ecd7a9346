"""lifter: lift 2D landmarks of any category (body, hand, face, chair, ...) to 3D.

Sub-modules (nothing is loaded at import time):

Categories, geometry and data
- ``lifter.skeletons``  the category registry: landmark names, edges, mirror pairs, colours
                        (``lifter.face468_tables``: the face mesh's generated tables)
- ``lifter.geometry``   projection, cameras and alignment
- ``lifter.data``       dataset readers (BVH, KeypointNet, OBJ), the synthetic hand model, view sampling,
                        and the ``python -m lifter.data build|download`` command
- ``lifter.keypoint_formats``  body keypoints of COCO, OpenPose BODY_25 and MediaPipe Pose mapped to ``human17``

The network and its training (2D supervision only)
- ``lifter.model``      the transformer (identity code re-injected at every layer) and ``LifterConfig``
- ``lifter.losses``, ``lifter.masking``, ``lifter.flow``  2D losses and critics, landmarks hidden on purpose,
                        a 2D pose density
- ``lifter.train``      the training loop; ``lifter.train_config`` the recipe (``TrainConfig``) and its checks;
                        ``lifter.train_cli`` the ``python -m lifter.train`` command; ``lifter.runs`` run folders
- ``lifter.finetune``   the 3D-aware (FiT3D-style) stage's losses on rendered views
- ``lifter.export``     a run's weights exported as ``.safetensors`` with their record
- ``lifter.devices``    the torch device, and the CPU's bfloat16 instructions

Using a trained lifter
- ``lifter.api``        ``load_lifter()`` and the lifter's readings (``lift``, ``lift_with_camera``)
- ``lifter.camera_reading``, ``lifter.mirroring``  the pinhole readings, mirror averaging's mirror images
- ``lifter.symmetry``, ``lifter.shape_basis``, ``lifter.bone_lengths``, ``lifter.hinges``  test-time refinements
                        (mirror symmetry; a low-rank face shape model; bone proportions and finger hinges),
                        their files read and fitted by ``lifter.fitted_priors`` and checked by
                        ``lifter.checked_files``
- ``lifter.pinhole_fit``  a shape basis fitted to 2D through a pinhole: per view (pose, focal length,
                        proportions) and, by bundle adjustment over training views, the basis itself
- ``lifter.lift``       the ``python -m lifter.lift INPUT --category C --out OUT.npz`` command (files of landmarks)

Measuring
- ``lifter.evaluate``   the benchmark (``python -m lifter.evaluate``); ``lifter.views`` its test views and the
                        check scripts' options; ``lifter.references`` its rows that need no training
- ``lifter.baselines``  the depth-based (VGGT-style) baseline
- ``lifter.bench``      speed and memory (``python -m lifter.bench``)
"""

__version__ = "0.1.0"


def load_lifter(path=None, device=None, **options):
    """Load the bundled lifter (or the weights at ``path``); see :func:`lifter.api.load_lifter`."""
    from lifter.api import load_lifter as _load

    return _load(path, device, **options)
