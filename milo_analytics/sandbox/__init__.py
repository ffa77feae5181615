"""The local HeyMilo-compatible sandbox: a seeded synthetic world served over real HTTP.

Examples
--------
>>> from milo_analytics.sandbox import run_sandbox, WorldConfig
>>> with run_sandbox(WorldConfig(seed=1, n_candidates=20, n_second=0)) as sb:
...     sb.base_url.endswith("/api/v2")
True
"""

from .server import ProcessSandbox, Sandbox, run_sandbox
from .world import World, WorldConfig, generate_world, load_demo_world, overall_score

__all__ = [
    "ProcessSandbox",
    "Sandbox",
    "World",
    "WorldConfig",
    "generate_world",
    "load_demo_world",
    "overall_score",
    "run_sandbox",
]
