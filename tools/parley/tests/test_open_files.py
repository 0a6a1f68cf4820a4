"""`parley up` lifts the open-files limit its processes inherit."""

from __future__ import annotations

import resource
import subprocess
import sys

from parley.stack import raise_open_file_limit


def test_the_soft_limit_is_raised_towards_the_hard_limit() -> None:
    # in a child process: the test run's own limits stay as they are
    code = """
import resource
from parley.stack import raise_open_file_limit
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
print(raise_open_file_limit(4096), resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    returned, soft, hard = (int(v) for v in out.stdout.split())
    expected = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    assert soft == returned == expected


def test_a_higher_soft_limit_is_left_alone() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert raise_open_file_limit(min(soft, 64)) == soft
