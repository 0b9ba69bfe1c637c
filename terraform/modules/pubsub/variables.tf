variable "project_id" {
  type        = string
  description = "Google Cloud project that owns the topics and subscriptions."
}

variable "topics" {
  type        = list(string)
  description = "Topic names the platform publishes and consumes (experiments_platform.events.messages.Topics.ALL)."
}

variable "subscriptions" {
  type = map(object({
    topic                 = string
    push_endpoint         = string
    audience              = string
    ack_deadline_s        = number
    max_delivery_attempts = number
    min_backoff_s         = number
    max_backoff_s         = number
  }))
  description = "Push subscriptions by name (experiments_platform.events.topology.SUBSCRIPTIONS), each delivering to a Cloud Run URL; audience is that service's base URL (the OIDC token's aud)."
}

variable "push_service_account_email" {
  type        = string
  description = "Identity whose OIDC token authenticates every push request to Cloud Run."
}

variable "publishers" {
  type        = map(list(string))
  description = "Topic name to the IAM members allowed to publish on it."
  default     = {}
}

variable "message_retention" {
  type        = string
  description = "How long a subscription keeps unacknowledged messages (duration, e.g. 604800s)."
  default     = "604800s"
}
