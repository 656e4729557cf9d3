"""connect_ray: a Ray that does not start is one line naming why, and nothing of it is left running."""

import pytest

pytest.importorskip("ray")

import ray  # noqa: E402

from nas.errors import NasError, RayUnavailable  # noqa: E402
from nas.ray_cluster import connect_ray  # noqa: E402


def test_a_raylet_timing_out_is_one_line_and_shut_down(monkeypatch):
    calls = []

    def timed_out(**kwargs):
        raise Exception("The current node timed out during startup. This could happen because some of the "
                        "raylet failed to startup or the GCS has become overloaded.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", timed_out)
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append("shutdown"))
    with pytest.raises(RayUnavailable) as info:
        connect_ray(2)
    message = str(info.value)
    assert isinstance(info.value, NasError) and "\n" not in message
    assert message == ("a local Ray did not start (The current node timed out during startup); "
                       "retry when this machine is less loaded")
    assert calls == ["shutdown"]


def test_an_initialized_ray_is_reused(monkeypatch):
    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    monkeypatch.setattr(ray, "init", lambda **kwargs: pytest.fail("Ray was started twice"))
    assert connect_ray(2) is False
