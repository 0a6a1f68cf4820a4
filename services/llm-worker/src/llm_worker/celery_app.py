"""The llm-worker Celery application: the providers' queues, late acks, one prefetched job per slot.

Run it with a threads pool (`celery -A llm_worker.celery_app worker -P threads -c 200`):
generation is I/O-bound, so one process holds hundreds of concurrent answers. It takes the
queues `LLM_WORKER_QUEUES` names, by default every provider's (`kit.providers`), so each
provider's pool can be scaled on its own. Its metrics and
health are served over HTTP (`LLM_WORKER_METRICS_HOST/PORT`: `/metrics`, `/healthz`, `/readyz`).

On SIGTERM Celery shuts down warmly: it stops taking jobs, `/readyz` answers 503 ("draining"),
answers being generated run to the end and are acknowledged, and jobs prefetched but not started
go back to the queue unacknowledged (late acks), so another worker takes them.
"""

from __future__ import annotations

from kit.celery_worker import serve_health, worker_app
from kit.providers import exit_on_bad_providers_file
from llm_worker import clients, metrics
from llm_worker.config import settings

providers = exit_on_bad_providers_file("llm-worker", settings.providers)
queues = settings.queues(providers)
app = worker_app(
    "llm_worker",
    settings.broker_url,
    queues=queues,
    visibility_timeout=settings.task_visibility_timeout,
    include=("llm_worker.tasks",),
)
metrics.start_at_zero([p.name for p in providers.all if p.queue in queues])
draining = serve_health(
    "llm-worker",
    settings.log_level,
    broker_url=settings.broker_url,
    host=settings.metrics_host,
    port=settings.metrics_port,
    checks=clients.readiness_checks,
    on_ready=clients.warm_up,
)
