"""Redis clients, built the same way by every process.

redis-py reads its own version from the package metadata (a file read) for every connection it
opens unless told it; the answer streams open connections often (a reader that goes away cuts its
blocking read, and that connection is dropped), so the version is read once here.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.driver_info import DriverInfo
from redis.utils import get_lib_version

_DRIVER = DriverInfo(lib_version=get_lib_version())  # type: ignore[no-untyped-call]


def async_redis(url: str, **options: Any) -> AsyncRedis:
    return AsyncRedis.from_url(url, driver_info=_DRIVER, **options)


def sync_redis(url: str, **options: Any) -> Redis:
    return Redis.from_url(url, driver_info=_DRIVER, **options)
