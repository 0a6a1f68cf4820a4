WEBHOOK_QUEUE = "webhooks"
