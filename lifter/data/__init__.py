"""Landmark datasets: readers of the public sources, the synthetic hand model, random benchmark cameras,
and the ``python -m lifter.data build`` / ``download`` commands (see ``lifter.data.build`` for the file format).
"""
