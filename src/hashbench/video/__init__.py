"""Video as a kind of input: decode (PyAV), video hashers (vpdq, pdq-keyframe, video-md5), match
rules, seeded synthetic videos, video edits and a video-level study (the video is the sampling unit).

PyAV is an optional dependency (extra ``video``); importing this package does not import it, and
anything that decodes or encodes says "install extra video" in one line when it is missing.
See docs/video.md.
"""

from __future__ import annotations

from . import command as _command  # noqa: E402, F401  (registers the video "command" hasher)
from . import tmk as _tmk  # noqa: F401  (registers the "tmk" video hasher)
from .hashers import VIDEO_HASHERS, VideoHash, VideoHasher, available, get, register

__all__ = ["VIDEO_HASHERS", "VideoHash", "VideoHasher", "available", "get", "register"]
