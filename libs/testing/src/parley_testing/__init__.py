"""Stand-ins for what lies outside Parley, real servers on 127.0.0.1, shared by every test suite,
the benchmarks and `parley up` (which runs the Redis, the mail catcher and the demo model when
none is configured): an embedded Redis (`redis_server`), an OpenAI-compatible model server that
can inject faults (`model_server`), a mail catcher with a web page (`mailcatcher`), free ports
and readiness waits (`ports`), an ASGI app served in a thread (`servers`), throwaway PostgreSQL
databases (`databases`) and bounded polling (`waiting`)."""
